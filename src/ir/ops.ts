import { contractFlops, contractShape } from "../shape/contract.js";
import {
  broadcastsTo,
  dropLast,
  matmulShape,
  permutedShape,
  reducedShape,
  sameShape,
  size,
  windowFits,
  type Shape,
} from "../shape/shape.js";
import type { Attrs } from "./attrs.js";

/**
 * The only list of IR ops. Format: name -> { args: operand names (used by the rule table's
 * formulas), kind, shape: operand shapes (+ target shape for ops that carry one) -> result
 * shape, or undefined if the operands do not fit }.
 *   leaf         no operands (param, input, const)
 *   elementwise  operands and result share one shape; per element a scalar formula
 *   view         reads another node's elements through an index map; never materialized
 *   kernel       a loop nest of its own (reductions, matmuls, row-wise softmax)
 */
export type OpKind = "leaf" | "elementwise" | "view" | "kernel";

export interface OpInfo {
  readonly args: readonly string[];
  readonly kind: OpKind;
  /** Ops that carry a target shape (broadcast, reshape, ...) get it as `target`; the generic primitives read `attrs`. */
  readonly shape: (args: readonly Shape[], target?: Shape, attrs?: Attrs) => Shape | undefined;
  /** products: their FLOPs (a multiply and an add per term of each sum), for cost models and benchmarks */
  readonly flops?: (args: readonly Shape[], target?: Shape, attrs?: Attrs) => number;
  /** binary ops with f(a, b) = f(b, a): rewrite patterns match them in either operand order */
  readonly commutative?: true;
  /** ops that read an operand as integer indices: which operand, and the exclusive bound of its values */
  readonly indices?: (args: readonly Shape[], shape: Shape, attrs?: Attrs) => readonly [operand: number, bound: number];
}

const same1 = (a: readonly Shape[]) => a[0];
const same2 = (a: readonly Shape[]) => (sameShape(a[0], a[1]) ? a[0] : undefined);
const unary: OpInfo = { args: ["x"], kind: "elementwise", shape: same1 };
const binary: OpInfo = { args: ["a", "b"], kind: "elementwise", shape: same2 };
const commutative: OpInfo = { ...binary, commutative: true };
const leaf: OpInfo = { args: [], kind: "leaf", shape: () => undefined };
const rows = (s: Shape) => (s.length >= 1 ? dropLast(s) : undefined);

export const ops = {
  param: leaf,
  input: leaf,
  const: leaf,

  neg: unary,
  exp: unary,
  log: unary,
  sqrt: unary,
  abs: unary,
  sin: unary,
  cos: unary,
  tan: unary,
  tanh: unary,
  sigmoid: unary,
  relu: unary,
  softplus: unary,
  /** 1 where x > 0, else 0 (relu's derivative) */
  step: unary,
  sign: unary,
  log1p: unary,
  expm1: unary,
  erf: unary,

  add: commutative,
  sub: binary,
  mul: commutative,
  div: binary,
  pow: binary,
  max: commutative,
  min: commutative,
  /** 1 where a >= b, else 0 (selects max/min's branch) */
  ge: binary,
  /** 1 where a > b, else 0 */
  gt: binary,
  /** 1 where a == b, else 0 */
  eq: commutative,
  /** 0 where g is exactly 0, else v: a zero cotangent contributes zero even where v is 0 * Inf */
  guard: binary,
  /** a where c > 0, else b: picks a branch, so an infinite or NaN untaken branch cannot leak */
  select: {
    args: ["c", "a", "b"],
    kind: "elementwise",
    shape: (a) => (sameShape(a[0], a[1]) && sameShape(a[1], a[2]) ? a[0] : undefined),
  },

  /** NumPy broadcast of x to `target` */
  broadcast: { args: ["x"], kind: "view", shape: (a, t) => (t && broadcastsTo(a[0], t) ? t : undefined) },
  /** each row of `target` filled with one element of v: [m] -> [m, n], scalar -> [n] */
  rowbcast: {
    args: ["v"],
    kind: "view",
    shape: (a, t) => (t && t.length >= 1 && sameShape(dropLast(t), a[0]) ? t : undefined),
  },
  transpose: { args: ["x"], kind: "view", shape: (a) => (a[0].length === 2 ? [a[0][1], a[0][0]] : undefined) },

  /** sum of all elements -> scalar */
  sum: { args: ["x"], kind: "kernel", shape: (a) => (a[0].length >= 1 ? [] : undefined) },
  /** sum along the last axis */
  rowsum: { args: ["x"], kind: "kernel", shape: (a) => rows(a[0]) },
  /** sum x down to `target`, the inverse of broadcast */
  reduce_to: {
    args: ["x"],
    kind: "kernel",
    shape: (a, t) => (t && broadcastsTo(t, a[0]) && !sameShape(t, a[0]) ? t : undefined),
  },
  matvec: {
    args: ["A", "x"],
    kind: "kernel",
    shape: (a) => (a[0].length === 2 && a[1].length === 1 ? matmulShape(a[0], a[1]) : undefined),
    flops: (a) => 2 * a[0][0] * a[0][1],
  },
  vecmat: {
    args: ["x", "B"],
    kind: "kernel",
    shape: (a) => (a[0].length === 1 && a[1].length === 2 ? matmulShape(a[0], a[1]) : undefined),
    flops: (a) => 2 * a[1][0] * a[1][1],
  },
  matmul: {
    args: ["A", "B"],
    kind: "kernel",
    shape: (a) => (a[0].length === 2 && a[1].length === 2 ? matmulShape(a[0], a[1]) : undefined),
    flops: (a) => 2 * a[0][0] * a[0][1] * a[1][1],
  },
  // (one multiply per element, no sum)
  outer: {
    args: ["a", "b"],
    kind: "kernel",
    shape: (a) => (a[0].length === 1 && a[1].length === 1 ? [a[0][0], a[1][0]] : undefined),
    flops: (a) => a[0][0] * a[1][0],
  },
  dot: {
    args: ["a", "b"],
    kind: "kernel",
    shape: (a) => (a[0].length === 1 && sameShape(a[0], a[1]) ? [] : undefined),
    flops: (a) => 2 * a[0][0],
  },
  softmax: { args: ["x"], kind: "kernel", shape: (a) => (a[0].length >= 1 ? a[0] : undefined) },
  log_softmax: { args: ["x"], kind: "kernel", shape: (a) => (a[0].length >= 1 ? a[0] : undefined) },
  logsumexp: { args: ["x"], kind: "kernel", shape: (a) => rows(a[0]) },
  /** softmax cross-entropy per row: logsumexp(z) - sum(t * z) (= -sum(t * log softmax(z)) when t sums to 1) */
  sce: {
    args: ["z", "t"],
    kind: "kernel",
    shape: (a) => (a[0].length >= 1 && sameShape(a[0], a[1]) ? dropLast(a[0]) : undefined),
  },

  // ---- the axis-generic primitives (any rank; attributes in Attrs) -----------------------------
  /** sum over attrs.axes (reduced away) */
  reduce_sum: { args: ["x"], kind: "kernel", shape: (a, _t, at) => reducedShape(a[0], at?.axes) },
  /** max over attrs.axes */
  reduce_max: { args: ["x"], kind: "kernel", shape: (a, _t, at) => reducedShape(a[0], at?.axes) },
  /** min over attrs.axes */
  reduce_min: { args: ["x"], kind: "kernel", shape: (a, _t, at) => reducedShape(a[0], at?.axes) },
  /** result axis k is operand axis attrs.perm[k] */
  permute: {
    args: ["x"],
    kind: "view",
    shape: (a, _t, at) => (a[0].length >= 2 ? permutedShape(a[0], at?.perm) : undefined),
  },
  /** the same elements in row-major order, shaped `target` */
  reshape: {
    args: ["x"],
    kind: "view",
    shape: (a, t) => (t && size(t) === size(a[0]) && !sameShape(t, a[0]) ? t : undefined),
  },
  /** result index i reads operand index starts + steps * i on each axis; shaped `target` */
  slice: {
    args: ["x"],
    kind: "view",
    shape: (a, t, at) => (windowFits(a[0], t, at?.starts, at?.steps) ? t : undefined),
  },
  /** zeros of shape `target`, with operand index i written at starts + steps * i (slice's transpose) */
  pad: {
    args: ["x"],
    kind: "kernel",
    shape: (a, t, at) => (t && windowFits(t, a[0], at?.starts, at?.steps) ? t : undefined),
  },
  /** einsum of one operand (attrs.spec, result shaped `target`): diagonals, sums, broadcasts */
  contract1: {
    args: ["x"],
    kind: "kernel",
    shape: (a, t, at) => contractShape(at?.spec, a, t),
    flops: (a, t, at) => contractFlops(at!.spec!, a, t!),
  },
  /** einsum of two operands (attrs.spec, result shaped `target`): every product of any rank */
  contract2: {
    args: ["a", "b"],
    kind: "kernel",
    shape: (a, t, at) => contractShape(at?.spec, a, t),
    flops: (a, t, at) => contractFlops(at!.spec!, a, t!),
  },
  /** NumPy take: x's axis attrs.axis indexed by the integers `ids` (any rank) */
  gather: {
    args: ["x", "ids"],
    kind: "kernel",
    shape: (a, _t, at) => takeShape(a[0], a[1], at?.axis),
    indices: (a, _s, at) => [1, a[0][at!.axis!]],
  },
  /** gather's transpose: zeros of shape `target`, each slice of g added at its index along attrs.axis (repeats accumulate) */
  scatter_add: {
    args: ["g", "ids"],
    kind: "kernel",
    shape: (a, t, at) =>
      t && at?.axis !== undefined && sameShape(takeShape(t, a[1], at.axis) ?? [-1], a[0]) ? t : undefined,
    indices: (_a, s, at) => [1, s[at!.axis!]],
  },
  /** 1 at [..., labels[...]] of a last axis of length target's last, 0 elsewhere */
  one_hot: {
    args: ["labels"],
    kind: "kernel",
    shape: (a, t) => (t && t.length === a[0].length + 1 && sameShape(t.slice(0, -1), a[0]) ? t : undefined),
    indices: (_a, s) => [0, s[s.length - 1]],
  },
  /** the index along attrs.axis at every element of `target` (arange, eye, tril masks) */
  iota: {
    args: [],
    kind: "kernel",
    shape: (_a, t, at) => (t && at?.axis !== undefined && at.axis >= 0 && at.axis < t.length ? t : undefined),
  },
} as const satisfies Record<string, OpInfo>;

export type Op = keyof typeof ops;
/** The ops of one kind, from the table's literal kinds: the emitters' tables are total over these. */
export type OpOfKind<K extends OpKind> = { [O in Op]: (typeof ops)[O]["kind"] extends K ? O : never }[Op];

/** take(x, ids, axis): x's shape with its axis replaced by the shape of ids */
function takeShape(x: Shape, ids: Shape, axis: number | undefined): Shape | undefined {
  if (axis === undefined || !(axis >= 0 && axis < x.length)) return undefined;
  return [...x.slice(0, axis), ...ids, ...x.slice(axis + 1)];
}

export function isOp(name: string): name is Op {
  return Object.prototype.hasOwnProperty.call(ops, name);
}

export function opInfo(op: Op): OpInfo {
  return ops[op];
}

/** Ops whose node carries a target shape. */
export const targetShaped: ReadonlySet<Op> = new Set<Op>([
  "broadcast",
  "rowbcast",
  "reduce_to",
  "reshape",
  "slice",
  "pad",
  "contract1",
  "contract2",
  "iota",
  "scatter_add",
  "one_hot",
]);
