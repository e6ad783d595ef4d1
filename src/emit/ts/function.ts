import { InternalError } from "../../diagnostics/internal.js";
import {
  storageOf,
  reachable,
  swapsLastTwoAxes,
  type GradOutput,
  type Graph,
  type Leaf,
  type Node,
} from "../../ir/graph.js";
import { kernelDef, kernelOf, opInfo, viewOf, type KernelCtx } from "../../ops/index.js";
import { sameShape, size, type Shape } from "../../shape/shape.js";
import { noteOf } from "../../util/text.js";
import { elementExpr } from "./scalar.js";
import { loopKernel, Untranslatable, type Addresses, type LoopKernel } from "../wasm/loops.js";
import { elementVar, kernelVar } from "../../code/locals.js";
import { flatIndex, flatOf as flatAt, idxOf, linear, NeedIndex, rowColPos, type Pos } from "./access.js";
import {
  assign,
  bin,
  call,
  decl,
  iadd,
  id,
  imul,
  index,
  loop,
  member,
  num,
  printStmts,
  str,
  type Expr,
  type Stmt,
} from "../../code/syntax.js";

/**
 * How each node is computed in generated code:
 *   const   a literal           leaf    a param or input, read once into a local
 *   scalar  a `const` local     view    read through an index map, never stored
 *   inline  an elementwise tensor with one elementwise user: computed inside that user's loop
 *   buffer  a Float64Array in the workspace (or the caller's gradient array), filled by a loop
 */
export type Placement = "const" | "leaf" | "scalar" | "view" | "inline" | "buffer";

export interface ModuleNames {
  /** the local (and workspace key) of every node that has one */
  readonly local: ReadonlyMap<number, string>;
}

/** loss(), gradients(), batchGradients(), and the chunk function batchGradients calls for B samples at once */
export type Mode = "loss" | "gradients" | "batch" | "chunk";

export interface FunctionPlan {
  readonly placement: ReadonlyMap<number, Placement>;
  readonly order: readonly number[];
  /** kernel node -> the elementwise buffers computed at each of its stores (epilogue fusion) */
  readonly epilogues: ReadonlyMap<number, readonly number[]>;
}

/**
 * How many sums (the loss and the scalar gradients) batchGradients' per-sample loop keeps in
 * locals: x64 has 16 float registers; past that the locals live on the stack, and one typed array
 * of sums is as fast (measured: the lecture's 3 sums are 15% slower in an array, the 4.3 chain's
 * 101 within 2%) and a line shorter each.
 */
const SUMS_IN_LOCALS = 8;

/**
 * How many scalar ops one statement may compute, its operands written inside it: enough for
 * σ(w·h + b) and d_h·h·(1 − h), short enough to read on one line (a sum of 3,000 terms is a
 * statement per 8 of them, not one expression prettier folds into 3,000 lines).
 */
const MAX_SCALAR_OPS = 8;

/** How many elementwise ops one fused expression may nest. */
const MAX_INLINE_DEPTH = 32;

/**
 * Grouped scalar reads are checked every this many, right after them: a check far from its loads
 * measured 3 % slower on the 4.3 chain's gradients (100 scalar params) than one per load.
 */
const SCALARS_PER_CHECK = 16;

/** Which nodes a function computes and where each one lives. */
export function plan(
  g: Graph,
  mode: Mode,
  opts: { outsideKernels?: ReadonlySet<number>; units?: boolean } = {},
): FunctionPlan {
  const roots = mode === "loss" ? [g.loss] : [g.loss, ...g.grads.map((o) => o.node)];
  const live = reachable(g, roots);
  const uses = new Map<number, number[]>();
  const order: number[] = [];
  for (const n of g.nodes) {
    if (!live[n.id]) continue;
    order.push(n.id);
    for (const a of n.args) {
      const users = uses.get(a);
      if (users) users.push(n.id);
      else uses.set(a, [n.id]);
    }
  }
  const outputs = new Set(roots);
  const placement = new Map<number, Placement>();
  const inlineDepth = new Map<number, number>();
  // an unnamed scalar read once, by a scalar elementwise op, is written inside that op's
  // expression, as a person writes h = σ(w·x + b) and d_b = d_h · h · (1 − h); a value the source
  // names (h{k}, and its adjoint d_h) keeps its local; --units keeps every unit in a local, as the
  // lecture numbers them, and --debug too, to check each one
  const scalarInline = (id: number): boolean => {
    const users = uses.get(id) ?? [];
    if (opts.units || g.nodes[id].hint !== undefined || users.length !== 1 || outputs.has(id)) return false;
    const user = g.nodes[users[0]];
    if (user.shape.length !== 0 || opInfo(user.op).kind !== "elementwise") return false;
    if (opInfo(g.nodes[id].op).kind !== "elementwise") return false;
    // the ops one statement then computes: at most MAX_SCALAR_OPS before a local takes the value
    const ops = 1 + g.nodes[id].args.reduce((k, a) => k + (inlineDepth.get(a) ?? 0), 0);
    if (ops >= MAX_SCALAR_OPS) return false;
    inlineDepth.set(id, ops);
    return true;
  };
  for (const id of order) {
    const n = g.nodes[id];
    const kind = opInfo(n.op).kind;
    let p: Placement;
    if (n.op === "const") p = "const";
    else if (kind === "leaf") p = "leaf";
    else if (kind === "view") p = "view";
    else if (n.shape.length === 0) p = scalarInline(id) ? "inline" : "scalar";
    else if (kind === "elementwise") {
      const users = uses.get(id) ?? [];
      const single = users.length === 1 && !outputs.has(id) && opInfo(g.nodes[users[0]].op).kind === "elementwise";
      // an inline chain deeper than MAX_INLINE_DEPTH is cut by a buffer: one expression thousands
      // of operations deep gains nothing, and reading it back would recurse as deep
      const depth = 1 + Math.max(0, ...n.args.map((a) => inlineDepth.get(a) ?? 0));
      p = single && depth <= MAX_INLINE_DEPTH ? "inline" : "buffer";
      if (p === "inline") inlineDepth.set(id, depth);
    } else p = "buffer";
    placement.set(id, p);
  }
  return { placement, order, epilogues: epilogues(g, placement, order, opts.outsideKernels ?? new Set()) };
}

/**
 * Epilogue fusion: after a kernel that stores each element once in its final form (bias
 * add after a matrix product, then the activation), the elementwise buffers of the same
 * shape that need only that element and values ready before the kernel are computed right
 * at the store, instead of in loops of their own.
 */
function epilogues(
  g: Graph,
  placement: ReadonlyMap<number, Placement>,
  order: readonly number[],
  outside: ReadonlySet<number>,
): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const taken = new Set<number>();
  for (const k of order) {
    const n = g.nodes[k];
    const form = kernelDef(n.op)?.finalStore;
    // a product computed by a WebAssembly kernel has no store hook to fuse into
    if (outside.has(k) || placement.get(k) !== "buffer" || !form?.(n.args.map((a) => g.nodes[a].op === "transpose")))
      continue;
    const group: number[] = [];
    // is node a's value at the element being stored available inside the kernel?
    const ready = (a: number): boolean => {
      if (a === k || group.includes(a)) return true;
      const p = placement.get(a);
      if (p === "const" || p === "leaf") return true;
      if (p === "inline") return g.nodes[a].args.every(ready);
      if (p === "view") return sourceBefore(a);
      return a < k;
    };
    // a view reads other positions, so its source must be complete before the kernel runs
    const sourceBefore = (a: number): boolean => {
      const p = placement.get(a);
      if (p === "view") return g.nodes[a].args.every(sourceBefore);
      return (
        p === "const" ||
        p === "leaf" ||
        (a < k && p !== "inline") ||
        (p === "inline" && g.nodes[a].args.every(sourceBefore))
      );
    };
    for (const e of order) {
      if (e <= k || taken.has(e)) continue;
      const en = g.nodes[e];
      if (placement.get(e) !== "buffer" || opInfo(en.op).kind !== "elementwise" || !sameShape(en.shape, n.shape))
        continue;
      if (!en.args.every(ready)) continue;
      group.push(e);
      taken.add(e);
    }
    if (group.length) out.set(k, group);
  }
  return out;
}

/** Where the chunk's WebAssembly kernels find their operands (byte offsets in the shared memory). */
export interface WasmPlan {
  /** product node -> its kernel's export name */
  readonly kernels: ReadonlyMap<number, string>;
  /** products whose rows of A are samples: with weighted chunks, only the chunk's real rows are computed */
  readonly sampleRows: ReadonlySet<number>;
  /** buffer node -> byte offset */
  readonly offsets: ReadonlyMap<number, number>;
  /** leaf name -> staging copy (params once per batchGradients call, inputs once per chunk) */
  readonly staging: ReadonlyMap<
    string,
    { readonly key: string; readonly offset: number; readonly role: "param" | "input"; readonly size: number }
  >;
  /** param -> the wasm-memory sum its gradient's kernel adds each chunk into (zeroed per call) */
  readonly accumulators: ReadonlyMap<string, { readonly key: string; readonly node: number; readonly offset: number }>;
  /** batched products: node -> how many kernel calls, and each operand's step between them (bytes) */
  readonly batches: ReadonlyMap<
    number,
    { readonly counts: readonly number[]; readonly steps: readonly (readonly number[])[] }
  >;
  /**
   * f32: the chunk's loops that translate to SIMD kernels (src/emit/wasm/loops.ts), collected as
   * the chunk function is emitted and assembled after it, named `prefix` + a count
   */
  readonly loops?: { readonly prefix: string; readonly kernels: LoopKernel[] };
}

export interface FunctionContext {
  readonly graph: Graph;
  readonly names: ModuleNames;
  readonly mode: Mode;
  /** batch mode: the samples per chunk when a batched chunk function exists */
  readonly chunkSize?: number;
  /** --target wasm: matrix products of the chunk function that run as WebAssembly kernels */
  readonly wasm?: WasmPlan;
  /** batch mode, --target wasm: the samples past the last whole chunk run sampleChunk, the program on one sample with its own kernels */
  readonly sampleChunk?: boolean;
  /**
   * weighted chunks (batch/vmap.ts): the chunk's weight input, read from its `weights`
   * argument; batch mode runs a last, partial chunk padded with weight-0 samples when at least
   * `paddedTailFrom` samples remain
   */
  readonly weighted?: { readonly input: string; readonly paddedTailFrom: number };
  /** --debug: where a node came from ("model.grad:4:12"), to check every value for NaN/Inf */
  readonly debug?: (n: Node) => string;
  /** the argument check of a param or input read into `local`, if it is checked there (none with --unchecked, or in the chunk function) */
  readonly checkLeaf?: (role: "params" | "inputs", leaf: Leaf, local: string) => string;
  /** the one check of a function's scalar params (or inputs), read as a group: a statement's text */
  readonly checkScalars?: (role: "params" | "inputs", locals: readonly string[]) => string;
  /** --units: one local per elementary unit (plan()) */
  readonly units?: boolean;
  /** a fresh local name */
  fresh(hint: string): string;
}

export interface Body {
  readonly stmts: Stmt[];
  /** how many of the statements are the leading declarations and argument checks */
  readonly head: number;
  /** nodes this body keeps in the module's workspace */
  readonly workspace: readonly number[];
  /** chunk and batch mode: how many sums (the loss, then each scalar gradient) it adds up in workspace.batchSums, if any */
  readonly chunkSums?: number;
}

/** Statements of one exported function's body: `loss`, `gradients`, the batched chunk, or `batchGradients`. */
export function emitBody(ctx: FunctionContext): Body {
  return new BodyEmitter(ctx).emit();
}

/**
 * One function body: the element access and node statements every mode shares, then one method
 * per mode for what it does with the loss and the gradients.
 */
class BodyEmitter {
  private readonly g: Graph;
  private readonly names: ModuleNames;
  private readonly mode: Mode;
  private readonly planned: FunctionPlan;
  private readonly order: readonly number[];
  private readonly placement: ReadonlyMap<number, Placement>;
  /** nodes stored by another node's epilogue */
  private readonly fused: ReadonlySet<number>;
  private readonly batch: boolean;
  private readonly chunk: boolean;
  /** the loop variable over samples (batch), or the chunk's first sample */
  private readonly sample: string;
  /** leaf -> the local holding this sample's offset into it */
  private readonly offsets = new Map<number, string>();
  private readonly gradOf = new Map<number, string[]>();
  /** batch mode: per-sample gradients a kernel adds straight into the caller's sum (node -> param; see addedInPlace) */
  private readonly addedInPlace: ReadonlyMap<number, string>;
  /** param -> the local a gradient is computed straight into (the caller's array) */
  private readonly gradsLocal = new Map<string, string>();
  /** leaves the code reads (a param only a WebAssembly kernel reads, from its staged copy, is not) */
  private readonly readLeaves = new Set<number>();
  private readonly workspace: number[] = [];
  private readonly stagedInputs = new Set<string>();
  /** declarations before the work, and the work */
  private readonly head: Stmt[] = [];
  private readonly body: Stmt[] = [];
  private readonly paramDecls = new Map<number, Stmt>();
  /** the workspace views declared for buffers (dropKernelOnlyLocals removes those only kernels use) */
  private readonly bufferDecls = new Map<number, Stmt>();
  /** gradients a wasm kernel adds into its per-call sum: no buffer of their own here */
  private readonly accumulated: ReadonlySet<number>;
  /** one local for out.grads: re-loading it for every store makes V8 allocate */
  private usesGrads = false;
  /** chunk sums of the loss and the scalar gradients, in a typed array: += on an object field allocates */
  private readonly scalarSlot: ReadonlyMap<string, number>;

  constructor(private readonly ctx: FunctionContext) {
    const g = (this.g = ctx.graph);
    this.names = ctx.names;
    this.mode = ctx.mode;
    this.planned = plan(g, ctx.mode, {
      ...(ctx.mode === "chunk" && ctx.wasm ? { outsideKernels: new Set(ctx.wasm.kernels.keys()) } : {}),
      units: ctx.units === true || ctx.debug !== undefined,
    });
    this.order = this.planned.order;
    this.placement = this.planned.placement;
    this.fused = new Set([...this.planned.epilogues.values()].flat());
    this.batch = ctx.mode === "batch";
    this.chunk = ctx.mode === "chunk";
    this.sample = this.batch ? ctx.fresh("sample") : this.chunk ? "first" : "";
    for (const o of g.grads) this.gradOf.set(o.node, [...(this.gradOf.get(o.node) ?? []), o.param]);
    this.addedInPlace = this.batch ? addedInPlace(g, this.planned.epilogues, ctx.wasm) : new Map();
    this.accumulated = new Set([...(this.chunk ? (ctx.wasm?.accumulators.values() ?? []) : [])].map((a) => a.node));
    this.scalarSlot = new Map(
      g.grads.filter((o) => g.nodes[o.node].shape.length === 0).map((o, k) => [o.param, k + 1]),
    );
  }

  emit(): Body {
    this.declareParams();
    this.declareInputs();
    this.declareBuffers();
    for (const nid of this.order) {
      this.body.push(...this.nodeStmts(nid));
      if (this.ctx.debug) this.body.push(...this.finiteCheck(nid));
    }
    const lossExpr = this.at(this.g.loss, {}, this.body);
    switch (this.mode) {
      case "loss":
        return {
          stmts: [...this.head, ...this.body, { k: "return", e: lossExpr }],
          head: this.head.length,
          workspace: this.workspace,
        };
      case "gradients":
        return this.gradientsBody(lossExpr);
      case "chunk":
        return this.chunkBody(lossExpr);
      case "batch":
        return this.batchBody(lossExpr);
    }
  }

  private local(nid: number): string {
    const s = this.names.local.get(nid);
    if (!s) throw new InternalError(`node %${nid} has no local name`);
    return s;
  }

  // ---- element access ---------------------------------------------------------------------
  private at(nid: number, pos: Pos, prelude: Stmt[]): Expr {
    const n = this.g.nodes[nid];
    const p = this.placement.get(nid);
    switch (p) {
      case "const":
        return num(n.value!);
      case "leaf": {
        this.readLeaves.add(nid);
        if (n.shape.length === 0) return id(this.local(nid));
        const off = this.offsets.get(nid);
        return index(id(this.local(nid)), off ? iadd(id(off), flatAt(pos, n.shape)) : flatAt(pos, n.shape));
      }
      case "scalar":
        return id(this.local(nid));
      case "buffer":
        return index(id(this.local(nid)), flatAt(pos, n.shape));
      case "view": {
        const src = this.g.nodes[n.args[0]];
        // a scalar source is the same everywhere
        if (src.shape.length === 0) return this.at(src.id, {}, prelude);
        const map = viewOf(n.op);
        if (!map) throw new InternalError(`view ${n.op} has no index map`);
        const to = map(
          { idx: () => idxOf(pos, n.shape), flat: () => flatAt(pos, n.shape), flatOnly: !pos.idx && !!pos.flat },
          src.shape,
          n,
        );
        return this.at(src.id, { ...to, ...(pos.strict ? { strict: true } : {}) }, prelude);
      }
      case "inline":
        return this.element(n, pos, prelude);
      default:
        throw new InternalError(`node %${nid} (${n.op}) is not planned`);
    }
  }

  /** One element of an elementwise node, its operands read at the same position. */
  private element(n: Node, pos: Pos, prelude: Stmt[]): Expr {
    const operands = n.args.map((a) => this.at(a, pos, prelude));
    return elementExpr(n.op, operands, (e) => {
      const t = this.ctx.fresh("t");
      prelude.push(decl("const", t, e));
      return id(t);
    });
  }

  /** A loop over every element of `shape`: flat when the body allows it, else one loop per axis. */
  private elementLoop(shape: Shape, body: (pos: Pos, prelude: Stmt[]) => Stmt[]): Stmt[] {
    if (shape.length === 1) {
      const prelude: Stmt[] = [];
      const b = body({ idx: [id("i")], flat: id("i") }, prelude);
      return [loop("i", num(shape[0]), [...prelude, ...b])];
    }
    try {
      const prelude: Stmt[] = [];
      const b = body({ flat: id("i"), strict: true }, prelude);
      return [loop("i", num(size(shape)), [...prelude, ...b])];
    } catch (e) {
      if (!(e instanceof NeedIndex)) throw e;
    }
    const prelude: Stmt[] = [];
    // a matrix keeps its i, j; higher ranks count i0, i1, ...
    const vars = shape.length === 2 ? ["i", "j"] : shape.map((_, k) => elementVar(k));
    const idx = vars.map((v) => id(v));
    const b = body({ idx, flat: linear(idx, shape) }, prelude);
    let stmts: Stmt[] = [...prelude, ...b];
    for (let k = shape.length - 1; k >= 0; k--) stmts = [loop(vars[k], num(shape[k]), stmts)];
    return stmts;
  }

  /** the origin note last written in this body */
  private lastNote: string | undefined;

  /**
   * A node's origin (the source expression it computes), unless the statement before said the
   * same: the partial sums of `w*x + w*x + …` all come from one expression, noted once.
   */
  private comment(n: Node): string | undefined {
    const note = n.origin ? noteOf(n.origin) : undefined;
    if (note === this.lastNote) return undefined;
    this.lastNote = note;
    return note;
  }

  // ---- node statements --------------------------------------------------------------------
  private nodeStmts(nid: number): Stmt[] {
    const n = this.g.nodes[nid];
    const p = this.placement.get(nid)!;
    const info = opInfo(n.op);
    if (p === "const" || p === "leaf" || p === "view" || p === "inline" || this.fused.has(nid)) return [];
    if (info.kind === "elementwise") {
      if (p === "scalar") {
        const prelude: Stmt[] = [];
        const e = this.element(n, {}, prelude);
        return [...prelude, decl("const", this.local(nid), e, this.comment(n))];
      }
      // a buffer: one loop, with single-use elementwise operands fused in
      const stmts = this.elementLoop(n.shape, (pos, prelude) => [
        assign(index(id(this.local(nid)), pos.flat!), this.element(n, pos, prelude)),
      ]);
      return this.withComment(n, this.loopKernel(stmts) ?? stmts);
    }
    if (this.mode === "chunk" && this.ctx.wasm?.kernels.has(nid)) return this.withComment(n, this.wasmCall(n));
    const kernel = kernelOf(n.op);
    if (!kernel) throw new InternalError(`no kernel for op '${n.op}'`);
    const k: KernelCtx = {
      node: n,
      shapeOf: (i) => this.g.nodes[n.args[i]].shape,
      transposed: (i) => swapsLastTwoAxes(this.g.nodes[n.args[i]]),
      at: (i, r, c) => this.at(n.args[i], rowColPos(r, c, this.g.nodes[n.args[i]].shape), []),
      atIdx: (i, idx) => this.at(n.args[i], { idx }, []),
      atFlat: (i, flat) => this.at(n.args[i], { flat }, []),
      outIdx: (idx) => (p === "scalar" ? id(this.local(nid)) : index(id(this.local(nid)), linear(idx, n.shape))),
      out: (r, c) => (p === "scalar" ? id(this.local(nid)) : index(id(this.local(nid)), flatIndex(n.shape, r, c))),
      store: (r, c, value) => {
        const flat = flatIndex(n.shape, r, c);
        const target = p === "scalar" ? id(this.local(nid)) : index(id(this.local(nid)), flat);
        const stmts: Stmt[] = [assign(target, value, this.addedInPlace.has(nid) ? "+=" : undefined)];
        for (const e of this.planned.epilogues.get(nid) ?? []) {
          const prelude: Stmt[] = [];
          const v = this.element(this.g.nodes[e], { ...rowColPos(r, c, n.shape), flat }, prelude);
          stmts.push(...prelude, assign(index(id(this.local(e)), flat), v));
        }
        return stmts;
      },
    };
    const stmts = kernel(k);
    if (p === "scalar") return [decl("let", this.local(nid), num(0), this.comment(n)), { k: "block", body: stmts }];
    const block: Stmt[] = [{ k: "block", body: stmts }];
    return this.withComment(n, this.loopKernel(block) ?? block);
  }

  /** a product as a call into the WebAssembly kernels; input rows of this chunk are staged first */
  private wasmCall(n: Node): Stmt[] {
    const w = this.ctx.wasm!;
    const stmts: Stmt[] = [];
    const offsetOf = (operand: number): Expr => {
      const src = storageOf(this.g, operand).node;
      if (src.op === "param" || src.op === "input") {
        const st = w.staging.get(src.name!)!;
        // an input's rows for this chunk are copied in once, before the first kernel that reads them
        if (src.op === "input" && !this.stagedInputs.has(src.name!)) {
          this.stagedInputs.add(src.name!);
          const view = this.ctx.fresh(`staged_${src.name}`);
          stmts.push(decl("const", view, member(id("workspace"), st.key)));
          // four elements per step: a third faster than one at a time in V8
          const copy = (k: number) =>
            assign(
              index(id(view), iadd(id("i"), num(k))),
              index(id(this.local(src.id)), iadd(id(this.offsets.get(src.id)!), iadd(id("i"), num(k)))),
            );
          const main = st.size - (st.size % 4);
          const copies: Stmt[] = [];
          if (main)
            copies.push({ k: "for", v: "i", from: num(0), to: num(main), step: 4, body: [0, 1, 2, 3].map(copy) });
          if (main < st.size) copies.push(loop("i", num(st.size), [copy(0)], num(main)));
          // a padded last chunk's inputs are written straight into the staging copy (its tail batch)
          if (this.ctx.weighted)
            stmts.push({ k: "if", cond: bin("!==", id(this.local(src.id)), id(view)), body: copies });
          else stmts.push(...copies);
        }
        return num(st.offset);
      }
      return num(w.offsets.get(src.id)!);
    };
    const a = offsetOf(n.args[0]);
    const b = offsetOf(n.args[1]);
    // a padded chunk's samples past `rows` repeat its last real one: their rows are copied, not computed
    const rows = this.ctx.weighted && w.sampleRows.has(n.id) ? [id("rows")] : [];
    const kernel = (offsets: readonly Expr[]): Stmt => ({
      k: "call",
      e: { k: "call", fn: member(id("kernels"), w.kernels.get(n.id)!), args: [...offsets, ...rows] },
    });
    const operands = [a, b, num(w.offsets.get(n.id)!)];
    const batches = w.batches.get(n.id);
    // a batched product: one call per matrix, each operand a step further on
    if (batches) {
      // one loop per batch letter, outermost first: each operand moves by its step for that letter
      const qs = batches.counts.map((_, l) => kernelVar(l));
      const at = (e: Expr, k: number) => qs.reduce((sum, q, l) => iadd(sum, imul(id(q), num(batches.steps[l][k]))), e);
      let body: Stmt[] = [kernel(operands.map(at))];
      for (let l = qs.length - 1; l >= 0; l--) body = [loop(qs[l], num(batches.counts[l]), body)];
      stmts.push(...body);
    } else stmts.push(kernel(operands));
    return stmts;
  }

  /**
   * --target wasm --dtype f32, the chunk function: a node's loops (elementwise, a row's softmax, a
   * reduction) as a call of their SIMD kernel, when they translate (src/emit/wasm/loops.ts);
   * undefined keeps them
   */
  private loopKernel(stmts: readonly Stmt[]): Stmt[] | undefined {
    const sink = this.chunk ? this.ctx.wasm?.loops : undefined;
    if (!sink) return undefined;
    try {
      const k = loopKernel(`${sink.prefix}${sink.kernels.length}`, stmts, this.memoryAddresses());
      sink.kernels.push(k);
      return [{ k: "call", e: call(member(id("kernels"), k.name), ...k.args) }];
    } catch (e) {
      if (e instanceof Untranslatable) return undefined;
      throw e;
    }
  }

  private addresses: Map<string, number> | undefined;
  /** the arrays the chunk reads through views of the kernels' memory: its buffers, and the params staged there */
  private memoryAddresses(): Addresses {
    if (this.addresses) return this.addresses;
    const w = this.ctx.wasm!;
    const a = (this.addresses = new Map<string, number>());
    for (const nid of this.bufferDecls.keys()) {
      const offset = w.offsets.get(nid);
      if (offset !== undefined) a.set(this.local(nid), offset);
    }
    for (const n of this.g.nodes) {
      const st = n.op === "param" ? w.staging.get(n.name!) : undefined;
      const name = this.names.local.get(n.id);
      if (st?.role === "param" && name !== undefined) a.set(name, st.offset);
    }
    return a;
  }

  /** --debug: throw at the first NaN or Inf, naming the node and its source */
  private finiteCheck(nid: number): Stmt[] {
    const n = this.g.nodes[nid];
    const p = this.placement.get(nid);
    if (p !== "scalar" && p !== "buffer") return [];
    // a gradient a wasm kernel adds into its per-call sum has no buffer here; its operands were checked
    if (this.accumulated.has(nid)) return [];
    const what = [num(0), str(this.local(nid)), str(n.origin ? noteOf(n.origin) : n.op), str(this.ctx.debug!(n))];
    const bad = (v: Expr) =>
      ({ k: "un", op: "!", a: { k: "call", fn: member(id("Number"), "isFinite"), args: [v] } }) as Expr;
    const report = (v: Expr, i: Expr) =>
      ({ k: "call", e: { k: "call", fn: id("nonFinite"), args: [what[1], what[2], what[3], v, i] } }) as Stmt;
    if (p === "scalar")
      return [{ k: "if", cond: bad(id(this.local(nid))), body: [report(id(this.local(nid)), num(-1))] }];
    const el = index(id(this.local(nid)), id("i"));
    return [loop("i", num(size(n.shape)), [{ k: "if", cond: bad(el), body: [report(el, id("i"))] }])];
  }

  private withComment(n: Node, stmts: Stmt[]): Stmt[] {
    const c = this.comment(n);
    const name = this.names.local.get(n.id);
    const epilogue = this.planned.epilogues.get(n.id);
    const also = epilogue ? `; then, per element, ${epilogue.map((e) => this.names.local.get(e)).join(", ")}` : "";
    return [{ k: "comment", text: `${name}${c ? ` = ${c}` : ""} : [${n.shape.join(", ")}]${also}` }, ...stmts];
  }

  // ---- the function's arguments and buffers ------------------------------------------------
  private src(l: { name: string }, role: "params" | "inputs"): Expr {
    return member(id((this.batch || this.chunk) && role === "inputs" ? "batch" : role), l.name);
  }

  /** each argument is checked right where it is read (a typeof or instanceof on the local: no second load) */
  private check(role: "params" | "inputs", l: Leaf): Stmt[] {
    const text = this.ctx.checkLeaf && !this.chunk ? this.ctx.checkLeaf(role, l, this.local(l.node)) : "";
    return text ? [{ k: "raw", text }] : [];
  }

  /**
   * A scalar argument is read in a group (consecutive reads print as one destructuring) and
   * checked with the others in one condition; --debug keeps a check per argument, each naming it.
   */
  private grouped(l: Leaf): boolean {
    return l.shape.length === 0 && !this.ctx.debug;
  }

  /** the leaf's local, read from params or inputs, and its check (a grouped scalar's joins `scalars`) */
  private read(role: "params" | "inputs", l: Leaf, scalars: string[]): Stmt[] {
    if (!this.grouped(l)) return [decl("const", this.local(l.node), this.src(l, role)), ...this.check(role, l)];
    scalars.push(this.local(l.node));
    return [{ k: "decl", kind: "const", name: this.local(l.node), init: this.src(l, role), group: true }];
  }

  /** one check of the grouped scalars, after their reads */
  private scalarsCheck(role: "params" | "inputs", scalars: readonly string[]): Stmt[] {
    const text = this.ctx.checkScalars && !this.chunk && scalars.length ? this.ctx.checkScalars(role, scalars) : "";
    return text ? [{ k: "raw", text }] : [];
  }

  private declareParams(): void {
    let scalars: string[] = [];
    for (const l of this.g.params) {
      if (!this.placement.has(l.node)) continue;
      const [d, ...check] = this.read("params", l, scalars);
      this.paramDecls.set(l.node, d);
      this.head.push(d, ...check);
      if (scalars.length === SCALARS_PER_CHECK) {
        this.head.push(...this.scalarsCheck("params", scalars));
        scalars = [];
      }
    }
    this.head.push(...this.scalarsCheck("params", scalars));
  }

  /** a leaf read at an offset that `init` computes (a sample's or a chunk's start), declared where `to` says */
  private offsetLocal(l: Leaf, to: Stmt[], init: Expr, hint = `${l.name}_offset`): void {
    const off = this.ctx.fresh(hint);
    this.offsets.set(l.node, off);
    to.push(decl("const", off, init));
  }

  private declareInputs(): void {
    const { ctx, head, body } = this;
    const scalars: string[] = [];
    for (const l of this.g.inputs) {
      if (!this.placement.has(l.node)) continue;
      const local = this.local(l.node);
      if (this.chunk && l.name === ctx.weighted?.input) {
        // each sample's weight in the loss: 1, or 0 for the padding of a last chunk
        head.push(decl("const", local, id("weights")));
        this.offsetLocal(l, head, num(0), "weights_offset");
      } else if (this.chunk) {
        // a chunk's inputs are [B, ...shape] slices of the batch, starting at sample `first`
        head.push(decl("const", local, this.src(l, "inputs")));
        this.offsetLocal(l, head, imul(id(this.sample), num(size(l.shape) / ctx.chunkSize!)));
      } else if (!this.batch) head.push(...this.read("inputs", l, scalars));
      else if (l.shape.length === 0) {
        const all = ctx.fresh(`${l.name}_batch`);
        head.push(decl("const", all, this.src(l, "inputs")));
        body.push(decl("const", local, index(id(all), id(this.sample))));
      } else {
        head.push(decl("const", local, this.src(l, "inputs")));
        this.offsetLocal(l, body, imul(id(this.sample), num(size(l.shape))));
      }
    }
    head.push(...this.scalarsCheck("inputs", scalars));
  }

  /** buffers: the workspace's, except a gradient computed straight into the caller's array */
  private declareBuffers(): void {
    for (const nid of this.order) {
      if (this.placement.get(nid) !== "buffer" || this.accumulated.has(nid)) continue;
      const params = this.gradOf.get(nid);
      const inPlace = this.addedInPlace.get(nid);
      if (inPlace !== undefined) {
        this.head.push(decl("const", this.local(nid), member(member(id("out"), "grads"), inPlace)));
        continue;
      }
      if (this.mode === "gradients" && params && params.length === 1) {
        this.head.push(decl("const", this.local(nid), member(member(id("out"), "grads"), params[0])));
        this.gradsLocal.set(params[0], this.local(nid));
      } else {
        const d = decl("const", this.local(nid), member(id("workspace"), this.local(nid)));
        this.head.push(d);
        this.bufferDecls.set(nid, d);
        this.workspace.push(nid);
      }
    }
  }

  /**
   * --target wasm: a buffer only kernels read and write (a head's Q, read by Q Kᵀ and written by
   * A Wq, both kernels) lives in the kernels' memory alone, and a param only kernels read (a bias
   * a loop kernel adds from its staged copy) is read there; the chunk function declares neither
   * (an unread local is an error under noUnusedLocals)
   */
  private dropKernelOnlyLocals(body: readonly Stmt[]): void {
    if (!this.ctx.wasm?.kernels.size) return;
    // the code, not the comments that name each node
    const text = printStmts(body)
      .flatMap((l) => l.split("\n"))
      .filter((l) => !l.trimStart().startsWith("//"))
      .join("\n");
    for (const [nid, d] of [...this.bufferDecls, ...this.paramDecls]) {
      const at = this.head.indexOf(d);
      if (at >= 0 && !new RegExp(`(^|[^\\w$])${this.local(nid).replace(/\$/g, "\\$")}([^\\w$]|$)`).test(text))
        this.head.splice(at, 1);
    }
  }

  /** outputs may read leaves too (a gradient equal to an input); what is still unread is dropped */
  private dropUnreadParams(): void {
    for (const [nid, d] of this.paramDecls) if (!this.readLeaves.has(nid)) this.head.splice(this.head.indexOf(d), 1);
  }

  private gradTarget(param: string): Expr {
    this.usesGrads = true;
    return member(id("grads"), param);
  }

  private gradsDecl(): Stmt[] {
    return this.usesGrads ? [decl("const", "grads", member(id("out"), "grads"))] : [];
  }

  /** `dst[i] op= gradient[i]` over a tensor gradient's elements */
  private gradLoop(o: GradOutput, dst: string, op?: "+="): Stmt[] {
    return this.elementLoop(this.g.nodes[o.node].shape, (pos, prelude) => [
      assign(index(id(dst), pos.flat!), this.at(o.node, pos, prelude), op),
    ]);
  }

  // ---- one method per mode -----------------------------------------------------------------
  /** gradients(): the loss and each gradient into `out` */
  private gradientsBody(lossExpr: Expr): Body {
    const { body } = this;
    body.push(assign(member(id("out"), "loss"), lossExpr));
    for (const o of this.g.grads) {
      const n = this.g.nodes[o.node];
      if (n.shape.length === 0) body.push(assign(this.gradTarget(o.param), this.at(o.node, {}, body)));
      else if (this.gradsLocal.get(o.param) !== this.local(o.node) || this.placement.get(o.node) !== "buffer") {
        const dst = this.ctx.fresh(`grad_${o.param}`);
        body.push(decl("const", dst, this.gradTarget(o.param)), ...this.gradLoop(o, dst));
      }
    }
    const head = [...this.head, ...this.gradsDecl()];
    return { stmts: [...head, ...body, { k: "return", e: id("out") }], head: head.length, workspace: this.workspace };
  }

  /** the chunk function: B samples at once; their summed loss and scalar gradients go to the sums, tensors to out */
  private chunkBody(lossExpr: Expr): Body {
    const { ctx, head, body } = this;
    head.push(decl("const", "sums", member(id("workspace"), "batchSums")));
    if (ctx.wasm?.kernels.size) head.push(decl("const", "kernels", call("wasmKernels")));
    body.push(assign(index(id("sums"), num(0)), lossExpr, "+="));
    for (const o of this.g.grads) {
      const n = this.g.nodes[o.node];
      if (n.shape.length === 0)
        body.push(assign(index(id("sums"), num(this.scalarSlot.get(o.param)!)), this.at(o.node, {}, body), "+="));
      else if (ctx.wasm?.accumulators.has(o.param))
        continue; // its kernel already added this chunk into the sum
      else {
        const dst = ctx.fresh(`grad_${o.param}`);
        body.push(decl("const", dst, this.gradTarget(o.param)), ...this.gradLoop(o, dst, "+="));
      }
    }
    this.dropUnreadParams();
    this.dropKernelOnlyLocals(body);
    const decls = [...head, ...this.gradsDecl()];
    return {
      stmts: [...decls, ...body],
      head: decls.length,
      workspace: this.workspace,
      chunkSums: this.scalarSlot.size + 1,
    };
  }

  /** batchGradients(): whole chunks through the chunk function, the rest sample by sample; then divide by n */
  private batchBody(lossExpr: Expr): Body {
    const { ctx, body } = this;
    const start = ctx.fresh("start");
    const pre: Stmt[] = [
      {
        k: "if-throw",
        cond: { k: "un", op: "!", a: bin(">=", id("n"), num(1)) },
        error: "RangeError",
        message: "batchGradients: n must be at least 1",
      },
      decl("let", start, num(0)),
    ];
    // the sums (slot 0: the loss, then each scalar gradient): the chunk function adds into
    // workspace.batchSums; the per-sample loop into locals, or into the same slots when there
    // are more sums than registers to hold them
    this.sumsInLocals = 1 + this.scalarSlot.size <= SUMS_IN_LOCALS;
    if (ctx.chunkSize || !this.sumsInLocals) {
      this.head.push(decl("const", "sums", member(id("workspace"), "batchSums")));
      pre.push({ k: "call", e: call(member(id("sums"), "fill"), num(0)) });
    }
    if (ctx.chunkSize) pre.push(...this.chunkLoop(ctx.chunkSize, start));
    const post: Stmt[] = [decl("const", "scale", bin("/", num(1), id("n")))];
    this.addSum(0, "lossSum", lossExpr, member(id("out"), "loss"), pre, post);
    for (const o of this.g.grads) {
      const n = this.g.nodes[o.node];
      if (n.shape.length === 0)
        this.addSum(
          this.scalarSlot.get(o.param)!,
          `sum_${o.param}`,
          this.at(o.node, {}, body),
          this.gradTarget(o.param),
          pre,
          post,
        );
      else this.batchTensorGrad(o, pre, post);
    }
    return {
      stmts: [
        ...this.head,
        ...this.gradsDecl(),
        ...pre,
        loop(this.sample, id("n"), body, id(start)),
        ...post,
        { k: "return", e: id("out") },
      ],
      head: this.head.length,
      workspace: this.workspace,
      ...(ctx.chunkSize || !this.sumsInLocals ? { chunkSums: this.scalarSlot.size + 1 } : {}),
    };
  }

  /** whether batchGradients' per-sample loop adds its sums up in locals (see SUMS_IN_LOCALS) */
  private sumsInLocals = true;

  /** one sum of the per-sample loop (the loss or a scalar gradient): added up, then its mean stored to `target` */
  private addSum(slot: number, hint: string, value: Expr, target: Expr, pre: Stmt[], post: Stmt[]): void {
    const inSlot = index(id("sums"), num(slot));
    if (!this.sumsInLocals) {
      this.body.push(assign(inSlot, value, "+="));
      post.push(assign(target, bin("*", inSlot, id("scale"))));
      return;
    }
    const local = this.ctx.fresh(hint);
    pre.push(decl("let", local, num(0)));
    this.body.push(assign(id(local), value, "+="));
    const total = this.ctx.chunkSize ? bin("+", inSlot, id(local)) : id(local);
    post.push(assign(target, bin("*", total, id("scale"))));
  }

  private batchTensorGrad(o: GradOutput, pre: Stmt[], post: Stmt[]): void {
    const n = this.g.nodes[o.node];
    const dst = this.ctx.fresh(`grad_${o.param}`);
    const acc = this.ctx.wasm?.accumulators.get(o.param);
    // the chunks add this gradient into a sum in the kernels' memory: the remaining samples add
    // into it too, the kernels scale it in place and one copy moves it into out
    const sum = acc ? this.ctx.fresh(`chunks_${o.param}`) : dst;
    const zero: Stmt = { k: "call", e: call(member(id(sum), "fill"), num(0)) };
    // before the chunk loop, like the other zeroing
    pre.splice(
      1,
      0,
      decl("const", dst, this.gradTarget(o.param)),
      ...(acc ? [decl("const", sum, member(id("workspace"), acc.key))] : []),
      zero,
    );
    // an outer product already added itself into the gradient (addedInPlace)
    if (!this.addedInPlace.has(o.node)) this.body.push(...this.gradLoop(o, sum, "+="));
    if (acc) {
      post.push({
        k: "call",
        e: call(member(call("wasmKernels"), "scale"), num(acc.offset), num(size(n.shape)), id("scale")),
      });
      post.push({ k: "call", e: call(member(id(dst), "set"), id(sum)) });
    } else post.push(loop("i", num(size(n.shape)), [assign(index(id(dst), id("i")), id("scale"), "*=")]));
  }

  /** the statements that run whole chunks (and a padded last one) before the per-sample loop */
  private chunkLoop(B: number, start: string): Stmt[] {
    const { ctx } = this;
    const pre: Stmt[] = [];
    // the WebAssembly kernels read params from their memory: copy them in once per call
    for (const [name, st] of ctx.wasm?.staging ?? []) {
      if (st.role !== "param") continue;
      // whenever a chunk runs: a whole one, a padded last one, or one sample's
      const chunks = ctx.sampleChunk ? 1 : Math.min(B, ctx.weighted?.paddedTailFrom ?? B);
      const copy: Stmt = {
        k: "call",
        e: call(member(member(id("workspace"), st.key), "set"), member(id("params"), name)),
      };
      pre.push({ k: "if", cond: bin(">=", id("n"), num(chunks)), body: [copy] });
    }
    const weights = ctx.weighted ? [id("weights")] : [];
    if (ctx.weighted)
      pre.push(decl("const", "weights", member(id("workspace"), "chunkWeights")), {
        k: "call",
        e: call(member(id("weights"), "fill"), num(1)),
      });
    const run = call(
      "batchChunk",
      id("params"),
      id("batch"),
      id(start),
      id("out"),
      ...weights,
      ...(ctx.weighted ? [num(B)] : []),
    );
    pre.push({ k: "for-chunks", v: start, size: B, body: [{ k: "call", e: run }] });
    // a padded last chunk for two samples or more when there is a one-sample chunk: one sample runs that
    const from =
      ctx.weighted && (ctx.sampleChunk ? Math.max(2, ctx.weighted.paddedTailFrom) : ctx.weighted.paddedTailFrom);
    if (from !== undefined) pre.push(this.paddedTail(B, from, start));
    if (ctx.sampleChunk) {
      const one = call("sampleChunk", id("params"), id("batch"), id(start), id("out"));
      pre.push({ k: "for-chunks", v: start, size: 1, body: [{ k: "call", e: one }] });
    }
    return pre;
  }

  /**
   * the samples past the last whole chunk as one more chunk: copied into the workspace's tail
   * batch, the rows after them repeating the last sample (finite wherever it is), weight 0
   */
  private paddedTail(B: number, from: number, start: string): Stmt {
    const rest = this.ctx.fresh("rest");
    const tail = this.ctx.fresh("tail");
    const copies: Stmt[] = [
      decl("const", rest, bin("-", id("n"), id(start))),
      decl("const", tail, member(id("workspace"), "tailBatch")),
    ];
    for (const l of this.g.inputs) copies.push(...this.tailCopy(l, B, rest, tail, start));
    copies.push({ k: "call", e: call(member(id("weights"), "fill"), num(0), id(rest)) });
    copies.push({
      k: "call",
      e: call("batchChunk", id("params"), id(tail), num(0), id("out"), id("weights"), id(rest)),
    });
    copies.push(assign(id(start), id("n")));
    return { k: "if", cond: bin(">=", bin("-", id("n"), id(start)), num(from)), body: copies };
  }

  /** one input's rows of the padded last chunk: the real ones, then the last real one again */
  private tailCopy(l: Leaf, B: number, rest: string, tail: string, start: string): Stmt[] {
    const per = size(l.shape);
    const all = this.ctx.fresh(`${l.name}_all`);
    const to = this.ctx.fresh(`${l.name}_tail`);
    const last = (k: Expr) => imul(k, num(per));
    const pad: Stmt = {
      k: "call",
      e: call(member(id(to), "copyWithin"), last(id("s")), last(bin("-", id(rest), num(1))), last(id(rest))),
    };
    return [
      decl("const", all, member(id("batch"), l.name)),
      decl("const", to, member(id(tail), l.name)),
      loop("i", imul(id(rest), num(per)), [
        assign(index(id(to), id("i")), index(id(all), iadd(imul(id(start), num(per)), id("i")))),
      ]),
      // the padding: the last real sample again, copied within the tail by the engine
      loop("s", num(B), [pad], id(rest)),
    ];
  }
}

/**
 * batchGradients' per-sample loop: a param's gradient computed by a kernel that can add its
 * result into a sum (addsInPlace: one sample's outer product ∇W = δ xᵀ), read by nothing else, is added
 * into the caller's sum as it is computed — one read-modify-write pass over W's size per sample
 * instead of a store, a load and that pass. Not with --target wasm's kernel-memory sums, which
 * the chunks add into instead.
 */
function addedInPlace(
  g: Graph,
  epilogues: ReadonlyMap<number, readonly number[]>,
  wasm: WasmPlan | undefined,
): Map<number, string> {
  const read = new Set(g.nodes.flatMap((n) => n.args));
  const out = new Map<number, string>();
  for (const o of g.grads) {
    const n = g.nodes[o.node];
    const only = g.grads.filter((x) => x.node === o.node).length === 1;
    if (
      kernelDef(n.op)?.addsInPlace &&
      only &&
      !read.has(n.id) &&
      !epilogues.get(n.id)?.length &&
      !wasm?.accumulators.has(o.param)
    )
      out.set(n.id, o.param);
  }
  return out;
}
