import type { Graph } from "../../ir/graph.js";
import { showShape } from "../../shape/shape.js";
import { plan, type Mode } from "./function.js";

/** How each loop nest of a function was formed, for `gradc compile --explain-fusion`. */
export function describeFusion(g: Graph, mode: Mode, names: (id: number) => string): string[] {
  const { placement, order } = plan(g, mode);
  const lines: string[] = [];
  const inlined = (id: number): string[] => g.nodes[id].args.flatMap((a) => (placement.get(a) === "inline" ? [...inlined(a), g.nodes[a].op] : []));
  for (const id of order) {
    const n = g.nodes[id];
    const p = placement.get(id);
    if (p !== "buffer") continue;
    const what = `${names(id)} ${showShape(n.shape)}`;
    if (n.op === "matmul") {
      const [a, b] = n.args.map((x) => g.nodes[x].op === "transpose");
      const form = b && !a ? "A Bᵀ: row dot products, 2×2 register tile" : a && !b ? "Aᵀ B: row outer products, 4 rows at a time" : "A B: i-t-j";
      lines.push(`  ${what}: matmul (${form})`);
      continue;
    }
    const fused = inlined(id);
    if (fused.length) lines.push(`  ${what}: one loop for ${[...fused, n.op].join(" → ")} (${fused.length + 1} elementwise ops fused)`);
    else if (n.op === "matvec" || n.op === "dot") lines.push(`  ${what}: ${n.op} (dot products, 4 partial sums)`);
  }
  return lines;
}
