import type { Graph } from "../../ir/graph.js";
import { showShape } from "../../shape/shape.js";
import { plan, type Mode } from "./function.js";
import { kernelDef } from "../../ops/index.js";

/**
 * How each loop nest of a function was formed, for `gradc compile --explain-fusion`; `kernels`
 * (--target wasm): products that run as WebAssembly kernels, and how, which take no epilogue.
 */
export function describeFusion(
  g: Graph,
  mode: Mode,
  names: (id: number) => string,
  kernels?: ReadonlyMap<number, string>,
): string[] {
  const { placement, order, epilogues } = plan(g, mode, kernels ? { outsideKernels: new Set(kernels.keys()) } : {});
  const inEpilogue = new Set([...epilogues.values()].flat());
  const lines: string[] = [];
  const inlined = (id: number): string[] =>
    g.nodes[id].args.flatMap((a) => (placement.get(a) === "inline" ? [...inlined(a), g.nodes[a].op] : []));
  for (const id of order) {
    const n = g.nodes[id];
    const p = placement.get(id);
    if (p !== "buffer") continue;
    const what = `${names(id)} ${showShape(n.shape)}`;
    if (inEpilogue.has(id)) continue;
    const wasm = kernels?.get(id);
    if (wasm) {
      lines.push(`  ${what}: ${n.op} (${wasm})`);
      continue;
    }
    const form = kernelDef(n.op)?.form;
    if (form) {
      const epilogue = epilogues.get(id);
      const then = epilogue
        ? `; epilogue, per element: ${epilogue.map((e) => `${names(e)} = ${[...inlined(e), g.nodes[e].op].join(" → ")}`).join(", ")}`
        : "";
      lines.push(`  ${what}: ${n.op} (${form(n.args.map((x) => g.nodes[x].op === "transpose"))})${then}`);
      continue;
    }
    const fused = inlined(id);
    if (fused.length)
      lines.push(`  ${what}: one loop for ${[...fused, n.op].join(" → ")} (${fused.length + 1} elementwise ops fused)`);
  }
  return lines;
}
