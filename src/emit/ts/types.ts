import type { Graph, Node } from "../../ir/graph.js";

export type Dtype = "f64" | "f32";

/** The program on `size` samples at once (batch/vmap.ts), differentiated and optimized. */
export interface Chunk {
  readonly graph: Graph;
  readonly size: number;
  /** weighted chunks: the input with each sample's weight in the loss */
  readonly weight?: string;
  /** weighted chunks: from how many remaining samples batchGradients pads a last chunk (see batch/cost.ts) */
  readonly paddedTailFrom?: number;
}

export interface EmitOptions {
  /** the source's display name, for the header */
  readonly source: string;
  /** sha256 of the source text */
  readonly hash: string;
  readonly dtype: Dtype;
  /** the program batched over `size` samples (see batch/vmap.ts), differentiated and optimized */
  readonly chunk?: Chunk;
  /**
   * --target wasm: the program on one sample (a chunk of one), whose vector products run as
   * kernels too; gradients() and the samples past batchGradients' last whole chunk run it
   */
  readonly sample?: Chunk;
  /** "wasm": the chunk's matrix products run as WebAssembly SIMD kernels (default "ts") */
  readonly target?: "ts" | "wasm";
  /** run prettier over the output (default true; false is for fuzzing, where speed matters) */
  readonly format?: boolean;
  /** check every value for NaN/Inf at run time; `locate` names a node's source position */
  readonly debug?: { readonly locate: (n: Node) => string };
  /**
   * one local per elementary unit, u1..un in the lecture's creation order (4.6.1), instead of
   * writing an unnamed scalar inside the one expression that reads it (default false)
   */
  readonly units?: boolean;
  /** leave out the argument checks of the exported functions (default false: every call checks its arguments) */
  readonly unchecked?: boolean;
}
