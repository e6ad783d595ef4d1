import { InternalError } from "../../diagnostics/error.js";
import { originNote, reachable, type Graph, type Leaf, type Node } from "../../ir/graph.js";
import { opInfo } from "../../ir/ops.js";
import { sameShape, size, type Shape } from "../../shape/shape.js";
import { elementExpr } from "./scalar.js";
import { elementVar, flatOf as flatAt, idxOf, linear, NeedIndex, rowColPos, type Pos } from "./access.js";
import { finalStores, flatIndex, kernelOf, viewOf, type KernelCtx } from "./kernels.js";
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
  str,
  type Expr,
  type Stmt,
} from "./syntax.js";

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

/** How many elementwise ops one fused expression may nest. */
const MAX_INLINE_DEPTH = 32;

/** Which nodes a function computes and where each one lives. */
export function plan(g: Graph, mode: Mode, opts: { outsideKernels?: ReadonlySet<number> } = {}): FunctionPlan {
  const roots = mode === "loss" ? [g.loss] : [g.loss, ...g.grads.map((o) => o.node)];
  const live = reachable(g, roots);
  const uses = new Map<number, number[]>();
  const order: number[] = [];
  for (const n of g.nodes) {
    if (!live[n.id]) continue;
    order.push(n.id);
    for (const a of n.args) uses.set(a, [...(uses.get(a) ?? []), n.id]);
  }
  const outputs = new Set(roots);
  const placement = new Map<number, Placement>();
  const inlineDepth = new Map<number, number>();
  for (const id of order) {
    const n = g.nodes[id];
    const kind = opInfo(n.op).kind;
    let p: Placement;
    if (n.op === "const") p = "const";
    else if (kind === "leaf") p = "leaf";
    else if (kind === "view") p = "view";
    else if (n.shape.length === 0) p = "scalar";
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
    const form = finalStores[n.op];
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
}

export interface FunctionContext {
  readonly graph: Graph;
  readonly names: ModuleNames;
  readonly mode: Mode;
  /** batch mode: the samples per chunk when a batched chunk function exists */
  readonly chunkSize?: number;
  /** --target wasm: matrix products of the chunk function that run as WebAssembly kernels */
  readonly wasm?: WasmPlan;
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
  /** a fresh local name */
  fresh(hint: string): string;
}

export interface Body {
  readonly stmts: Stmt[];
  /** nodes this body keeps in the module's workspace */
  readonly workspace: readonly number[];
  /** chunk mode: how many sums (the loss, then each scalar gradient) it adds up */
  readonly chunkSums?: number;
}

/** Statements of one exported function's body. */
export function emitBody(ctx: FunctionContext): Body {
  const { graph: g, names, mode } = ctx;
  const planned = plan(
    g,
    mode,
    mode === "chunk" && ctx.wasm ? { outsideKernels: new Set(ctx.wasm.kernels.keys()) } : {},
  );
  const order = planned.order;
  const placement = planned.placement;
  const fused = new Set([...planned.epilogues.values()].flat());
  const local = (nid: number) => {
    const s = names.local.get(nid);
    if (!s) throw new InternalError(`node %${nid} has no local name`);
    return s;
  };
  const batch = mode === "batch";
  const chunk = mode === "chunk";
  const sample = batch ? ctx.fresh("sample") : chunk ? "first" : "";
  const offsets = new Map<number, string>();
  const gradOf = new Map<number, string[]>();
  for (const o of g.grads) gradOf.set(o.node, [...(gradOf.get(o.node) ?? []), o.param]);
  const gradsLocal = new Map<string, string>();
  /** leaves the code reads (a param only a WebAssembly kernel reads, from its staged copy, is not) */
  const readLeaves = new Set<number>();
  const workspace: number[] = [];

  // ---- element access ---------------------------------------------------------------------
  function at(nid: number, pos: Pos, prelude: Stmt[]): Expr {
    const n = g.nodes[nid];
    const p = placement.get(nid);
    switch (p) {
      case "const":
        return num(n.value!);
      case "leaf": {
        readLeaves.add(nid);
        if (n.shape.length === 0) return id(local(nid));
        const off = offsets.get(nid);
        return index(id(local(nid)), off ? iadd(id(off), flatAt(pos, n.shape)) : flatAt(pos, n.shape));
      }
      case "scalar":
        return id(local(nid));
      case "buffer":
        return index(id(local(nid)), flatAt(pos, n.shape));
      case "view": {
        const src = g.nodes[n.args[0]];
        // a scalar source is the same everywhere
        if (src.shape.length === 0) return at(src.id, {}, prelude);
        const map = viewOf(n.op);
        if (!map) throw new InternalError(`view ${n.op} has no index map`);
        const to = map({ idx: () => idxOf(pos, n.shape), flat: () => flatAt(pos, n.shape) }, src.shape, n);
        return at(src.id, { ...to, ...(pos.strict ? { strict: true } : {}) }, prelude);
      }
      case "inline":
        return element(n, pos, prelude);
      default:
        throw new InternalError(`node %${nid} (${n.op}) is not planned`);
    }
  }

  /** One element of an elementwise node, its operands read at the same position. */
  function element(n: Node, pos: Pos, prelude: Stmt[]): Expr {
    const operands = n.args.map((a) => at(a, pos, prelude));
    return elementExpr(n.op, operands, (e) => {
      const t = ctx.fresh("t");
      prelude.push(decl("const", t, e));
      return id(t);
    });
  }

  /** A loop over every element of `shape`: flat when the body allows it, else one loop per axis. */
  function elementLoop(shape: Shape, body: (pos: Pos, prelude: Stmt[]) => Stmt[]): Stmt[] {
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

  function comment(n: Node): string | undefined {
    return n.origin ? originNote(n.origin.text) : undefined;
  }

  // ---- node statements --------------------------------------------------------------------
  function nodeStmts(nid: number): Stmt[] {
    const n = g.nodes[nid];
    const p = placement.get(nid)!;
    const info = opInfo(n.op);
    if (p === "const" || p === "leaf" || p === "view" || p === "inline" || fused.has(nid)) return [];
    if (info.kind === "elementwise") {
      if (p === "scalar") {
        const prelude: Stmt[] = [];
        const e = element(n, {}, prelude);
        return [...prelude, decl("const", local(nid), e, comment(n))];
      }
      // a buffer: one loop, with single-use elementwise operands fused in
      const stmts = elementLoop(n.shape, (pos, prelude) => [
        assign(index(id(local(nid)), pos.flat!), element(n, pos, prelude)),
      ]);
      return withComment(n, stmts);
    }
    if (mode === "chunk" && ctx.wasm?.kernels.has(nid)) return withComment(n, wasmCall(n));
    const kernel = kernelOf(n.op);
    if (!kernel) throw new InternalError(`no kernel for op '${n.op}'`);
    const k: KernelCtx = {
      node: n,
      shapeOf: (i) => g.nodes[n.args[i]].shape,
      transposed: (i) => g.nodes[n.args[i]].op === "transpose",
      at: (i, r, c) => at(n.args[i], rowColPos(r, c, g.nodes[n.args[i]].shape), []),
      atIdx: (i, idx) => at(n.args[i], { idx }, []),
      atFlat: (i, flat) => at(n.args[i], { flat }, []),
      outIdx: (idx) => (p === "scalar" ? id(local(nid)) : index(id(local(nid)), linear(idx, n.shape))),
      out: (r, c) => (p === "scalar" ? id(local(nid)) : index(id(local(nid)), flatIndex(n.shape, r, c))),
      store: (r, c, value) => {
        const flat = flatIndex(n.shape, r, c);
        const stmts: Stmt[] = [assign(p === "scalar" ? id(local(nid)) : index(id(local(nid)), flat), value)];
        for (const e of planned.epilogues.get(nid) ?? []) {
          const prelude: Stmt[] = [];
          const v = element(g.nodes[e], { ...rowColPos(r, c, n.shape), flat }, prelude);
          stmts.push(...prelude, assign(index(id(local(e)), flat), v));
        }
        return stmts;
      },
    };
    const body = kernel(k);
    if (p === "scalar") return [decl("let", local(nid), num(0), comment(n)), { k: "block", body }];
    return withComment(n, [{ k: "block", body }]);
  }

  const stagedInputs = new Set<string>();
  /** a product as a call into the WebAssembly kernels; input rows of this chunk are staged first */
  function wasmCall(n: Node): Stmt[] {
    const w = ctx.wasm!;
    const stmts: Stmt[] = [];
    const offsetOf = (operand: number): Expr => {
      const o = g.nodes[operand];
      const src = o.op === "transpose" ? g.nodes[o.args[0]] : o;
      if (src.op === "param" || src.op === "input") {
        const st = w.staging.get(src.name!)!;
        // an input's rows for this chunk are copied in once, before the first kernel that reads them
        if (src.op === "input" && !stagedInputs.has(src.name!)) {
          stagedInputs.add(src.name!);
          const view = ctx.fresh(`staged_${src.name}`);
          stmts.push(decl("const", view, member(id("workspace"), st.key)));
          // four elements per step: a third faster than one at a time in V8
          const copy = (k: number) =>
            assign(
              index(id(view), iadd(id("i"), num(k))),
              index(id(local(src.id)), iadd(id(offsets.get(src.id)!), iadd(id("i"), num(k)))),
            );
          const main = st.size - (st.size % 4);
          const copies: Stmt[] = [];
          if (main)
            copies.push({ k: "for", v: "i", from: num(0), to: num(main), step: 4, body: [0, 1, 2, 3].map(copy) });
          if (main < st.size) copies.push(loop("i", num(st.size), [copy(0)], num(main)));
          // a padded last chunk's inputs are written straight into the staging copy (its tail batch)
          if (ctx.weighted) stmts.push({ k: "if", cond: bin("!==", id(local(src.id)), id(view)), body: copies });
          else stmts.push(...copies);
        }
        return num(st.offset);
      }
      return num(w.offsets.get(src.id)!);
    };
    const a = offsetOf(n.args[0]);
    const b = offsetOf(n.args[1]);
    // a padded chunk's samples past `rows` repeat its last real one: their rows are copied, not computed
    const rows = ctx.weighted && w.sampleRows.has(n.id) ? [id("rows")] : [];
    stmts.push({
      k: "call",
      e: {
        k: "call",
        fn: member(id("kernels"), w.kernels.get(n.id)!),
        args: [a, b, num(w.offsets.get(n.id)!), ...rows],
      },
    });
    return stmts;
  }

  /** --debug: throw at the first NaN or Inf, naming the node and its source */
  function finiteCheck(nid: number): Stmt[] {
    const n = g.nodes[nid];
    const p = placement.get(nid);
    if (p !== "scalar" && p !== "buffer") return [];
    // a gradient a wasm kernel adds into its per-call sum has no buffer here; its operands were checked
    if (accumulated.has(nid)) return [];
    const what = [num(0), str(local(nid)), str(n.origin ? originNote(n.origin.text) : n.op), str(ctx.debug!(n))];
    const bad = (v: Expr) =>
      ({ k: "un", op: "!", a: { k: "call", fn: member(id("Number"), "isFinite"), args: [v] } }) as Expr;
    const report = (v: Expr, i: Expr) =>
      ({ k: "call", e: { k: "call", fn: id("nonFinite"), args: [what[1], what[2], what[3], v, i] } }) as Stmt;
    if (p === "scalar") return [{ k: "if", cond: bad(id(local(nid))), body: [report(id(local(nid)), num(-1))] }];
    const el = index(id(local(nid)), id("i"));
    return [loop("i", num(size(n.shape)), [{ k: "if", cond: bad(el), body: [report(el, id("i"))] }])];
  }

  function withComment(n: Node, stmts: Stmt[]): Stmt[] {
    const c = comment(n);
    const name = names.local.get(n.id);
    const epilogue = planned.epilogues.get(n.id);
    const also = epilogue ? `; then, per element, ${epilogue.map((e) => names.local.get(e)).join(", ")}` : "";
    return [{ k: "comment", text: `${name}${c ? ` = ${c}` : ""} : [${n.shape.join(", ")}]${also}` }, ...stmts];
  }

  // ---- the function ------------------------------------------------------------------------
  const head: Stmt[] = [];
  const body: Stmt[] = [];
  const src = (l: { name: string }, role: "params" | "inputs") =>
    member(id((batch || chunk) && role === "inputs" ? "batch" : role), l.name);

  const paramDecls = new Map<number, Stmt>();
  // each argument is checked right where it is read (a typeof or instanceof on the local: no second load)
  const check = (role: "params" | "inputs", l: Leaf): Stmt[] => {
    const text = ctx.checkLeaf && !chunk ? ctx.checkLeaf(role, l, local(l.node)) : "";
    return text ? [{ k: "raw", text }] : [];
  };
  for (const l of g.params) {
    if (!placement.has(l.node)) continue;
    const d = decl("const", local(l.node), src(l, "params"));
    paramDecls.set(l.node, d);
    head.push(d, ...check("params", l));
  }
  for (const l of g.inputs) {
    if (!placement.has(l.node)) continue;
    if (chunk && l.name === ctx.weighted?.input) {
      // each sample's weight in the loss: 1, or 0 for the padding of a last chunk
      head.push(decl("const", local(l.node), id("weights")));
      const off = ctx.fresh("weights_offset");
      offsets.set(l.node, off);
      head.push(decl("const", off, num(0)));
    } else if (chunk) {
      // a chunk's inputs are [B, ...shape] slices of the batch, starting at sample `first`
      head.push(decl("const", local(l.node), src(l, "inputs")));
      const off = ctx.fresh(`${l.name}_offset`);
      offsets.set(l.node, off);
      head.push(decl("const", off, imul(id(sample), num(size(l.shape) / ctx.chunkSize!))));
    } else if (!batch) head.push(decl("const", local(l.node), src(l, "inputs")), ...check("inputs", l));
    else if (l.shape.length === 0) {
      const all = ctx.fresh(`${l.name}_batch`);
      head.push(decl("const", all, src(l, "inputs")));
      body.push(decl("const", local(l.node), index(id(all), id(sample))));
    } else {
      head.push(decl("const", local(l.node), src(l, "inputs")));
      const off = ctx.fresh(`${l.name}_offset`);
      offsets.set(l.node, off);
      body.push(decl("const", off, imul(id(sample), num(size(l.shape)))));
    }
  }
  // buffers: the workspace's, except a gradient computed straight into the caller's array
  const accumulated = new Set([...(chunk ? (ctx.wasm?.accumulators.values() ?? []) : [])].map((a) => a.node));
  for (const nid of order) {
    // a gradient a wasm kernel adds into its per-call sum has no buffer of its own here
    if (placement.get(nid) !== "buffer" || accumulated.has(nid)) continue;
    const params = gradOf.get(nid);
    if (mode === "gradients" && params && params.length === 1) {
      head.push(decl("const", local(nid), member(member(id("out"), "grads"), params[0])));
      gradsLocal.set(params[0], local(nid));
    } else {
      head.push(decl("const", local(nid), member(id("workspace"), local(nid))));
      workspace.push(nid);
    }
  }

  for (const nid of order) {
    body.push(...nodeStmts(nid));
    if (ctx.debug) body.push(...finiteCheck(nid));
  }
  // outputs may read leaves too (a gradient equal to an input); what is still unread is dropped
  const unreadParams = () => {
    for (const [nid, d] of paramDecls) if (!readLeaves.has(nid)) head.splice(head.indexOf(d), 1);
  };

  const lossExpr = at(g.loss, {}, body);
  if (mode === "loss") return { stmts: [...head, ...body, { k: "return", e: lossExpr }], workspace };

  // one local for out.grads: re-loading it for every store makes V8 allocate
  let usesGrads = false;
  const gradTarget = (param: string) => {
    usesGrads = true;
    return member(id("grads"), param);
  };
  const gradsDecl = (): Stmt[] => (usesGrads ? [decl("const", "grads", member(id("out"), "grads"))] : []);
  /** chunk sums of the loss and the scalar gradients, in a typed array: += on an object field allocates */
  const scalarSlot = new Map(g.grads.filter((o) => g.nodes[o.node].shape.length === 0).map((o, k) => [o.param, k + 1]));
  if (mode === "gradients") {
    body.push(assign(member(id("out"), "loss"), lossExpr));
    for (const o of g.grads) {
      const n = g.nodes[o.node];
      if (n.shape.length === 0) body.push(assign(gradTarget(o.param), at(o.node, {}, body)));
      else if (gradsLocal.get(o.param) !== local(o.node) || placement.get(o.node) !== "buffer") {
        const dst = ctx.fresh(`grad_${o.param}`);
        body.push(decl("const", dst, gradTarget(o.param)));
        body.push(
          ...elementLoop(n.shape, (pos, prelude) => [assign(index(id(dst), pos.flat!), at(o.node, pos, prelude))]),
        );
      }
    }
    return { stmts: [...head, ...gradsDecl(), ...body, { k: "return", e: id("out") }], workspace };
  }

  if (chunk) {
    // B samples at once: add their summed loss and scalar gradients to the sums, tensors to out
    head.push(decl("const", "sums", member(id("workspace"), "chunkSums")));
    if (ctx.wasm?.kernels.size) head.push(decl("const", "kernels", call("wasmKernels")));
    body.push(assign(index(id("sums"), num(0)), lossExpr, "+="));
    for (const o of g.grads) {
      const n = g.nodes[o.node];
      if (n.shape.length === 0)
        body.push(assign(index(id("sums"), num(scalarSlot.get(o.param)!)), at(o.node, {}, body), "+="));
      else if (ctx.wasm?.accumulators.has(o.param))
        continue; // its kernel already added this chunk into the sum
      else {
        const dst = ctx.fresh(`grad_${o.param}`);
        body.push(decl("const", dst, gradTarget(o.param)));
        body.push(
          ...elementLoop(n.shape, (pos, prelude) => [
            assign(index(id(dst), pos.flat!), at(o.node, pos, prelude), "+="),
          ]),
        );
      }
    }
    unreadParams();
    return { stmts: [...head, ...gradsDecl(), ...body], workspace, chunkSums: scalarSlot.size + 1 };
  }

  // batch: whole chunks through the batched function, the rest sample by sample; then divide by n
  const lossSum = ctx.fresh("lossSum");
  const start = ctx.fresh("start");
  const pre: Stmt[] = [
    {
      k: "if-throw",
      cond: { k: "un", op: "!", a: bin(">=", id("n"), num(1)) },
      error: "RangeError",
      message: "batchGradients: n must be at least 1",
    },
    decl("let", lossSum, num(0)),
    decl("let", start, num(0)),
  ];
  const sumsOf = (slot: number): Expr => (ctx.chunkSize ? index(id("sums"), num(slot)) : num(0));
  if (ctx.chunkSize) {
    head.push(decl("const", "sums", member(id("workspace"), "chunkSums")));
    // the WebAssembly kernels read params from their memory: copy them in once per call
    for (const [name, st] of ctx.wasm?.staging ?? []) {
      if (st.role !== "param") continue;
      // whenever a chunk runs: a whole one, or a padded last one
      const chunks = Math.min(ctx.chunkSize, ctx.weighted?.paddedTailFrom ?? ctx.chunkSize);
      pre.push({
        k: "if",
        cond: bin(">=", id("n"), num(chunks)),
        body: [
          {
            k: "call",
            e: { k: "call", fn: member(member(id("workspace"), st.key), "set"), args: [member(id("params"), name)] },
          },
        ],
      });
    }
    pre.push({ k: "call", e: { k: "call", fn: member(id("sums"), "fill"), args: [num(0)] } });
    const weights = ctx.weighted ? [id("weights")] : [];
    if (ctx.weighted)
      pre.push(decl("const", "weights", member(id("workspace"), "chunkWeights")), {
        k: "call",
        e: call(member(id("weights"), "fill"), num(1)),
      });
    pre.push({
      k: "for-chunks",
      v: start,
      size: ctx.chunkSize,
      body: [
        {
          k: "call",
          e: call(
            "batchChunk",
            id("params"),
            id("batch"),
            id(start),
            id("out"),
            ...weights,
            ...(ctx.weighted ? [num(ctx.chunkSize)] : []),
          ),
        },
      ],
    });
    if (ctx.weighted) pre.push(paddedTail(ctx.chunkSize, ctx.weighted.paddedTailFrom));
  }
  /**
   * the samples past the last whole chunk as one more chunk: copied into the workspace's tail
   * batch, the rows after them repeating the last sample (finite wherever it is), weight 0
   */
  function paddedTail(B: number, from: number): Stmt {
    const rest = ctx.fresh("rest");
    const tail = ctx.fresh("tail");
    const copies: Stmt[] = [
      decl("const", rest, bin("-", id("n"), id(start))),
      decl("const", tail, member(id("workspace"), "tailBatch")),
    ];
    for (const l of g.inputs) {
      const per = size(l.shape);
      const all = ctx.fresh(`${l.name}_all`);
      const to = ctx.fresh(`${l.name}_tail`);
      copies.push(decl("const", all, member(id("batch"), l.name)), decl("const", to, member(id(tail), l.name)));
      copies.push(
        loop("i", imul(id(rest), num(per)), [
          assign(index(id(to), id("i")), index(id(all), iadd(imul(id(start), num(per)), id("i")))),
        ]),
      );
      // the padding: the last real sample again, copied within the tail by the engine
      const last = (k: Expr) => imul(k, num(per));
      copies.push(
        loop(
          "s",
          num(B),
          [
            {
              k: "call",
              e: call(member(id(to), "copyWithin"), last(id("s")), last(bin("-", id(rest), num(1))), last(id(rest))),
            },
          ],
          id(rest),
        ),
      );
    }
    copies.push({ k: "call", e: call(member(id("weights"), "fill"), num(0), id(rest)) });
    copies.push({
      k: "call",
      e: call("batchChunk", id("params"), id(tail), num(0), id("out"), id("weights"), id(rest)),
    });
    copies.push(assign(id(start), id("n")));
    return { k: "if", cond: bin(">=", bin("-", id("n"), id(start)), num(from)), body: copies };
  }
  const post: Stmt[] = [
    decl("const", "scale", bin("/", num(1), id("n"))),
    assign(member(id("out"), "loss"), bin("*", bin("+", sumsOf(0), id(lossSum)), id("scale"))),
  ];
  body.push(assign(id(lossSum), lossExpr, "+="));
  for (const o of g.grads) {
    const n = g.nodes[o.node];
    if (n.shape.length === 0) {
      const a = ctx.fresh(`sum_${o.param}`);
      pre.push(decl("let", a, num(0)));
      body.push(assign(id(a), at(o.node, {}, body), "+="));
      post.push(assign(gradTarget(o.param), bin("*", bin("+", sumsOf(scalarSlot.get(o.param)!), id(a)), id("scale"))));
    } else {
      const dst = ctx.fresh(`grad_${o.param}`);
      const acc = ctx.wasm?.accumulators.get(o.param);
      // the chunks add this gradient into a sum in the kernels' memory: the remaining samples add
      // into it too, the kernels scale it in place and one copy moves it into out
      const sum = acc ? ctx.fresh(`chunks_${o.param}`) : dst;
      const zero: Stmt = { k: "call", e: { k: "call", fn: member(id(sum), "fill"), args: [num(0)] } };
      // before the chunk loop, like the other zeroing
      pre.splice(
        1,
        0,
        decl("const", dst, gradTarget(o.param)),
        ...(acc ? [decl("const", sum, member(id("workspace"), acc.key))] : []),
        zero,
      );
      body.push(
        ...elementLoop(n.shape, (pos, prelude) => [assign(index(id(sum), pos.flat!), at(o.node, pos, prelude), "+=")]),
      );
      if (acc) {
        post.push({
          k: "call",
          e: {
            k: "call",
            fn: member(call("wasmKernels"), "scale"),
            args: [num(acc.offset), num(size(n.shape)), id("scale")],
          },
        });
        post.push({ k: "call", e: { k: "call", fn: member(id(dst), "set"), args: [id(sum)] } });
      } else post.push(loop("i", num(size(n.shape)), [assign(index(id(dst), id("i")), id("scale"), "*=")]));
    }
  }
  return {
    stmts: [
      ...head,
      ...gradsDecl(),
      ...pre,
      loop(sample, id("n"), body, id(start)),
      ...post,
      { k: "return", e: id("out") },
    ],
    workspace,
  };
}
