import type { Args } from "../diagnostics/diagnostic.js";
import type { Code } from "../diagnostics/catalogue.js";
import type { Builder } from "../ir/build.js";
import type { Op } from "../ir/ops.js";
import { broadcastShapes, dropLast, matmulKind, matmulShape, sameShape, scalar, showShape, size, type Shape } from "../shape/shape.js";

/** A shape rule's verdict: the result shape, or the diagnostic to report. */
export type ShapeResult = Shape | { readonly code: Code; readonly args: Args };

/**
 * The surface language's functions and operators. Format: name -> { arity, shape: operand
 * shapes -> result shape or error, lower: emit IR nodes for it }. `check` uses arity and shape;
 * `lower` uses lower. Adding a function = adding a row here (and an IR op + rule if it is new).
 */
export interface Builtin {
  readonly arity: number;
  readonly signature: string;
  readonly shape: (args: readonly Shape[]) => ShapeResult;
  readonly lower: (b: Builder, args: readonly number[]) => number;
}

const same = (a: readonly Shape[]) => a[0];
const elementwise1 = (op: Op): Builtin => ({ arity: 1, signature: `${op}(x)`, shape: same, lower: (b, [x]) => b.node(op, [x]) });

function broadcastRule(name: string) {
  return (a: readonly Shape[]): ShapeResult =>
    broadcastShapes(a[0], a[1]) ?? {
      code: "E201",
      args: { op: name, left: showShape(a[0]), right: showShape(a[1]), hint: broadcastHint(a[0], a[1]) },
    };
}

export function broadcastHint(a: Shape, b: Shape): string {
  if (a.length === 2 && b.length === 1 && a[0] === b[0]) return `a vector of length ${b[0]} broadcasts against the rows of a matrix, which have length ${a[1]}; did you mean to transpose the matrix?`;
  if (b.length === 2 && a.length === 1 && b[0] === a[0]) return `a vector of length ${a[0]} broadcasts against the rows of a matrix, which have length ${b[1]}; did you mean to transpose the matrix?`;
  return "operands broadcast when their trailing dimensions are equal or 1 (NumPy rules)";
}

const reduceLast = (name: string) => (a: readonly Shape[]): ShapeResult =>
  a[0].length >= 1 ? dropLast(a[0]) : { code: "E203", args: { name, expected: "a vector or matrix", shape: showShape(a[0]) } };
const rowwise = (name: string) => (a: readonly Shape[]): ShapeResult =>
  a[0].length >= 1 ? a[0] : { code: "E203", args: { name, expected: "a vector or matrix", shape: showShape(a[0]) } };

function mean(b: Builder, x: number): number {
  const s = b.shape(x);
  if (s.length === 0) return x;
  return b.elementwise("mul", [b.node("sum", [x]), b.constant(1 / size(s))]);
}

export function matmulRule(a: Shape, b: Shape): ShapeResult {
  if (!matmulKind(a, b)) {
    return { code: "E202", args: { left: showShape(a), right: showShape(b), hint: "'@' takes vectors and matrices; use '*' to scale by a scalar" } };
  }
  return (
    matmulShape(a, b) ?? {
      code: "E202",
      args: {
        left: showShape(a),
        right: showShape(b),
        hint: `the inner dimensions ${a[a.length - 1]} and ${b[0]} must be equal${a.length === 2 && b.length >= 1 && a[0] === b[0] ? "; did you mean to transpose the left operand?" : ""}`,
      },
    }
  );
}

export function lowerMatmul(b: Builder, x: number, y: number): number {
  const kind = matmulKind(b.shape(x), b.shape(y));
  if (!kind) throw new Error("unchecked matmul");
  return b.node(kind, [x, y]);
}

export const builtins: Readonly<Record<string, Builtin>> = {
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
  max: { arity: 2, signature: "max(a, b)", shape: broadcastRule("max"), lower: (b, args) => b.elementwise("max", args) },
  min: { arity: 2, signature: "min(a, b)", shape: broadcastRule("min"), lower: (b, args) => b.elementwise("min", args) },
  sum: { arity: 1, signature: "sum(x)", shape: () => scalar, lower: (b, [x]) => (b.shape(x).length === 0 ? x : b.node("sum", [x])) },
  mean: { arity: 1, signature: "mean(x)", shape: () => scalar, lower: (b, [x]) => mean(b, x) },
  dot: {
    arity: 2,
    signature: "dot(a, b)",
    shape: (a) => (a[0].length === 1 && sameShape(a[0], a[1]) ? scalar : { code: "E205", args: { name: "dot", left: showShape(a[0]), right: showShape(a[1]) } }),
    lower: (b, args) => b.node("dot", args),
  },
  transpose: {
    arity: 1,
    signature: "transpose(X)",
    shape: (a) => (a[0].length === 2 ? [a[0][1], a[0][0]] : a[0]),
    // a vector or scalar is its own transpose (NumPy)
    lower: (b, [x]) => (b.shape(x).length === 2 ? b.node("transpose", [x]) : x),
  },
  softmax: { arity: 1, signature: "softmax(z)", shape: rowwise("softmax"), lower: (b, [x]) => b.node("softmax", [x]) },
  log_softmax: { arity: 1, signature: "log_softmax(z)", shape: rowwise("log_softmax"), lower: (b, [x]) => b.node("log_softmax", [x]) },
  logsumexp: { arity: 1, signature: "logsumexp(z)", shape: reduceLast("logsumexp"), lower: (b, [x]) => b.node("logsumexp", [x]) },
  softmax_cross_entropy: {
    arity: 2,
    signature: "softmax_cross_entropy(logits, onehot)",
    shape: (a): ShapeResult =>
      a[0].length === 0
        ? { code: "E203", args: { name: "softmax_cross_entropy", expected: "vector or matrix logits", shape: showShape(a[0]) } }
        : sameShape(a[0], a[1])
          ? dropLast(a[0])
          : { code: "E205", args: { name: "softmax_cross_entropy", left: showShape(a[0]), right: showShape(a[1]) } },
    lower: (b, args) => b.node("sce", args),
  },
  mse: {
    arity: 2,
    signature: "mse(pred, target)",
    shape: (a) => (broadcastShapes(a[0], a[1]) ? scalar : broadcastRule("mse")(a)),
    // mean((pred - target)^2)
    lower: (b, [p, t]) => {
      const d = b.elementwise("sub", [p, t]);
      return mean(b, b.elementwise("pow", [d, b.constant(2)]));
    },
  },
};

/** Binary operators: elementwise with broadcasting, and '@'. */
export const binaryOps: Readonly<Record<"+" | "-" | "*" | "/" | "^" | "@", { name: string; shape: (a: readonly Shape[]) => ShapeResult; lower: (b: Builder, x: number, y: number) => number }>> = {
  "+": { name: "+", shape: broadcastRule("+"), lower: (b, x, y) => b.elementwise("add", [x, y]) },
  "-": { name: "-", shape: broadcastRule("-"), lower: (b, x, y) => b.elementwise("sub", [x, y]) },
  "*": { name: "*", shape: broadcastRule("*"), lower: (b, x, y) => b.elementwise("mul", [x, y]) },
  "/": { name: "/", shape: broadcastRule("/"), lower: (b, x, y) => b.elementwise("div", [x, y]) },
  "^": { name: "^", shape: broadcastRule("^"), lower: (b, x, y) => b.elementwise("pow", [x, y]) },
  "@": { name: "@", shape: (a) => matmulRule(a[0], a[1]), lower: lowerMatmul },
};

export const builtinNames: readonly string[] = Object.keys(builtins);
