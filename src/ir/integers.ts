import type { Graph } from "./graph.js";
import { opInfo } from "../ops/index.js";

/**
 * Each integer input's valid values, 0 <= v < bound: the smallest axis it indexes (through
 * views such as slices and reshapes), from the op table's `indices`. An integer input that
 * indexes nothing has no bound.
 */
export function integerBounds(g: Graph): Map<string, number> {
  const leafOf = new Map(g.inputs.map((l) => [l.node, l.name]));
  const out = new Map<string, number>();
  for (const n of g.nodes) {
    const indices = opInfo(n.op).indices;
    if (!indices) continue;
    const [operand, bound] = indices(
      n.args.map((a) => g.nodes[a].shape),
      n.shape,
      n.attrs,
    );
    let src = n.args[operand];
    while (opInfo(g.nodes[src].op).kind === "view") src = g.nodes[src].args[0];
    const name = leafOf.get(src);
    if (name !== undefined) out.set(name, Math.min(out.get(name) ?? Infinity, bound));
  }
  return out;
}
