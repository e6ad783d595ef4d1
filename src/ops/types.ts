import type { Expr, Stmt } from "../code/syntax.js";
import type { Shape } from "../shape/shape.js";
import type { Attrs } from "./attrs.js";

/**
 * What one op definition holds (src/ops/<family>.ts; the table in src/ops/index.ts). Every
 * stage reads its op facts from the definition, so an op is added in one place, and the types
 * below make each field required for the ops it applies to: an elementwise op without its
 * forward formula, a view without its index map or a kernel without its loop nest, evaluator,
 * derivative, TeX or batch rule does not compile.
 *
 *   leaf         no operands (param, input, const)
 *   elementwise  operands and result share one shape; per element a scalar formula
 *   view         reads another node's elements through an index map; never materialized
 *   kernel       a loop nest of its own (reductions, products, row-wise softmax, ...)
 */
export type OpKind = "leaf" | "elementwise" | "view" | "kernel";

/** The attribute names a definition may declare (see attrs.ts). */
export type AttrName = keyof Attrs;

/** What an op's rules see of a graph node (the IR's Node has these and more). */
export interface OpNode {
  readonly id: number;
  readonly op: string;
  readonly args: readonly number[];
  readonly shape: Shape;
  readonly target?: Shape;
  readonly attrs?: Attrs;
  readonly origin?: { readonly text: string };
}

export interface NodeOptions {
  value?: number;
  name?: string;
  target?: Shape;
  attrs?: Attrs;
}

/**
 * What derivative and batch rules may do to a graph: the IR builder's interface (ir/build.ts),
 * declared here so that op definitions sit below the IR. Op names are checked when the builder
 * runs (a definition cannot name the table it is part of).
 */
export interface GraphBuilder {
  readonly nodes: readonly OpNode[];
  shape(id: number): Shape;
  node(op: string, args: readonly number[], options?: NodeOptions): number;
  /** an elementwise op on operands of broadcast-compatible shapes */
  elementwise(op: string, args: readonly number[]): number;
  /** x broadcast to `shape` (NumPy rules); x itself when it has it */
  broadcastTo(x: number, shape: Shape): number;
  constant(value: number): number;
}

/** operand shapes (+ the node's target shape and attributes) -> result shape, or undefined if they do not fit */
export type ShapeRule = (args: readonly Shape[], target?: Shape, attrs?: Attrs) => Shape | undefined;
/** products: their FLOPs (a multiply and an add per term of each sum), for cost models and benchmarks */
export type FlopRule = (args: readonly Shape[], target?: Shape, attrs?: Attrs) => number;

/**
 * A derivative that needs the node's attributes (axes, permutation, window, subscripts), as a
 * composition of primitives: the operand's cotangent contribution from the node and g.
 */
export type GradFn = (b: GraphBuilder, n: OpNode, g: number) => number;

/**
 * The reference semantics (the test oracle, src/eval): operand values (row-major Float64Arrays,
 * a scalar has length 1) and shapes -> the result. Written plainly and independently of the
 * emitted loops: the oracle must not share their code.
 */
export type Evaluate = (n: OpNode, args: readonly Float64Array[], shapes: readonly Shape[]) => Float64Array;

/** An operand during batching (batch/vmap.ts): its id in the batched graph, whether it has the leading batch axis, its per-sample shape. */
export interface BatchArg {
  readonly id: number;
  readonly batched: boolean;
  readonly shape: Shape;
}

/**
 * How the op runs on B samples at once, JAX's batching rule: the node and its operands (at least
 * one batched) -> the batched node, whose shape is [B, ...the per-sample shape]. Undefined: no
 * batched form for these operands; the program then runs batchGradients sample by sample.
 */
export type BatchRule = (b: GraphBuilder, n: OpNode, args: readonly BatchArg[], B: number) => number | undefined;

/** What a kernel's loop nest sees: its node, operand element access, and its destination. */
export interface KernelCtx {
  readonly node: OpNode;
  shapeOf(operand: number): Shape;
  /** is operand i a view that swaps its source's last two axes (a transpose; so its rows are its source's columns)? */
  transposed(operand: number): boolean;
  /** element (r, c) of operand `i`, seen as rows x cols (a vector is one row) */
  at(operand: number, r: Expr, c: Expr): Expr;
  /** the destination element (r, c); a scalar result is a local */
  out(r: Expr, c: Expr): Expr;
  /** the final value of element (r, c): stores it, and computes the elementwise ops fused after it (the epilogue) */
  store(r: Expr, c: Expr, value: Expr): Stmt[];
  /** N-D kernels: the element of operand i at a multi-index */
  atIdx(operand: number, idx: readonly Expr[]): Expr;
  /** N-D kernels: the destination element at a multi-index */
  outIdx(idx: readonly Expr[]): Expr;
  /** the element of operand i at a flat row-major index */
  atFlat(operand: number, flat: Expr): Expr;
}

/** An op's LaTeX from its node's attributes and shapes (see Computed.tex). */
export type TexRule = (n: {
  readonly attrs?: Attrs;
  readonly target?: Shape;
  readonly shape: Shape;
  /** the operands' shapes, when known */
  readonly operands?: readonly Shape[];
}) => string;

/** A kernel's emitter form: the statements that fill its destination. */
export type Kernel = (k: KernelCtx) => Stmt[];

/**
 * A view's emitter form: (the view's position, as a multi-index or a flat index on demand; the
 * source's shape; the node) -> the source's position. Asking for a multi-index a flat loop does
 * not have makes the loop nest by axis.
 */
export type ViewMap = (
  /** the element read: its multi-index and flat index; flatOnly when the loop counts the flat index alone (idx() would unravel it) */
  pos: { idx(): readonly Expr[]; flat(): Expr; readonly flatOnly: boolean },
  source: Shape,
  n: OpNode,
) => { idx: readonly Expr[] } | { flat: Expr };

/** Facts every op has. */
interface Common<K extends OpKind> {
  readonly kind: K;
  /** operand names: the rule formulas and the TeX template refer to operands by them */
  readonly args: readonly string[];
  readonly shape: ShapeRule;
  /** the attributes a node of this op carries, every one of them (the builder and verify() check) */
  readonly attrs: readonly AttrName[];
  /** does a node carry its result shape as `target` (broadcast, reshape, slice, ...)? */
  readonly target: boolean;
  /** binary ops with f(a, b) = f(b, a): rewrite patterns match them in either operand order */
  readonly commutative?: true;
  /** linear in each operand, f(c·a, b) = c·f(a, b): a derivation takes a number out of it (Xᵀ(c v) = c Xᵀv) */
  readonly linear?: true;
  /** a broadcast a person writes implicitly (b in Xw + b): a derivation prints it as its operand and makes it no unit */
  readonly implicit?: true;
  /** its values are 0 or 1, 1[a > b]: a derivation reads it with Iverson's convention (1[P] times anything undefined is 0 where P is false) */
  readonly indicator?: true;
  /** ops that read an operand as integer indices: which operand, and the exclusive bound of its values */
  readonly indices?: (args: readonly Shape[], shape: Shape, attrs?: Attrs) => readonly [operand: number, bound: number];
}

/** Facts of every op that computes something (all but the leaves). */
interface Computed<K extends OpKind> extends Common<K> {
  readonly evaluate: Evaluate;
  /**
   * The derivative, like PyTorch's derivatives.yaml: per operand, its cotangent contribution as
   * mathjs text over the operand names, `y` (the result) and `g` (the result's cotangent), or a
   * composition of primitives (GradFn). "0": no dependence. Functions in formulas are ops, plus
   * expand(v, ref) / rowexpand(v, ref) / reduce_to(v, ref), which broadcast or reduce v to ref's shape.
   */
  readonly grads: readonly (string | GradFn)[];
  /** how a derivation writes each derivative (mathjs text): required for GradFn derivatives, and for formulas whose guards a person would not write */
  readonly show?: readonly string[];
  /**
   * how a derivation writes operand i's derivative when it depends on the node's attributes (an
   * einsum's subscripts): LaTeX over {g} and the names of the operands it reads; it means the
   * rule's own derivative (it replaces `show` for that operand)
   */
  readonly showGrad?: (
    n: Parameters<TexRule>[0],
    i: number,
  ) => { readonly tex: string; readonly operands: readonly number[] };
  /**
   * LaTeX of the op applied to its operands ({x}, {a}, ... are the operands); a function of the
   * node for ops whose attributes change what they compute (Σ over axis 1, a slice's window);
   * null: it prints as its operator (+, -, *, /, ^)
   */
  readonly tex: string | TexRule | null;
  /** the batching rule; null: no batched form (programs using it run batchGradients sample by sample) */
  readonly batch: BatchRule | null;
  /** products: their FLOP count; null: not a product (counted as one FLOP per element) */
  readonly flops: FlopRule | null;
}

export type LeafDef = Common<"leaf">;

export interface ElementwiseDef extends Computed<"elementwise"> {
  /** the emitter form: the op on one element, as mathjs text over the operand names (the TS and LaTeX emitters print it) */
  readonly forward: string;
  /** LaTeX of the derivative as the lecture names it (σ'(x)), for one-operand ops */
  readonly prime?: string;
  /** activations: the bound on the derivative, as lecture 4.4 states it ("sigmoid' ≤ 1/4"), for gradc flow */
  readonly bound?: string;
}

export interface ViewDef extends Computed<"view"> {
  readonly view: ViewMap;
}

export interface KernelDef extends Computed<"kernel"> {
  readonly emit: Kernel;
  /**
   * Kernels that produce each output element once, in its final form, through store(): their
   * elementwise consumers run right there (epilogue fusion). (which operands are transposes) ->
   * whether that layout stores final values. Absent: never.
   */
  readonly finalStore?: (transposed: readonly boolean[]) => boolean;
  /**
   * Its emitter writes every output element exactly once, through store(), and never reads the
   * output back, in every layout: a sum can take its stores as += (batchGradients adds a
   * sample's outer product straight into the caller's gradient). Absent: no.
   */
  readonly addsInPlace?: true;
  /** how the kernel was laid out, for --explain-fusion: (which operands are transposes) -> words */
  readonly form?: (transposed: readonly boolean[]) => string;
}

export type OpDef = LeafDef | ElementwiseDef | ViewDef | KernelDef;

/** Definitions are written through these, so each entry is checked against its kind's fields. */
export const view = (d: Omit<ViewDef, "kind">): ViewDef => ({ kind: "view", ...d });
export const kernel = (d: Omit<KernelDef, "kind">): KernelDef => ({ kind: "kernel", ...d });
