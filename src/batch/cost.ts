import type { Graph } from "../ir/graph.js";
import { opInfo } from "../ops/index.js";
import { size } from "../shape/shape.js";

/** FLOPs of one evaluation of a graph: products (the op table's counts), and one per element of everything else computed. */
export function flopCount(g: Graph): { readonly products: number; readonly elementwise: number } {
  let products = 0;
  let elementwise = 0;
  for (const n of g.nodes) {
    const info = opInfo(n.op);
    if (info.kind !== "leaf" && info.flops)
      products += info.flops(
        n.args.map((a) => g.nodes[a].shape),
        n.target,
        n.attrs,
      );
    else if (info.kind === "elementwise" || info.kind === "kernel") elementwise += size(n.shape);
  }
  return { products, elementwise };
}

// Rates of the generated code on the bench machine (bench/RESULTS.md): per-sample TypeScript
// about 1.2 FLOP/ns, the wasm target's product kernels about 24 FLOP/ns in f32 (f32x4) and half
// that in f64 (f64x2), a chunk's fixed cost (calls, staging, sums) about 5 µs.
const TS_FLOP_PER_NS = 1.2;
const WASM_FLOP_PER_NS = { f32: 24, f64: 12 } as const;
const CHUNK_NS = 5000;

/**
 * --target wasm: from how many samples past the last whole chunk batchGradients runs them as
 * one chunk padded with weight-0 samples, estimated faster than running them one by one
 * (never, B, when even B - 1 samples are cheaper one by one). `g` is the per-sample program.
 */
export function paddedTailFrom(g: Graph, B: number, dtype: "f64" | "f32"): number {
  const { products, elementwise } = flopCount(g);
  const perSample = (products + elementwise) / TS_FLOP_PER_NS;
  const chunk = B * (products / WASM_FLOP_PER_NS[dtype] + elementwise / TS_FLOP_PER_NS) + CHUNK_NS;
  return Math.min(B, Math.max(1, Math.ceil(chunk / perSample)));
}

/**
 * Whether batchGradients' batched chunk beats running the samples one by one: always when the
 * program has a product (the chunk turns matrix-vector products into matrix products), and for
 * an elementwise program from CHUNK_FROM_NODES nodes on (each op then runs over 16 lanes in one
 * loop). Measured on the bench machine, batchGradients(n = 64), per-sample time over the chunk's:
 * the lecture example (21 nodes) 0.7 — the chunk's loops cost more than its 21 scalar ops; a
 * 3-layer scalar chain (37 nodes) 1.4; 6 layers (67) 2.3; 50 layers (507) 2.1; tiny-mlp 2.2; mlp 2.4.
 */
export function chunkPays(g: Graph): boolean {
  return flopCount(g).products > 0 || g.nodes.length >= CHUNK_FROM_NODES;
}
const CHUNK_FROM_NODES = 32;
