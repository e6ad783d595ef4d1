/**
 * The pipeline, as named phases: parse -> check -> lower -> canonicalize -> differentiate ->
 * optimize (`analyze`), then vmap and emit (`compile`). Later stages (explain, flow, build, the
 * CLI) import this module; it imports none of them.
 */
import { sha256 } from "./util/sha256.js";
import { differentiate, type SweepStep } from "./autodiff/differentiate.js";
import { check } from "./check/check.js";
import { Reporter, sortDiagnostics, type Diagnostic } from "./diagnostics/diagnostic.js";
import { CompileError } from "./diagnostics/error.js";
import { vectorProducts } from "./ops/products.js";
import { emitTypeScript, kernelCosts, wasmKernels, type Chunk, type Dtype } from "./emit/ts/module.js";
import { printGraph } from "./ir/print.js";
import { lowerNamed } from "./lower/lower.js";
import type { CheckedProgram } from "./check/program.js";
import { canonicalizeMapped, optimize } from "./optimize/optimize.js";
import { vmap } from "./batch/vmap.js";
import { chunkPays, paddedTailFrom } from "./batch/cost.js";
import { parse } from "./parse/parser.js";
import { lineCol } from "./source/span.js";
import type { Graph, Node } from "./ir/graph.js";
import { noteOf } from "./util/text.js";
import { describeKernel, type MatmulKernel } from "./emit/wasm/kernels.js";
import { describeFusion } from "./emit/ts/fusion.js";

export interface CompileOptions {
  /** display name of the source, used in diagnostics and the header (default "model.grad") */
  readonly filename?: string;
  readonly dtype?: Dtype;
  /** "wasm": batchGradients runs its matrix products as WebAssembly SIMD kernels (default "ts") */
  readonly target?: "ts" | "wasm";
  /** samples per batched chunk in batchGradients (default 16) */
  readonly chunkSize?: number;
  /**
   * --target wasm: from how many samples past the last whole chunk batchGradients runs them as
   * one chunk padded with weight-0 samples instead of one by one (default: a cost model's choice)
   */
  readonly paddedTailFrom?: number;
  /** format the module with prettier (default true) */
  readonly prettier?: boolean;
  /** emit NaN/Inf checks after every node, and of every param and input (default false: the checks cost nothing when off) */
  readonly debug?: boolean;
  /** one local per elementary unit, u1..un as in lecture 4.6.1 (default false: an unnamed scalar read once is written where it is read) */
  readonly units?: boolean;
  /** leave out the argument checks of the exported functions (default false) */
  readonly unchecked?: boolean;
  /** called with each IR stage, for tests that verify the graph between passes */
  readonly onStage?: (stage: string, g: Graph) => void;
}

export interface Analysis {
  /** the checked program (the source's expressions, which derivations print as written) */
  readonly program: CheckedProgram;
  /** each name the program defines -> its node in `forward` */
  readonly names: ReadonlyMap<string, number>;
  /** the forward graph, as lowered from the source */
  readonly forward: Graph;
  /** the forward graph in canonical, numerically stable form: what is differentiated */
  readonly canonical: Graph;
  /** each live node of `forward` -> the node of `canonical` that holds its value (derivations show the first, evaluate the second) */
  readonly canonicalOf: ReadonlyMap<number, number>;
  /** forward + backward graph, before optimization */
  readonly differentiated: Graph;
  /** the lecture's grad_table, in sweep order */
  readonly sweep: readonly SweepStep[];
  /** the graph the emitters print */
  readonly ir: Graph;
  /** warnings (errors throw) */
  readonly diagnostics: readonly Diagnostic[];
}

export interface CompileResult extends Analysis {
  /** the program on a chunk of samples at once, for batchGradients (absent when it has no batched form) */
  readonly chunk?: Chunk;
  readonly typescript: string;
  readonly dtype: Dtype;
  readonly target: "ts" | "wasm";
  /** stable text dump of `ir` */
  readonly irText: string;
}

const DEFAULT_CHUNK = 16;
/**
 * A product this large runs well in the wasm kernels whatever its row count (its rows are long):
 * 16 rows of a 64 × 64 product. Measured on LeNet-5 written on a batch of 32 (6 filters × 25 taps
 * × 784 positions per image, 117,600 multiply-adds): gradients() 34 → 21 ms (f32) with its chunk of one.
 */
const ONE_SAMPLE_MACS = 16 * 64 * 64;
/** a one-sample chunk runs gradients() when its large kernels carry this share of its multiply-adds */
const SAMPLE_KERNEL_SHARE = 0.9;

export function sourceHash(text: string): string {
  return sha256(text);
}

/** parse -> check -> lower -> differentiate -> optimize. Throws CompileError with every diagnostic. */
export function analyze(text: string, options: CompileOptions = {}): Analysis {
  const file = options.filename ?? "model.grad";
  const reporter = new Reporter(file);
  const ast = parse(text, reporter);
  const checked = check(ast, file, text);
  const diagnostics = sortDiagnostics([...reporter.diagnostics, ...checked.diagnostics]);
  if (reporter.hasErrors || !checked.program) throw new CompileError(diagnostics, text);
  const program = checked.program;
  const { graph: forward, names } = lowerNamed(program);
  options.onStage?.("lower", forward);
  const { graph: canonical, map: canonicalOf } = canonicalizeMapped(forward);
  options.onStage?.("canonicalize", canonical);
  const { graph: differentiated, sweep } = differentiate(canonical);
  options.onStage?.("differentiate", differentiated);
  const ir = optimize(differentiated, (pass, g) => options.onStage?.(pass, g));
  return { program, names, forward, canonical, canonicalOf, differentiated, sweep, ir, diagnostics };
}

/**
 * The program on a chunk of samples at once, for batchGradients; undefined when it has no
 * batched form. For --target wasm each sample has a weight, so a last, partial chunk can be
 * padded with weight-0 samples.
 */
function batchedChunk(a: Analysis, options: CompileOptions): Chunk | undefined {
  if (!chunkPays(a.ir)) return undefined;
  const size = options.chunkSize ?? DEFAULT_CHUNK;
  // --target wasm, a program whose one sample already makes every product a matrix product of a
  // chunk's rows or more (X[32, 784] @ W), or one of ONE_SAMPLE_MACS multiply-adds or more (a
  // batch's convolution, 6 filters by 25 taps by 784 positions per image): batching samples adds
  // nothing to the kernels, so the chunk is one sample, and gradients() runs it (a padded chunk
  // would multiply the work). A vector product is one row per sample: no need to look further.
  const vectorProduct = a.ir.nodes.some((n) => vectorProducts.has(n.op));
  if (options.target === "wasm" && options.chunkSize === undefined && !vectorProduct) {
    const one = chunkOf(a, 1, false, options);
    const kernels = one && wasmKernels(one.graph);
    const pays = (k: MatmulKernel) => (k.form === "tn" ? k.n : k.m) >= size || k.m * k.n * k.c >= ONE_SAMPLE_MACS;
    if (one && kernels?.specs.every(pays)) return one;
  }
  // --target wasm: weights, so that a last, partial chunk can run padded, when it has WebAssembly
  // kernels and the cost model finds padding faster for some remainder (otherwise the chunk is
  // the TypeScript target's)
  if (options.target === "wasm" && options.paddedTailFrom !== size) {
    const weighted = chunkOf(a, size, true, options);
    const kernels = weighted && wasmKernels(weighted.graph);
    if (weighted && kernels) {
      const from =
        options.paddedTailFrom ??
        paddedTailFrom(a.ir, size, options.dtype ?? "f64", {
          graph: weighted.graph,
          kernels: kernelCosts(weighted.graph, kernels),
        });
      if (from < size) return { ...weighted, paddedTailFrom: from };
    }
  }
  return chunkOf(a, size, false, options);
}

function chunkOf(a: Analysis, size: number, weighted: boolean, options: CompileOptions): Chunk | undefined {
  const batched = vmap(a.canonical, size, { weighted });
  if (!batched) return undefined;
  options.onStage?.("vmap", batched.graph);
  const d = differentiate(batched.graph).graph;
  options.onStage?.("vmap+differentiate", d);
  const graph = optimize(d);
  options.onStage?.("vmap+optimize", graph);
  return { graph, size: batched.size, ...(batched.weight ? { weight: batched.weight } : {}) };
}

/**
 * --target wasm, a program of vector products (x @ W on one sample) batched in chunks of
 * several samples: the program on one sample too, whose products are then one-row matrix
 * products, for gradients() and the samples past batchGradients' last whole chunk. Only when
 * the kernels that pay on one sample (ONE_SAMPLE_MACS or more) carry nearly all its
 * multiply-adds (the rest, a 128 × 10 layer, run in wasm too: a call costs less than its loop).
 */
function sampleChunk(a: Analysis, options: CompileOptions, chunk: Chunk | undefined): Chunk | undefined {
  if (options.target !== "wasm" || !chunk || chunk.size === 1 || options.chunkSize !== undefined) return undefined;
  if (!a.ir.nodes.some((n) => vectorProducts.has(n.op))) return undefined;
  const one = chunkOf(a, 1, false, options);
  const kernels = one && wasmKernels(one.graph);
  if (!one || !kernels) return undefined;
  const macs = (k: MatmulKernel) => k.m * k.n * k.c;
  const total = kernels.specs.reduce((s, k) => s + macs(k), 0);
  const paying = kernels.specs.filter((k) => macs(k) >= ONE_SAMPLE_MACS).reduce((s, k) => s + macs(k), 0);
  return paying >= SAMPLE_KERNEL_SHARE * total ? one : undefined;
}

/** The whole pipeline: source text -> TypeScript gradient module (and the IR behind it). */
export async function compile(text: string, options: CompileOptions = {}): Promise<CompileResult> {
  const a = analyze(text, options);
  const chunk = batchedChunk(a, options);
  const sample = sampleChunk(a, options, chunk);
  const file = options.filename ?? "model.grad";
  const typescript = await emitTypeScript(a.ir, {
    source: options.filename ?? "model.grad",
    hash: sourceHash(text),
    dtype: options.dtype ?? "f64",
    format: options.prettier ?? true,
    ...(chunk ? { chunk } : {}),
    ...(sample ? { sample } : {}),
    ...(options.target ? { target: options.target } : {}),
    ...(options.unchecked ? { unchecked: true } : {}),
    ...(options.units ? { units: true } : {}),
    ...(options.debug
      ? {
          debug: {
            locate: (n: Node) => {
              if (!n.origin) return `${file}, generated for the backward pass`;
              const lc = lineCol(text, n.origin.span.start);
              return `${file}:${lc.line}:${lc.col}`;
            },
          },
        }
      : {}),
  });
  return {
    ...a,
    ...(chunk ? { chunk } : {}),
    typescript,
    dtype: options.dtype ?? "f64",
    target: options.target ?? "ts",
    // printed when asked for (--emit ir): a long program's IR dump is as large as its module
    get irText() {
      return printGraph(a.ir);
    },
  };
}

/** Which loops were fused and how, per generated function (`gradc compile --explain-fusion`). */
export function explainFusion(a: CompileResult): string {
  const label = (g: Graph) => (id: number) =>
    g.nodes[id].hint ?? (g.nodes[id].origin ? noteOf(g.nodes[id].origin!) : undefined) ?? `%${id}`;
  const out = ["gradients(): per sample", ...describeFusion(a.ir, "gradients", label(a.ir))];
  if (a.chunk) {
    const wasm = a.target === "wasm" ? wasmKernels(a.chunk.graph) : undefined;
    const lane = { bytes: a.dtype === "f32" ? 4 : 8 } as const;
    const rows = (id: number) =>
      a.chunk?.weight !== undefined && wasm?.sampleRows.has(id) ? "; of a padded chunk, the real rows only" : "";
    const how =
      wasm && new Map([...wasm.kernels].map(([id], k) => [id, describeKernel(lane, wasm.specs[k]) + rows(id)]));
    out.push(
      a.chunk.size === 1
        ? "batchGradients(): sample by sample, each one's matrix products as WebAssembly kernels (gradients() too)"
        : `batchGradients(): ${a.chunk.size} samples at a time, batched into matrix products (vmap), the rest ${a.chunk.paddedTailFrom === undefined ? "per sample" : `as one more chunk padded with weight-0 samples when at least ${a.chunk.paddedTailFrom} remain${a.chunk.paddedTailFrom > 1 ? ", else per sample" : ""}`}`,
      ...describeFusion(a.chunk.graph, how ? "chunk" : "gradients", label(a.chunk.graph), how),
    );
    // f32: the loop nests that run as SIMD kernels too (src/emit/wasm/loops.ts), counted in the module
    const loops = (prefix: string) => (a.typescript.match(new RegExp(`kernels\\.${prefix}\\d+\\(`, "g")) ?? []).length;
    if (wasm && a.dtype === "f32")
      out.push(
        `  loop nests as WebAssembly SIMD kernels (f32x4; elementwise passes, softmax, row sums): ${loops("e")} in the chunk${a.typescript.includes("function sampleChunk(") ? `, ${loops("se")} in the one-sample chunk` : ""}; the rest stay TypeScript`,
      );
  } else
    out.push(
      chunkPays(a.ir)
        ? "batchGradients(): sample by sample (an input is a matrix, so the program has no batched form)"
        : `batchGradients(): sample by sample (${a.ir.nodes.length} nodes and no product: a batched chunk would be slower; batch/cost.ts)`,
    );
  return out.join("\n") + "\n";
}
