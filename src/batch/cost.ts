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
// about 2.5 FLOP/ns on products (the MLPs at batch 1, in either layout); the wasm target's
// register-tiled kernels (A Bᵀ) about 24 FLOP/ns in f32 (f32x4) and half that in f64 (f64x2),
// its kernels that add rows of B into rows of C (A B, Aᵀ B) about 10 (measured: a batch of 32
// written as a matrix, X @ W1, 104 MFLOP in 10 ms); a chunk's fixed cost (calls, staging,
// sums) about 5 µs.
const TS_FLOP_PER_NS = 2.5;
const WASM_FLOP_PER_NS = { tiled: { f32: 24, f64: 12 }, rows: { f32: 10, f64: 5 } } as const;
const CHUNK_NS = 5000;

/** What a padded chunk costs besides its wasm kernels: the chunk program, and each kernel's share. */
export interface PaddedChunk {
  /** the batched, weighted program */
  readonly graph: Graph;
  /** the products that run as wasm kernels: FLOPs, and whether they compute the real samples only */
  readonly kernels: readonly {
    readonly node: number;
    readonly flops: number;
    /** register-tiled dot products (A Bᵀ), or rows of B added into rows of C */
    readonly tiled: boolean;
    readonly realRowsOnly: boolean;
  }[];
}

/**
 * --target wasm: from how many samples past the last whole chunk batchGradients runs them as
 * one chunk of B padded with weight-0 samples, estimated faster than running them one by one
 * (never, B, when even B - 1 samples are cheaper one by one). `g` is the per-sample program.
 * A kernel that computes the real samples' rows only (its rows are samples, or it skips the
 * zero rows padding has in a gradient) costs r / B of its FLOPs for r real samples; any other
 * kernel, the elementwise work and the products outside kernels cost the whole chunk. So
 * samples that are themselves matrices (X[32, 784] @ W, in chunks of 16) are padded only from
 * a few: their forward product runs over all sixteen.
 */
export function paddedTailFrom(g: Graph, B: number, dtype: "f64" | "f32", chunk: PaddedChunk): number {
  const one = flopCount(g);
  const perSample = (one.products + one.elementwise) / TS_FLOP_PER_NS;
  const all = flopCount(chunk.graph);
  const inKernels = chunk.kernels.reduce((sum, k) => sum + k.flops, 0);
  const fixed = CHUNK_NS + (all.products - inKernels + all.elementwise) / TS_FLOP_PER_NS;
  const cost = (r: number) =>
    fixed +
    chunk.kernels.reduce((sum, k) => {
      const rate = WASM_FLOP_PER_NS[k.tiled ? "tiled" : "rows"][dtype];
      return sum + (k.realRowsOnly ? (k.flops * r) / B : k.flops) / rate;
    }, 0);
  for (let r = 1; r < B; r++) if (cost(r) < r * perSample) return r;
  return B;
}

/**
 * Whether batchGradients' batched chunk beats running the samples one by one: always when the
 * program has a product (the chunk turns matrix-vector products into matrix products), and for
 * a program without one between CHUNK_FROM_NODES and CHUNK_UP_TO_NODES nodes (each op then runs
 * over 16 lanes in one loop). Past that, the chunk function is so large that V8 compiles it
 * with its slower register allocator (`--turbo-use-mid-tier-regalloc-for-huge-functions`) or
 * worse, and the per-sample code wins. Measured on the bench machine, batchGradients(n = 64),
 * each module alone in its process, per-sample time over the chunk's: the 4.3 chain at
 * L = 3 (37 nodes) 0.7, L = 4 (47) 1.0–1.4, L = 6 (67) 1.9, L = 12 (137) 2.0, L = 25 (257) 1.8,
 * L = 28 (287) 1.9, then L = 29 (297) 0.21, L = 30 (307) 0.20, L = 50 (507) 0.19; with products:
 * tiny-mlp 2.1, embedding-bag 2.4, rnn (242 nodes) 1.46, layernorm 1.03, regression 1.0.
 */
export function chunkPays(g: Graph): boolean {
  if (flopCount(g).products > 0) return true;
  return g.nodes.length >= CHUNK_FROM_NODES && g.nodes.length <= CHUNK_UP_TO_NODES;
}
const CHUNK_FROM_NODES = 48;
const CHUNK_UP_TO_NODES = 288;
