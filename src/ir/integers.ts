import type { Graph } from "./graph.js";
import { opInfo } from "./ops.js";

/** Ops that read an operand as integer indices: op -> (the operand, the exclusive bound of its values). */
const indexing: Readonly<Record<string, (shapes: { readonly args: readonly (readonly number[])[]; readonly out: readonly number[]; readonly axis?: number }) => [number, number]>> = {
  gather: ({ args, axis }) => [1, args[0][axis!]],
  scatter_add: ({ out, axis }) => [1, out[axis!]],
  one_hot: ({ out }) => [0, out[out.length - 1]],
};

/**
 * Each integer input's valid values, 0 <= v < bound: the smallest axis it indexes (through
 * views such as slices and reshapes). An integer input that indexes nothing has no bound.
 */
export function integerBounds(g: Graph): Map<string, number> {
  const leafOf = new Map(g.inputs.map((l) => [l.node, l.name]));
  const out = new Map<string, number>();
  for (const n of g.nodes) {
    const rule = indexing[n.op];
    if (!rule) continue;
    const [operand, bound] = rule({ args: n.args.map((a) => g.nodes[a].shape), out: n.shape, ...(n.attrs?.axis !== undefined ? { axis: n.attrs.axis } : {}) });
    let src = n.args[operand];
    while (opInfo(g.nodes[src].op).kind === "view") src = g.nodes[src].args[0];
    const name = leafOf.get(src);
    if (name !== undefined) out.set(name, Math.min(out.get(name) ?? Infinity, bound));
  }
  return out;
}
