import { problem, type HintFor, type Problem } from "../diagnostics/diagnostic.js";
import type { Builder } from "../ir/build.js";
import type { Op } from "../ops/index.js";
import { padOf, permuteOf, reshapeOf, sliceOf } from "../ops/primitives.js";
import { formatSpec, letterSizes, parseSpec } from "../shape/contract.js";
import {
  broadcastShapes,
  dropLast,
  keptShape,
  matmulKind,
  matmulShape,
  normalizeAxis,
  permutedShape,
  sameShape,
  scalar,
  showShape,
  size,
  type Shape,
} from "../shape/shape.js";
import { userKeyed } from "../util/table.js";
import { layers } from "./layers.js";

import type { Builtin, Param, ShapeResult, StaticValue, Statics } from "./types.js";
export type { Builtin, Param, ShapeResult, StaticValue, Statics } from "./types.js";

const err = problem;
/** E206 for an axis that a shape of that rank does not have */
const noSuchAxis = (axis: unknown, shape: Shape): Problem =>
  err("E206", {
    axis: String(axis),
    shape: showShape(shape),
    rank: String(shape.length),
    last: String(shape.length - 1),
  });
const T = (name: string): Param => ({ name, kind: "tensor" });
const Ts = (name: string): Param => ({ name, kind: "tensor", variadic: true });

function broadcastRule(name: string) {
  return (a: readonly Shape[]): ShapeResult => {
    let s: Shape | undefined = scalar;
    for (const x of a) s = s && broadcastShapes(s, x);
    return (
      s ?? err("E201", { op: name, left: showShape(a[0]), right: showShape(a[1]), hint: broadcastHint(a[0], a[1]) })
    );
  };
}

function broadcastHint(a: Shape, b: Shape): HintFor<"E201"> {
  if (a.length === 2 && b.length === 1 && a[0] === b[0]) return { kind: "transposeRows", n: b[0], m: a[1] };
  if (b.length === 2 && a.length === 1 && b[0] === a[0]) return { kind: "transposeRows", n: a[0], m: b[1] };
  return { kind: "numpy" };
}

// ---- elementwise functions ------------------------------------------------------------------
const elementwise1 = (op: Op): Builtin => ({
  signature: `${op}(x)`,
  params: [T("x")],
  shape: (a) => a[0],
  lower: (b, [x]) => b.node(op, [x]),
});
/** an elementwise function written with the primitives: f(b, x, statics) */
const composed1 = (
  signature: string,
  params: readonly Param[],
  f: (b: Builder, x: number, s: Statics) => number,
): Builtin => ({ signature, params, shape: (a) => a[0], lower: (b, [x], s) => f(b, x, s) });
const ew = (b: Builder, op: Op, ...args: number[]) => b.elementwise(op, args);
const c = (b: Builder, v: number) => b.constant(v);

// ---- axes -----------------------------------------------------------------------------------
/** the axes a reduction names (axis=k or axis=[k1, k2], negative from the end), ascending; all when absent */
function axesOf(s: Statics, shape: Shape): number[] | Problem {
  const given = s.axis;
  if (given === null || given === undefined) return shape.map((_, k) => k);
  const list = typeof given === "number" ? [given] : (given as readonly number[]);
  const out: number[] = [];
  for (const a of list) {
    const k = normalizeAxis(a, shape.length);
    if (k === undefined) return noSuchAxis(a, shape);
    if (!out.includes(k)) out.push(k);
  }
  return out.sort((x, y) => x - y);
}
const reduced = (shape: Shape, axes: readonly number[], keep: boolean): Shape =>
  keep ? keptShape(shape, axes) : shape.filter((_, k) => !axes.includes(k));
const isErr = (x: unknown): x is Problem => typeof x === "object" && x !== null && "code" in x;

type Reducer = "sum" | "max" | "min";
/** sum/max/min of x over axes: the full sum and a last-axis sum keep their fast ops; keepdims reshapes */
function reduceLower(b: Builder, x: number, axes: readonly number[], how: Reducer, keep: boolean): number {
  const shape = b.shape(x);
  // over no axes (axis=[]), as NumPy's axis=(): every element is its own group
  if (shape.length === 0 || axes.length === 0) return x;
  let y: number;
  if (how === "sum" && axes.length === shape.length) y = b.node("sum", [x]);
  else if (how === "sum" && axes.length === 1 && axes[0] === shape.length - 1) y = b.node("rowsum", [x]);
  else y = b.node(`reduce_${how}`, [x], { attrs: { axes: [...axes] } });
  return keep ? reshapeOf(b, y, keptShape(shape, axes)) : y;
}
const reduction = (how: Reducer, name: string): Builtin => ({
  signature: `${name}(x, axis=all, keepdims=false)`,
  params: [T("x"), { name: "axis", kind: "axes", default: null }, { name: "keepdims", kind: "bool", default: false }],
  shape: (a, s) => {
    const axes = axesOf(s, a[0]);
    return isErr(axes) ? axes : reduced(a[0], axes, s.keepdims === true);
  },
  lower: (b, [x], s) => reduceLower(b, x, axesOf(s, b.shape(x)) as number[], how, s.keepdims === true),
});
function meanLower(b: Builder, x: number, axes: readonly number[], keep: boolean): number {
  const shape = b.shape(x);
  if (shape.length === 0) return x;
  const n = axes.reduce((p, k) => p * shape[k], 1);
  return ew(b, "mul", reduceLower(b, x, axes, "sum", keep), c(b, 1 / n));
}
/** population variance: mean((x - mean(x))^2) over the axes */
function varLower(b: Builder, x: number, axes: readonly number[], keep: boolean): number {
  const d = ew(b, "sub", x, meanLower(b, x, axes, true));
  return meanLower(b, ew(b, "pow", d, c(b, 2)), axes, keep);
}
const statistic = (
  name: string,
  f: (b: Builder, x: number, axes: readonly number[], keep: boolean) => number,
): Builtin => ({
  ...reduction("sum", name),
  lower: (b, [x], s) => f(b, x, axesOf(s, b.shape(x)) as number[], s.keepdims === true),
});

/** f applied along one axis: moved last, f, moved back (f acts on the last axis) */
function alongAxis(b: Builder, x: number, axis: number, f: (x: number) => number, reduces: boolean): number {
  const rank = b.shape(x).length;
  if (axis === rank - 1) return f(x);
  const perm = [...Array(rank).keys()].filter((k) => k !== axis).concat(axis);
  const y = f(permuteOf(b, x, perm));
  if (reduces) return y;
  const back = [...Array(rank).keys()].map((k) => (k < axis ? k : k === axis ? rank - 1 : k - 1));
  return permuteOf(b, y, back);
}
/** an op along one axis (the last by default): `reduces` when that axis is summed away (logsumexp), with keepdims */
const lastAxisOp = (op: "softmax" | "log_softmax" | "logsumexp", reduces = false): Builtin => ({
  signature: `${op}(z, axis=-1${reduces ? ", keepdims=false" : ""})`,
  params: [
    T("z"),
    { name: "axis", kind: "int", default: -1 },
    ...(reduces ? [{ name: "keepdims", kind: "bool" as const, default: false }] : []),
  ],
  shape: (a, s) => {
    if (a[0].length === 0)
      return err("E203", { name: op, expected: "a tensor of rank 1 or more", shape: showShape(a[0]) });
    const axis = normalizeAxis(s.axis as number, a[0].length);
    if (axis === undefined) return noSuchAxis(s.axis, a[0]);
    return reduces ? reduced(a[0], [axis], s.keepdims === true) : a[0];
  },
  lower: (b, [x], s) => {
    const shape = b.shape(x);
    const axis = normalizeAxis(s.axis as number, shape.length)!;
    const y = alongAxis(b, x, axis, (v) => b.node(op, [v]), reduces);
    return reduces && s.keepdims === true ? reshapeOf(b, y, keptShape(shape, [axis])) : y;
  },
});

// ---- products ---------------------------------------------------------------------------------
function matmulRule(a: Shape, b: Shape): ShapeResult {
  if (a.length === 0 || b.length === 0)
    return err("E202", {
      left: showShape(a),
      right: showShape(b),
      hint: { kind: "scalar" },
    });
  const inner = a[a.length - 1];
  const innerB = b.length === 1 ? b[0] : b[b.length - 2];
  if (inner !== innerB) {
    return err("E202", {
      left: showShape(a),
      right: showShape(b),
      hint: {
        kind: a.length === 2 && b.length >= 1 && a[0] === innerB ? "innerTranspose" : "inner",
        inner,
        other: innerB,
      },
    });
  }
  if (matmulKind(a, b)) return matmulShape(a, b)!;
  const batchA = a.length > 2 ? a.slice(0, -2) : [];
  const batchB = b.length > 2 ? b.slice(0, -2) : [];
  const batch = broadcastShapes(batchA, batchB);
  if (!batch)
    return err("E202", {
      left: showShape(a),
      right: showShape(b),
      hint: { kind: "batch", batchA: showShape(batchA), batchB: showShape(batchB) },
    });
  return [...batch, ...(a.length > 1 ? [a[a.length - 2]] : []), ...(b.length > 1 ? [b[b.length - 1]] : [])];
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz";
/** A @ B: rank <= 2 keeps the matrix ops; higher ranks (NumPy's batched matmul) are a contraction */
function lowerMatmul(b: Builder, x: number, y: number): number {
  const sa = b.shape(x);
  const sb = b.shape(y);
  const kind = matmulKind(sa, sb);
  if (kind) return b.node(kind, [x, y]);
  const out = matmulRule(sa, sb) as Shape;
  // X[..., m, n] @ W[n, k], W shared by the leading axes: one matrix product of X's rows stacked,
  // so the product and both its gradients (dX = G Wᵀ, dW = Xᵀ G) reach the matrix kernels
  if (sa.length > 2 && sb.length === 2) {
    const rows = size(sa.slice(0, -1));
    return reshapeOf(b, b.node("matmul", [reshapeOf(b, x, [rows, sa[sa.length - 1]]), y]), out);
  }
  const batch = out.length - (sa.length > 1 ? 1 : 0) - (sb.length > 1 ? 1 : 0);
  const bl = LETTERS.slice(0, batch);
  const [m, k, n] = ["x", "y", "z"];
  // each operand is first broadcast over the batch dimensions it lacks or has as 1
  const full = (id: number, rank: number, tail: Shape) =>
    rank > 2 ? b.broadcastTo(id, [...out.slice(0, batch), ...tail]) : id;
  const A = full(x, sa.length, sa.slice(-2));
  const B = full(y, sb.length, sb.slice(-2));
  const subA = sa.length === 1 ? k : `${sa.length > 2 ? bl : ""}${m}${k}`;
  const subB = sb.length === 1 ? k : `${sb.length > 2 ? bl : ""}${k}${n}`;
  const subOut = `${bl}${sa.length > 1 ? m : ""}${sb.length > 1 ? n : ""}`;
  return b.node("contract2", [A, B], {
    target: [...out],
    attrs: { spec: formatSpec({ inputs: [subA, subB], output: subOut }) },
  });
}

/** einsum subscripts checked against the operands: the result shape, or what is wrong */
function einsumShape(spec: string, shapes: readonly Shape[]): ShapeResult {
  const bad = (problem: string) => err("E209", { spec, problem });
  const s = parseSpec(spec.replace(/\s+/g, ""));
  if (!s) return bad("expected letters, commas and '->' (implicit output is not supported)");
  if (s.inputs.length !== shapes.length)
    return bad(`${s.inputs.length} operand subscripts for ${shapes.length} operands`);
  for (let i = 0; i < shapes.length; i++)
    if (s.inputs[i].length !== shapes[i].length)
      return bad(`'${s.inputs[i]}' has ${s.inputs[i].length} letters for an operand of shape ${showShape(shapes[i])}`);
  if (new Set(s.output).size !== s.output.length) return bad("a letter repeats in the output");
  const inputs = new Set(s.inputs.join(""));
  for (const ch of s.output) if (!inputs.has(ch)) return bad(`output letter '${ch}' is in no operand`);
  const sizes = letterSizes(s, shapes);
  if (!sizes) return bad(`a letter stands for axes of different lengths (${shapes.map(showShape).join(", ")})`);
  return [...s.output].map((ch) => sizes.get(ch)!);
}
/** einsum as pairwise contractions, left to right; each keeps the letters still needed later */
function einsumLower(b: Builder, spec: string, args: readonly number[]): number {
  const s = parseSpec(spec.replace(/\s+/g, ""))!;
  const sizes = letterSizes(
    s,
    args.map((a) => b.shape(a)),
  )!;
  const shapeOf = (sub: string) => [...sub].map((ch) => sizes.get(ch)!);
  let acc = args[0];
  let accSub = s.inputs[0];
  for (let i = 1; i <= args.length; i++) {
    const later = s.output + s.inputs.slice(i + 1).join("");
    if (i === args.length) {
      const out = s.output;
      if (accSub === out && new Set(accSub).size === accSub.length) return acc;
      return b.node("contract1", [acc], { target: shapeOf(out), attrs: { spec: `${accSub}->${out}` } });
    }
    const keep = [...new Set(accSub + s.inputs[i])].filter((ch) => later.includes(ch)).join("");
    const out = i === args.length - 1 ? s.output : keep;
    acc = b.node("contract2", [acc, args[i]], {
      target: shapeOf(out),
      attrs: { spec: `${accSub},${s.inputs[i]}->${out}` },
    });
    accSub = out;
    if (i === args.length - 1) return acc;
  }
  return acc;
}

// ---- shapes -------------------------------------------------------------------------------------
function shapeArg(v: StaticValue | undefined): number[] {
  return typeof v === "number" ? [v] : [...((v as readonly number[]) ?? [])];
}
/** reshape's target, with one -1 inferred */
function reshapeTarget(from: Shape, to: readonly number[]): ShapeResult {
  const n = size(from);
  const unknown = to.filter((d) => d === -1).length;
  const known = to.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const bad = (hint: HintFor<"E208">) =>
    err("E208", { from: showShape(from), count: String(n), to: `[${to.join(", ")}]`, hint });
  if (unknown > 1 || to.some((d) => d !== -1 && !(Number.isInteger(d) && d >= 1))) return bad({ kind: "dimensions" });
  if (unknown === 1)
    return n % known === 0 ? to.map((d) => (d === -1 ? n / known : d)) : bad({ kind: "multiple", known });
  return known === n ? to : bad({ kind: "counts" });
}
const filled = (b: Builder, shape: Shape, v: number) => b.broadcastTo(v, shape);
/** the index along axis k of a tensor of `shape` (a constant) */
const iota = (b: Builder, shape: Shape, axis: number) => b.node("iota", [], { target: [...shape], attrs: { axis } });
/** 1 where col - row <= k (tril) or >= k (triu) on the last two axes */
function triangle(b: Builder, x: number, k: number, lower: boolean): number {
  const shape = b.shape(x);
  const [m, n] = shape.slice(-2);
  const row = iota(b, [m, n], 0);
  const col = iota(b, [m, n], 1);
  const d = ew(b, "sub", col, row);
  const mask = lower ? ew(b, "ge", c(b, k), d) : ew(b, "ge", d, c(b, k));
  return ew(b, "mul", mask, x);
}

/** concat along an axis: each operand padded into its place, then added */
function concatLower(b: Builder, args: readonly number[], axis: number): number {
  const shapes = args.map((a) => b.shape(a));
  const total = shapes.reduce((p, s) => p + s[axis], 0);
  const full = shapes[0].map((d, k) => (k === axis ? total : d));
  let offset = 0;
  let out: number | undefined;
  for (const a of args) {
    const s = b.shape(a);
    const starts = s.map((_, k) => (k === axis ? offset : 0));
    offset += s[axis];
    const placed = padOf(
      b,
      a,
      starts,
      s.map(() => 1),
      full,
    );
    out = out === undefined ? placed : ew(b, "add", out, placed);
  }
  return out!;
}
function concatShape(name: string, shapes: readonly Shape[], axisGiven: number, stack: boolean): ShapeResult {
  const first = shapes[0];
  const rank = first.length + (stack ? 1 : 0);
  const axis = normalizeAxis(axisGiven, rank);
  if (axis === undefined) return noSuchAxis(axisGiven, stack ? [shapes.length, ...first] : first);
  if (!stack && first.length === 0)
    return err("E203", { name, expected: "tensors of rank 1 or more", shape: showShape(first) });
  for (const s of shapes) {
    const fits = stack
      ? sameShape(s, first)
      : s.length === first.length && s.every((d, k) => k === axis || d === first[k]);
    if (!fits) return err("E205", { name, left: showShape(first), right: showShape(s) });
  }
  if (stack) return [...first.slice(0, axis), shapes.length, ...first.slice(axis)];
  return first.map((d, k) => (k === axis ? shapes.reduce((p, s) => p + s[axis], 0) : d));
}

// ---- the table ----------------------------------------------------------------------------------
export const builtins: Readonly<Record<string, Builtin>> = userKeyed({
  ...layers,
  exp: elementwise1("exp"),
  log: elementwise1("log"),
  sqrt: elementwise1("sqrt"),
  abs: elementwise1("abs"),
  sin: elementwise1("sin"),
  cos: elementwise1("cos"),
  tan: elementwise1("tan"),
  tanh: elementwise1("tanh"),
  sigmoid: elementwise1("sigmoid"),
  relu: elementwise1("relu"),
  softplus: elementwise1("softplus"),
  erf: elementwise1("erf"),
  log1p: elementwise1("log1p"),
  expm1: elementwise1("expm1"),
  sign: elementwise1("sign"),
  square: composed1("square(x)", [T("x")], (b, x) => ew(b, "mul", x, x)),
  // x where x > 0, else slope x
  leaky_relu: composed1(
    "leaky_relu(x, slope=0.01)",
    [T("x"), { name: "slope", kind: "number", default: 0.01 }],
    (b, x, s) => ew(b, "select", x, x, ew(b, "mul", c(b, s.slope as number), x)),
  ),
  // x where x > 0, else alpha (e^x - 1)
  elu: composed1("elu(x, alpha=1)", [T("x"), { name: "alpha", kind: "number", default: 1 }], (b, x, s) =>
    ew(b, "select", x, x, ew(b, "mul", c(b, s.alpha as number), b.node("expm1", [x]))),
  ),
  // x Φ(x) = x (1 + erf(x / √2)) / 2, PyTorch's default
  gelu: composed1("gelu(x)", [T("x")], (b, x) =>
    ew(
      b,
      "mul",
      ew(b, "mul", c(b, 0.5), x),
      ew(b, "add", c(b, 1), b.node("erf", [ew(b, "mul", x, c(b, Math.SQRT1_2))])),
    ),
  ),
  // x σ(x)
  silu: composed1("silu(x)", [T("x")], (b, x) => ew(b, "mul", x, b.node("sigmoid", [x]))),
  // min(max(x, lo), hi): gradient 1 on [lo, hi] (ties go to x), 0 outside, as torch.clamp
  clip: {
    signature: "clip(x, lo, hi)",
    params: [T("x"), T("lo"), T("hi")],
    shape: broadcastRule("clip"),
    lower: (b, [x, lo, hi]) => ew(b, "min", ew(b, "max", x, lo), hi),
  },
  where: {
    signature: "where(condition, a, b)",
    params: [T("condition"), T("a"), T("b")],
    shape: broadcastRule("where"),
    // select picks a branch, so an untaken branch's NaN or Inf never reaches the value or the gradient
    lower: (b, [cond, x, y]) => ew(b, "select", cond, x, y),
  },

  max: {
    signature: "max(x, axis=all, keepdims=false) or max(a, b)",
    params: [
      T("x"),
      { name: "b", kind: "tensor", default: null },
      { name: "axis", kind: "axes", default: null },
      { name: "keepdims", kind: "bool", default: false },
    ],
    shape: (a, s) => (a.length === 2 ? pairwise("max", a, s) : reduction("max", "max").shape(a, s)),
    lower: (b, args, s) =>
      args.length === 2 ? ew(b, "max", args[0], args[1]) : reduction("max", "max").lower(b, args, s),
  },
  min: {
    signature: "min(x, axis=all, keepdims=false) or min(a, b)",
    params: [
      T("x"),
      { name: "b", kind: "tensor", default: null },
      { name: "axis", kind: "axes", default: null },
      { name: "keepdims", kind: "bool", default: false },
    ],
    shape: (a, s) => (a.length === 2 ? pairwise("min", a, s) : reduction("min", "min").shape(a, s)),
    lower: (b, args, s) =>
      args.length === 2 ? ew(b, "min", args[0], args[1]) : reduction("min", "min").lower(b, args, s),
  },
  sum: reduction("sum", "sum"),
  mean: statistic("mean", meanLower),
  var: statistic("var", varLower),
  dot: {
    signature: "dot(a, b)",
    params: [T("a"), T("b")],
    shape: (a) =>
      a[0].length === 1 && sameShape(a[0], a[1])
        ? scalar
        : err("E205", { name: "dot", left: showShape(a[0]), right: showShape(a[1]) }),
    lower: (b, args) => b.node("dot", args),
  },
  transpose: {
    signature: "transpose(x, axes=reversed)",
    params: [T("x"), { name: "axes", kind: "ints", default: null }],
    shape: (a, s) => {
      if (s.axes === null || s.axes === undefined) return [...a[0]].reverse();
      const perm = (s.axes as number[]).map((k) => normalizeAxis(k, a[0].length) ?? -1);
      return (
        permutedShape(a[0], perm) ??
        err("E113", {
          arg: "axes",
          name: "transpose",
          expected: `a permutation of the axes 0..${a[0].length - 1}`,
          found: `[${(s.axes as number[]).join(", ")}]`,
        })
      );
    },
    // a vector or scalar is its own transpose (NumPy)
    lower: (b, [x], s) => {
      const rank = b.shape(x).length;
      const perm =
        s.axes === null || s.axes === undefined
          ? [...Array(rank).keys()].reverse()
          : (s.axes as number[]).map((k) => normalizeAxis(k, rank)!);
      return rank < 2 ? x : permuteOf(b, x, perm);
    },
  },
  reshape: {
    signature: "reshape(x, shape)",
    params: [T("x"), { name: "shape", kind: "ints" }],
    shape: (a, s) => reshapeTarget(a[0], shapeArg(s.shape)),
    lower: (b, [x], s) => reshapeOf(b, x, reshapeTarget(b.shape(x), shapeArg(s.shape)) as Shape),
  },
  flatten: {
    signature: "flatten(x, start=0)",
    params: [T("x"), { name: "start", kind: "int", default: 0 }],
    shape: (a, s) => {
      const k = a[0].length === 0 ? 0 : normalizeAxis(s.start as number, a[0].length);
      if (k === undefined) return noSuchAxis(s.start, a[0]);
      return [...a[0].slice(0, k), size(a[0].slice(k))];
    },
    lower: (b, [x], s) => {
      const shape = b.shape(x);
      const k = shape.length === 0 ? 0 : normalizeAxis(s.start as number, shape.length)!;
      return reshapeOf(b, x, [...shape.slice(0, k), size(shape.slice(k))]);
    },
  },
  concat: {
    signature: "concat(a, b, ..., axis=0)",
    params: [Ts("tensors"), { name: "axis", kind: "int", default: 0 }],
    shape: (a, s) => concatShape("concat", a, s.axis as number, false),
    lower: (b, args, s) => concatLower(b, args, normalizeAxis(s.axis as number, b.shape(args[0]).length)!),
  },
  stack: {
    signature: "stack(a, b, ..., axis=0)",
    params: [Ts("tensors"), { name: "axis", kind: "int", default: 0 }],
    shape: (a, s) => concatShape("stack", a, s.axis as number, true),
    lower: (b, args, s) => {
      const shape = b.shape(args[0]);
      const axis = normalizeAxis(s.axis as number, shape.length + 1)!;
      const one = [...shape.slice(0, axis), 1, ...shape.slice(axis)];
      return concatLower(
        b,
        args.map((a) => reshapeOf(b, a, one)),
        axis,
      );
    },
  },
  zeros: {
    signature: "zeros(shape)",
    params: [{ name: "shape", kind: "shape" }],
    shape: (_a, s) => shapeArg(s.shape),
    lower: (b, _x, s) => filled(b, shapeArg(s.shape), c(b, 0)),
  },
  ones: {
    signature: "ones(shape)",
    params: [{ name: "shape", kind: "shape" }],
    shape: (_a, s) => shapeArg(s.shape),
    lower: (b, _x, s) => filled(b, shapeArg(s.shape), c(b, 1)),
  },
  full: {
    signature: "full(shape, value)",
    params: [{ name: "shape", kind: "shape" }, T("value")],
    shape: (a, s) =>
      a[0].length === 0
        ? shapeArg(s.shape)
        : err("E203", { name: "full", expected: "a scalar value", shape: showShape(a[0]) }),
    lower: (b, [v], s) => filled(b, shapeArg(s.shape), v),
  },
  eye: {
    signature: "eye(n)",
    params: [{ name: "n", kind: "count" }],
    shape: (_a, s) => [s.n as number, s.n as number],
    lower: (b, _x, s) =>
      ew(b, "eq", iota(b, [s.n as number, s.n as number], 0), iota(b, [s.n as number, s.n as number], 1)),
  },
  arange: {
    signature: "arange(n)",
    params: [{ name: "n", kind: "count" }],
    shape: (_a, s) => [s.n as number],
    lower: (b, _x, s) => iota(b, [s.n as number], 0),
  },
  tril: {
    signature: "tril(x, k=0)",
    params: [T("x"), { name: "k", kind: "int", default: 0 }],
    shape: (a) =>
      a[0].length >= 2
        ? a[0]
        : err("E203", { name: "tril", expected: "a tensor of rank 2 or more", shape: showShape(a[0]) }),
    lower: (b, [x], s) => triangle(b, x, s.k as number, true),
  },
  triu: {
    signature: "triu(x, k=0)",
    params: [T("x"), { name: "k", kind: "int", default: 0 }],
    shape: (a) =>
      a[0].length >= 2
        ? a[0]
        : err("E203", { name: "triu", expected: "a tensor of rank 2 or more", shape: showShape(a[0]) }),
    lower: (b, [x], s) => triangle(b, x, s.k as number, false),
  },
  einsum: {
    signature: 'einsum("ij,jk->ik", a, b, ...)',
    params: [{ name: "subscripts", kind: "string" }, Ts("operands")],
    shape: (a, s) => einsumShape(s.subscripts as string, a),
    lower: (b, args, s) => einsumLower(b, s.subscripts as string, args),
  },
  take: {
    signature: "take(x, ids, axis=0)",
    params: [T("x"), { name: "ids", kind: "indices" }, { name: "axis", kind: "int", default: 0 }],
    shape: (a, s) => {
      const axis = normalizeAxis(s.axis as number, a[0].length);
      if (axis === undefined) return noSuchAxis(s.axis, a[0]);
      return [...a[0].slice(0, axis), ...a[1], ...a[0].slice(axis + 1)];
    },
    lower: (b, [x, ids], s) =>
      b.node("gather", [x, ids], { attrs: { axis: normalizeAxis(s.axis as number, b.shape(x).length)! } }),
  },
  // mean over rows of logsumexp(z) - z[label]: softmax cross-entropy against a one-hot of the integer labels
  cross_entropy: {
    signature: "cross_entropy(logits, labels)",
    params: [T("logits"), { name: "labels", kind: "indices" }],
    shape: (a) =>
      a[0].length === 0 || !sameShape(a[0].slice(0, -1), a[1])
        ? err("E203", {
            name: "cross_entropy",
            expected: `logits [K] with a scalar label, or [N, K] with labels [N] (labels ${showShape(a[1])})`,
            shape: showShape(a[0]),
          })
        : scalar,
    lower: (b, [z, labels]) => {
      const shape = b.shape(z);
      const perRow = b.node("sce", [z, b.node("one_hot", [labels], { target: [...shape] })]);
      return meanLower(b, perRow, [...b.shape(perRow).keys()], false);
    },
  },
  softmax: lastAxisOp("softmax"),
  log_softmax: lastAxisOp("log_softmax"),
  logsumexp: lastAxisOp("logsumexp", true),
  softmax_cross_entropy: {
    signature: "softmax_cross_entropy(logits, onehot)",
    params: [T("logits"), T("onehot")],
    shape: (a): ShapeResult =>
      a[0].length === 0
        ? err("E203", { name: "softmax_cross_entropy", expected: "vector or matrix logits", shape: showShape(a[0]) })
        : sameShape(a[0], a[1])
          ? dropLast(a[0])
          : err("E205", { name: "softmax_cross_entropy", left: showShape(a[0]), right: showShape(a[1]) }),
    lower: (b, args) => b.node("sce", args),
  },
  mse: {
    signature: "mse(pred, target)",
    params: [T("pred"), T("target")],
    shape: (a) => (broadcastShapes(a[0], a[1]) ? scalar : broadcastRule("mse")(a)),
    // mean((pred - target)^2)
    lower: (b, [p, t]) => meanLower(b, ew(b, "pow", ew(b, "sub", p, t), c(b, 2)), allAxes(b, p, t), false),
  },
  // mean(-(y log p + (1 - y) log(1 - p)))
  bce: {
    signature: "bce(p, y)",
    params: [T("p"), T("y")],
    shape: (a) => (broadcastShapes(a[0], a[1]) ? scalar : broadcastRule("bce")(a)),
    lower: (b, [p, y]) => {
      const ll = ew(
        b,
        "add",
        ew(b, "mul", y, b.node("log", [p])),
        ew(b, "mul", ew(b, "sub", c(b, 1), y), b.node("log1p", [b.node("neg", [p])])),
      );
      return meanLower(b, b.node("neg", [ll]), allAxes(b, p, y), false);
    },
  },
  // mean(softplus(z) - y z): stable for any z
  bce_with_logits: {
    signature: "bce_with_logits(z, y)",
    params: [T("z"), T("y")],
    shape: (a) => (broadcastShapes(a[0], a[1]) ? scalar : broadcastRule("bce_with_logits")(a)),
    lower: (b, [z, y]) =>
      meanLower(b, ew(b, "sub", b.node("softplus", [z]), ew(b, "mul", y, z)), allAxes(b, z, y), false),
  },
  // mean of r^2/2 where |r| <= delta, delta (|r| - delta/2) beyond (r = pred - target), as torch's HuberLoss
  huber: {
    signature: "huber(pred, target, delta=1)",
    params: [T("pred"), T("target"), { name: "delta", kind: "number", default: 1 }],
    shape: (a, s) =>
      !((s.delta as number) > 0)
        ? err("E113", {
            arg: "delta",
            name: "huber",
            expected: "a positive number",
            found: String(s.delta),
            hint: { kind: "huberDelta" },
          })
        : broadcastShapes(a[0], a[1])
          ? scalar
          : broadcastRule("huber")(a),
    lower: (b, [p, t], s) => {
      const delta = s.delta as number;
      const r = ew(b, "sub", p, t);
      const a = b.node("abs", [r]);
      const quad = ew(b, "mul", c(b, 0.5), ew(b, "mul", r, r));
      const lin = ew(b, "mul", c(b, delta), ew(b, "sub", a, c(b, delta / 2)));
      return meanLower(b, ew(b, "select", ew(b, "gt", a, c(b, delta)), lin, quad), allAxes(b, p, t), false);
    },
  },
});

/** max(a, b) / min(a, b): elementwise, so an axis or keepdims has nothing to act on */
function pairwise(name: string, a: readonly Shape[], s: Statics): ShapeResult {
  const extra = s.axis !== undefined ? "axis" : s.keepdims === true ? "keepdims" : undefined;
  if (extra)
    return err("E113", {
      arg: extra,
      name,
      expected: "absent",
      found: `${extra} with two operands`,
      hint: { kind: "pairwise" },
    });
  return broadcastRule(name)(a);
}

/** every axis of the broadcast of two operands (the losses reduce over all of them) */
function allAxes(b: Builder, x: number, y: number): number[] {
  return [...Array((broadcastShapes(b.shape(x), b.shape(y)) ?? []).length).keys()];
}

/** Binary operators: elementwise with broadcasting, '@', and comparisons (0/1 masks, no gradient). */
export const binaryOps: Readonly<
  Record<
    string,
    { name: string; shape: (a: readonly Shape[]) => ShapeResult; lower: (b: Builder, x: number, y: number) => number }
  >
> = userKeyed({
  "+": { name: "+", shape: broadcastRule("+"), lower: (b, x, y) => ew(b, "add", x, y) },
  "-": { name: "-", shape: broadcastRule("-"), lower: (b, x, y) => ew(b, "sub", x, y) },
  "*": { name: "*", shape: broadcastRule("*"), lower: (b, x, y) => ew(b, "mul", x, y) },
  "/": { name: "/", shape: broadcastRule("/"), lower: (b, x, y) => ew(b, "div", x, y) },
  "^": { name: "^", shape: broadcastRule("^"), lower: (b, x, y) => ew(b, "pow", x, y) },
  "@": { name: "@", shape: (a) => matmulRule(a[0], a[1]), lower: lowerMatmul },
  ">": { name: ">", shape: broadcastRule(">"), lower: (b, x, y) => ew(b, "gt", x, y) },
  ">=": { name: ">=", shape: broadcastRule(">="), lower: (b, x, y) => ew(b, "ge", x, y) },
  "<": { name: "<", shape: broadcastRule("<"), lower: (b, x, y) => ew(b, "gt", y, x) },
  "<=": { name: "<=", shape: broadcastRule("<="), lower: (b, x, y) => ew(b, "ge", y, x) },
  "==": { name: "==", shape: broadcastRule("=="), lower: (b, x, y) => ew(b, "eq", x, y) },
  "!=": { name: "!=", shape: broadcastRule("!="), lower: (b, x, y) => ew(b, "sub", c(b, 1), ew(b, "eq", x, y)) },
});

/** x[...] with compile-time indices: a strided window (slice), then the indexed axes dropped (reshape) */
export interface IndexSpec {
  readonly starts: readonly number[];
  readonly steps: readonly number[];
  readonly counts: readonly number[];
  /** axes indexed by a single integer: gone from the result */
  readonly drop: readonly number[];
}
export function lowerIndex(b: Builder, x: number, s: IndexSpec): number {
  const window = sliceOf(b, x, s.starts, s.steps, s.counts);
  return reshapeOf(
    b,
    window,
    s.counts.filter((_, k) => !s.drop.includes(k)),
  );
}

export const builtinNames: readonly string[] = Object.keys(builtins);
