/**
 * --target wasm: which of the chunk's matrix products run as WebAssembly kernels, and the one
 * memory they share with the generated code (buffers, staged params and inputs, scratch).
 */
import { storageOf, type Graph, type Node } from "../../ir/graph.js";
import { asBatchedProduct } from "../../shape/contract.js";
import { parseSpec } from "../../shape/contract.js";
import { size, strides } from "../../shape/shape.js";
import { sampleRowValues, WEIGHT } from "../../batch/vmap.js";
import type { PaddedChunk } from "../../batch/cost.js";
import { assemble, kernelModule, scratchBytes, takesRows, type Form, type MatmulKernel } from "../wasm/kernels.js";
import { naturalStrides, type MatmulShape } from "../wasm/spec.js";
import { plan, type WasmPlan } from "./function.js";
import type { Dtype } from "./types.js";
import { UserError } from "../../diagnostics/usage.js";
import { opInfo } from "../../ops/index.js";

const MAX_PAGES = 65536;
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

export interface WasmLayout extends Omit<WasmPlacement, "assemble"> {
  readonly base64: string;
}

/** The layout before its module is assembled: the chunk functions are emitted between the two. */
export interface WasmPlacement {
  readonly plan: WasmPlan;
  /** the one-sample chunk's plan (EmitOptions.sample): its own buffers, the chunk's staged params and gradient sums */
  readonly sample?: WasmPlan;
  /** workspace key -> byte offset, for the entries that live in the kernels' memory */
  readonly views: ReadonlyMap<string, number>;
  readonly pages: number;
  /** the module of the kernels and the loop kernels the plans collected, as base64 */
  assemble(): Promise<string>;
}

/** The chunk's products that run as WebAssembly kernels: node -> export name, their specs, and the accumulated gradients. */
export interface WasmKernels {
  readonly kernels: ReadonlyMap<number, string>;
  readonly specs: readonly MatmulKernel[];
  /** products whose rows of A are the chunk's samples (batch/vmap.ts sampleRowValues) */
  readonly sampleRows: ReadonlySet<number>;
  /** product node -> the param whose whole gradient it is, added straight into a per-call sum */
  readonly accumulated: ReadonlyMap<number, string>;
  /** batched products: node -> how many matrix products, and each operand's step between them (elements) */
  readonly batches: ReadonlyMap<number, Batches>;
}

/**
 * A batched matrix product as one kernel call per batch index: a loop per batch letter
 * (outermost first), `counts` long, each step moving the operands (A, B, the result) by `steps`
 * (elements; 0 for an operand without that letter, the same matrix for every call).
 */
export interface Batches {
  readonly counts: readonly number[];
  readonly steps: readonly (readonly [number, number, number])[];
}

/** A 2-D product's layout: which operands are stored transposed (nt: A Bᵀ, tn: Aᵀ B, nn: A B). */
function formOf(ta: boolean, tb: boolean): Form | undefined {
  return !ta && tb ? "nt" : ta && !tb ? "tn" : !ta && !tb ? "nn" : undefined;
}

/** an operand's stride per letter of its subscripts, in elements, as stored (row-major, or behind a swap of the last two axes) */
function stridesOf(g: Graph, operand: number, sub: string): ReadonlyMap<string, number> {
  const shape = g.nodes[operand].shape;
  const swapped = storageOf(g, operand).swapped;
  const stored = swapped ? [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]] : [...shape];
  const st = strides(stored);
  if (swapped) [st[st.length - 2], st[st.length - 1]] = [st[st.length - 1], st[st.length - 2]];
  return new Map([...sub].map((c, k) => [c, st[k]]));
}

/**
 * A contraction that is a batched matrix product (one reduced letter j, C[i, k] = Σ_j A[i, j]
 * B[j, k] per batch index) whose matrices each have one axis of stride 1 (a row of C, of A or Aᵀ,
 * of B or Bᵀ is contiguous): its kernel form, sizes, row strides and batch loops, in any layout
 * of the batch letters and the rows (per-head attention's Q [n, t, h, d] Kᵀ runs as nt with
 * rows h·d apart).
 */
function batchedForm(g: Graph, n: Node): (MatmulShape & { batches: Batches }) | undefined {
  const p = asBatchedProduct(n.attrs!.spec!);
  if (!p) return undefined;
  const { inputs, output } = parseSpec(n.attrs!.spec!)!;
  const [sa, sb] = [0, 1].map((o) => stridesOf(g, n.args[o], inputs[o]));
  const sc = new Map([...output].map((c, k) => [c, strides(n.shape)[k]]));
  const size = (c: string) => n.shape[output.indexOf(c)];
  // A's rows i or its columns j contiguous (Aᵀ stored), B's columns k or its rows j (Bᵀ stored); C's columns
  const ta = sa.get(p.j) !== 1 && sa.get(p.i) === 1;
  const tb = sb.get(p.k) !== 1 && sb.get(p.j) === 1;
  const form = formOf(ta, tb);
  if (!form || (!ta && sa.get(p.j) !== 1) || (!tb && sb.get(p.k) !== 1) || sc.get(p.k) !== 1) return undefined;
  const j = g.nodes[n.args[0]].shape[inputs[0].indexOf(p.j)];
  const batch = p.batch;
  return {
    form,
    m: size(p.i),
    n: j,
    c: size(p.k),
    lda: (ta ? sa.get(p.j) : sa.get(p.i))!,
    ldb: (tb ? sb.get(p.k) : sb.get(p.j))!,
    ldc: sc.get(p.i)!,
    batches: {
      counts: batch.map(size),
      steps: batch.map((c) => [sa.get(c) ?? 0, sb.get(c) ?? 0, sc.get(c)!] as const),
    },
  };
}

/**
 * --target wasm: the chunk's matrix products whose operands the kernels can read (buffers,
 * params, inputs, and their transposes); undefined when there are none. Every such product
 * runs as a kernel, however small: measured per program in one process (batchGradients(32),
 * alternating rounds, f32), a chunk whose products all run in wasm took 0.5–0.98 × the time
 * of the same chunk in TypeScript (the RNN 0.58, the embedding bag 0.50, the LSTM 0.94), even
 * for the autoencoder's 16 × 3 × 6 products (0.83–0.98), so a
 * per-product TypeScript-or-wasm choice would never pick TypeScript. The choices that do
 * depend on cost are per program (whether to batch at all, whether to pad a last chunk:
 * src/batch/cost.ts; whether a one-sample chunk pays: src/pipeline.ts) and per call inside
 * the kernels (register tiles or row-adding, from the share of nonzero factors).
 */
export function wasmKernels(g: Graph): WasmKernels | undefined {
  const p = plan(g, "chunk");
  const usable = (id: number) => {
    const s = storageOf(g, id).node;
    return s.op === "param" || s.op === "input" || p.placement.get(s.id) === "buffer";
  };
  const kernels = new Map<number, string>();
  const specs: MatmulKernel[] = [];
  const batches = new Map<number, Batches>();
  // a product that is a param's whole gradient, read by nothing else, is added straight into a sum
  const users = new Map<number, number>();
  for (const id of p.order) for (const a of g.nodes[id].args) users.set(a, (users.get(a) ?? 0) + 1);
  const gradOf = new Map(
    g.grads.filter((o) => g.grads.filter((x) => x.node === o.node).length === 1).map((o) => [o.node, o.param]),
  );
  const accumulated = new Map<number, string>();
  // where a padding sample's row of A equals the sample it repeats, so does its row of the product
  const rowsOfSamples = sampleRowValues(g, WEIGHT);
  const sampleRows = new Set<number>();
  for (const id of p.order) {
    const n = g.nodes[id];
    if (p.placement.get(id) !== "buffer" || !n.args.every(usable)) continue;
    if (n.op === "contract2") {
      const b = batchedForm(g, n);
      if (!b) continue;
      const name = `k${specs.length}`;
      kernels.set(id, name);
      batches.set(id, b.batches);
      const { batches: _, ...shape } = b;
      specs.push({ name, ...contiguousOmitted(shape) });
      continue;
    }
    if (n.op !== "matmul") continue;
    const [ta, tb] = n.args.map((a) => storageOf(g, a).swapped);
    const form = formOf(ta, tb);
    if (!form) continue;
    const [a, b] = n.args.map((x) => g.nodes[x].shape);
    const name = `k${specs.length}`;
    kernels.set(id, name);
    const param = gradOf.get(id);
    const accumulate = form !== "nt" && param !== undefined && !users.has(id);
    if (accumulate) accumulated.set(id, param);
    const spec: MatmulKernel = { name, form, m: a[0], n: a[1], c: b[1], ...(accumulate ? { accumulate } : {}) };
    if (takesRows(spec) && rowsOfSamples.has(n.args[0])) sampleRows.add(id);
    specs.push(spec);
  }
  return kernels.size ? { kernels, specs, accumulated, sampleRows, batches } : undefined;
}

/**
 * The chunk's kernels as the cost model (batch/cost.ts paddedTailFrom) sees them: FLOPs, and
 * whether a padded chunk's kernel computes the real samples only: a forward product over the
 * samples' rows (sampleRows), or a product of the backward pass, whose cotangent is zero in the
 * padding's rows (the kernels skip zero rows and zero factors).
 */
export function kernelCosts(g: Graph, k: WasmKernels): PaddedChunk["kernels"] {
  // the forward pass: what the loss depends on
  const forward = new Set<number>([g.loss]);
  for (let id = g.loss; id >= 0; id--) if (forward.has(id)) for (const a of g.nodes[id].args) forward.add(a);
  return [...k.kernels].map(([node, name]) => {
    const s = k.specs.find((x) => x.name === name)!;
    return {
      node,
      flops: 2 * s.m * s.n * s.c * (k.batches.get(node)?.counts.reduce((a, b) => a * b, 1) ?? 1),
      tiled: s.form === "nt",
      realRowsOnly: k.sampleRows.has(node) || !forward.has(node),
    };
  });
}

/**
 * the tensor params elementwise ops read, directly or through views (a bias's broadcast, a gain's
 * reshape); a scalar param is a number the loop kernels take as an argument
 */
function paramsReadElementwise(g: Graph, order: readonly number[]): Node[] {
  const found = new Map<number, Node>();
  const visit = (id: number): void => {
    const n = g.nodes[id];
    if (n.op === "param" && n.shape.length > 0) found.set(id, n);
    else if (opInfo(n.op).kind === "view") visit(n.args[0]);
  };
  for (const id of order) if (opInfo(g.nodes[id].op).kind === "elementwise") g.nodes[id].args.forEach(visit);
  return [...found.values()];
}

/**
 * --target wasm: one memory for every buffer of the chunk, a staging copy of each param and
 * input the kernels read, and the kernels' scratch; and the kernels assembled over it.
 */
/** One chunk's part of the kernels' memory: its plan, its views, where it ends, its kernels. */
interface Placed {
  readonly plan: WasmPlan;
  readonly views: ReadonlyMap<string, number>;
  readonly end: number;
  readonly specs: readonly MatmulKernel[];
}

/**
 * A chunk's buffers and staging copies in the kernels' memory from byte `base` on. With
 * `shared` (the one-sample chunk beside the chunk's): the params' staging copies and the
 * gradient sums are the chunk's own, so batchGradients stages and sums once for both; undefined
 * when the two chunks' kernels do not sum the same gradients.
 */
function place(
  g: Graph,
  local: ReadonlyMap<number, string>,
  bytes: number,
  at: { readonly base: number; readonly kernelPrefix: string; readonly keyPrefix: string; readonly shared?: WasmPlan },
): Placed | undefined {
  const selected = wasmKernels(g);
  if (!selected) return undefined;
  const { accumulated, sampleRows, batches } = selected;
  const rename = (name: string) => `${at.kernelPrefix}${name.slice(1)}`;
  const kernels = new Map([...selected.kernels].map(([id, name]) => [id, rename(name)]));
  const specs = selected.specs.map((k) => ({ ...k, name: rename(k.name) }));
  const sums = at.shared?.accumulators;
  if (sums && (sums.size !== accumulated.size || [...accumulated.values()].some((p) => !sums.has(p)))) return undefined;
  const p = plan(g, "chunk");
  let offset = at.base;
  const take = (n: number) => {
    const start = offset;
    offset += Math.ceil((n * bytes) / 16) * 16;
    return start;
  };
  const offsets = new Map<number, number>();
  const views = new Map<string, number>();
  const accumulators = new Map<string, { key: string; node: number; offset: number }>();
  for (const id of p.order) {
    if (p.placement.get(id) !== "buffer") continue;
    const param = accumulated.get(id);
    const sum = param === undefined ? undefined : sums?.get(param);
    if (sum) {
      // the chunk's sum of this gradient, which this chunk's kernel adds into too
      offsets.set(id, sum.offset);
      accumulators.set(param!, { key: sum.key, node: id, offset: sum.offset });
      continue;
    }
    const start = take(size(g.nodes[id].shape));
    offsets.set(id, start);
    // an accumulated gradient's buffer is the per-call sum, under its own key
    const key =
      param !== undefined ? `chunkGrad_${param.replace(/[^A-Za-z0-9_]/g, "_")}_${accumulators.size}` : local.get(id)!;
    if (param !== undefined) accumulators.set(param, { key, node: id, offset: start });
    views.set(key, start);
  }
  // the params and inputs the kernels read, and (f32) the params elementwise loops read, so that
  // those loops can run as SIMD kernels too: a staging copy each, a param's shared with the chunk
  const staging = new Map<string, { key: string; offset: number; role: "param" | "input"; size: number }>();
  const read = [...kernels.keys()].flatMap((id) => g.nodes[id].args.map((a) => storageOf(g, a).node));
  for (const s of [...read, ...(bytes === 4 ? paramsReadElementwise(g, p.order) : [])]) {
    if ((s.op !== "param" && s.op !== "input") || staging.has(s.name!)) continue;
    const own = s.op === "param" ? at.shared?.staging.get(s.name!) : undefined;
    if (own) {
      staging.set(s.name!, own);
      continue;
    }
    const key = `${at.keyPrefix}staged_${s.name!.replace(/[^A-Za-z0-9_]/g, "_")}_${staging.size}`;
    const start = take(size(s.shape));
    staging.set(s.name!, { key, offset: start, role: s.op, size: size(s.shape) });
    views.set(key, start);
  }
  return {
    plan: {
      kernels,
      sampleRows,
      offsets,
      staging,
      accumulators,
      batches: scaled(batches, bytes),
      ...(bytes === 4 ? { loops: { prefix: at.kernelPrefix === "k" ? "e" : `${at.kernelPrefix}e`, kernels: [] } } : {}),
    },
    views,
    end: offset,
    specs,
  };
}

/**
 * The chunk's (and the one-sample chunk's, when given and its kernels sum the same gradients)
 * buffers in one WebAssembly memory, and their kernels: k0, k1, … and s0, s1, …; with f32, each
 * chunk's plan collects the loop kernels (e0, e1, … and se0, …) as the chunk function is
 * emitted, and `assemble` then builds one module of them all.
 */
export function wasmLayout(
  g: Graph,
  local: ReadonlyMap<number, string>,
  dtype: Dtype,
  file: string,
  sample?: { readonly graph: Graph; readonly local: ReadonlyMap<number, string> },
): WasmPlacement | undefined {
  const bytes = dtype === "f32" ? 4 : 8;
  const main = place(g, local, bytes, { base: 0, kernelPrefix: "k", keyPrefix: "" });
  if (!main) return undefined;
  const one =
    sample &&
    place(sample.graph, sample.local, bytes, {
      base: main.end,
      kernelPrefix: "s",
      keyPrefix: "one_",
      shared: main.plan,
    });
  // the kernels' own scratch (row lists), past everything the module reads
  const pagesOf = (parts: readonly Placed[]) =>
    Math.ceil(
      (parts[parts.length - 1].end +
        scratchBytes(
          { bytes },
          parts.flatMap((p) => p.specs),
        )) /
        65536,
    ) + 1;
  // a WebAssembly memory holds at most 65,536 pages of 64 KiB (4 GiB): without the one-sample
  // chunk if that is what does not fit, and no wasm if the chunk alone does not
  const both = one && pagesOf([main, one]) <= MAX_PAGES ? one : undefined;
  const pages = pagesOf(both ? [main, both] : [main]);
  if (pages > MAX_PAGES) throw new UserError("E542", { file, size: gib(pages * 65536), limit: gib(MAX_PAGES * 65536) });
  const specs = [...main.specs, ...(both?.specs ?? [])];
  const scratch = (both ?? main).end;
  const plans = [main.plan, ...(both ? [both.plan] : [])];
  return {
    plan: main.plan,
    ...(both ? { sample: both.plan } : {}),
    views: new Map([...main.views, ...(both?.views ?? [])]),
    pages,
    assemble: async () => {
      const loops = plans.flatMap((p) => p.loops?.kernels.map((k) => k.wat) ?? []);
      const wasmBytes = await assemble(kernelModule({ bytes }, specs, pages, scratch, loops));
      return Buffer.from(wasmBytes).toString("base64");
    },
  };
}

/** batch steps in bytes, as the kernels' offsets are */
function scaled(batches: ReadonlyMap<number, Batches>, bytes: number): ReadonlyMap<number, Batches> {
  return new Map(
    [...batches].map(([id, b]) => [
      id,
      { counts: b.counts, steps: b.steps.map((st) => st.map((x) => x * bytes) as [number, number, number]) },
    ]),
  );
}

/** a kernel shape with the row strides of contiguous rows left out (its kernel is the plain one) */
function contiguousOmitted(k: MatmulShape): MatmulShape {
  const plain = naturalStrides(k);
  const { lda, ldb, ldc, ...rest } = k;
  return {
    ...rest,
    ...(lda !== plain.a ? { lda } : {}),
    ...(ldb !== plain.b ? { ldb } : {}),
    ...(ldc !== plain.c ? { ldc } : {}),
  };
}
