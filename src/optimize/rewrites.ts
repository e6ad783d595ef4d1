import { compile as compileMath, type EvalFunction } from "mathjs";
import type { Builder } from "../ir/build.js";
import type { Node } from "../ir/graph.js";
import { opInfo, type Op } from "../ir/ops.js";
import { rules } from "../rules/table.js";

/**
 * Algebraic rewrites, tried on each node as the graph is rebuilt. Format: one row per
 * pattern: the op it applies to, and a function that returns the replacement node id or
 * undefined. Operands are already rewritten. x*0 is never folded to 0 (NaN and Inf * 0 are NaN).
 */
export interface Rewrite {
  readonly name: string;
  readonly op: Op;
  readonly apply: (b: Builder, n: Node) => number | undefined;
}

/** The value of a scalar constant, or of a constant broadcast to a tensor. */
export function constOf(b: Builder, id: number): number | undefined {
  const n = b.nodes[id];
  if (n.op === "const") return n.value;
  if (n.op === "broadcast" || n.op === "rowbcast") return constOf(b, n.args[0]);
  return undefined;
}

/** x^T, with (x^T)^T = x */
const transposeOf = (b: Builder, x: number) =>
  b.nodes[x].op === "transpose" ? b.nodes[x].args[0] : b.node("transpose", [x]);

const is = (v: number) => (b: Builder, id: number) => constOf(b, id) === v;
const isOne = is(1);
const isZero = is(0);

const folders = new Map<string, EvalFunction>();
function fold(op: Op, values: number[]): number {
  const formula = (rules as Record<string, { forward?: string }>)[op].forward!;
  let f = folders.get(op);
  if (!f) folders.set(op, (f = compileMath(formula)));
  const scope: Record<string, number> = {};
  opInfo(op).args.forEach((a, i) => (scope[a] = values[i]));
  return Number(f.evaluate(scope));
}

export const rewrites: readonly Rewrite[] = [
  // x * 1 -> x
  { name: "x*1", op: "mul", apply: (b, n) => (isOne(b, n.args[1]) ? n.args[0] : undefined) },
  // 1 * x -> x
  { name: "1*x", op: "mul", apply: (b, n) => (isOne(b, n.args[0]) ? n.args[1] : undefined) },
  // x * -1 -> -x
  { name: "x*-1", op: "mul", apply: (b, n) => (is(-1)(b, n.args[1]) ? b.node("neg", [n.args[0]]) : undefined) },
  // -1 * x -> -x
  { name: "-1*x", op: "mul", apply: (b, n) => (is(-1)(b, n.args[0]) ? b.node("neg", [n.args[1]]) : undefined) },
  // x + 0 -> x
  { name: "x+0", op: "add", apply: (b, n) => (isZero(b, n.args[1]) ? n.args[0] : undefined) },
  // 0 + x -> x
  { name: "0+x", op: "add", apply: (b, n) => (isZero(b, n.args[0]) ? n.args[1] : undefined) },
  // x + (-y) -> x - y
  {
    name: "x+-y",
    op: "add",
    apply: (b, n) =>
      b.nodes[n.args[1]].op === "neg" ? b.node("sub", [n.args[0], b.nodes[n.args[1]].args[0]]) : undefined,
  },
  // x - 0 -> x
  { name: "x-0", op: "sub", apply: (b, n) => (isZero(b, n.args[1]) ? n.args[0] : undefined) },
  // 0 - x -> -x
  { name: "0-x", op: "sub", apply: (b, n) => (isZero(b, n.args[0]) ? b.node("neg", [n.args[1]]) : undefined) },
  // x / 1 -> x
  { name: "x/1", op: "div", apply: (b, n) => (isOne(b, n.args[1]) ? n.args[0] : undefined) },
  // x ^ 1 -> x
  { name: "x^1", op: "pow", apply: (b, n) => (isOne(b, n.args[1]) ? n.args[0] : undefined) },
  // -(-x) -> x
  {
    name: "--x",
    op: "neg",
    apply: (b, n) => (b.nodes[n.args[0]].op === "neg" ? b.nodes[n.args[0]].args[0] : undefined),
  },
  // guard(c, x) -> x for a constant c != 0
  {
    name: "guard-const",
    op: "guard",
    apply: (b, n) => {
      const c = constOf(b, n.args[0]);
      return c !== undefined && c !== 0 ? n.args[1] : undefined;
    },
  },
  // (A B)^T -> B^T A^T: transposes are free views, and the product then comes out row-major
  {
    name: "(AB)'",
    op: "transpose",
    apply: (b, n) => {
      const m = b.nodes[n.args[0]];
      return m.op === "matmul" ? b.node("matmul", [transposeOf(b, m.args[1]), transposeOf(b, m.args[0])]) : undefined;
    },
  },
  // select(c, x, x) -> x
  { name: "select-same", op: "select", apply: (b, n) => (n.args[1] === n.args[2] ? n.args[1] : undefined) },
  // (x')' -> x
  {
    name: "x''",
    op: "transpose",
    apply: (b, n) => (b.nodes[n.args[0]].op === "transpose" ? b.nodes[n.args[0]].args[0] : undefined),
  },
];

/**
 * f(c1, c2) -> c: constant folding of constants (scalar, or one value broadcast to a tensor)
 * for every elementwise op, evaluated through the op's forward formula.
 */
export function foldConstants(b: Builder, n: Node): number | undefined {
  if (opInfo(n.op).kind !== "elementwise") return undefined;
  const values = n.args.map((a) => constOf(b, a));
  if (values.some((v) => v === undefined)) return undefined;
  const v = fold(n.op, values as number[]);
  return Number.isFinite(v) ? b.broadcastTo(b.constant(v), n.shape) : undefined;
}

/**
 * Stable forms, applied to the forward program before it is differentiated, so the backward
 * pass is derived from the stable form too. Each is an exact identity.
 */
export const stableForms: readonly Rewrite[] = [
  // log(softmax(x)) -> log_softmax(x): no log(0) when a probability underflows
  {
    name: "log(softmax)",
    op: "log",
    apply: (b, n) =>
      b.nodes[n.args[0]].op === "softmax" ? b.node("log_softmax", [b.nodes[n.args[0]].args[0]]) : undefined,
  },
  // log(sigmoid(x)) -> -softplus(-x)
  {
    name: "log(sigmoid)",
    op: "log",
    apply: (b, n) =>
      b.nodes[n.args[0]].op === "sigmoid"
        ? b.node("neg", [b.node("softplus", [b.node("neg", [b.nodes[n.args[0]].args[0]])])])
        : undefined,
  },
  // log(exp(x)) -> x
  {
    name: "log(exp)",
    op: "log",
    apply: (b, n) => (b.nodes[n.args[0]].op === "exp" ? b.nodes[n.args[0]].args[0] : undefined),
  },
  // log(sum(exp(x))) -> logsumexp(x) for a vector x
  {
    name: "log(sum(exp))",
    op: "log",
    apply: (b, n) => {
      const s = b.nodes[n.args[0]];
      if (s.op !== "sum") return undefined;
      const e = b.nodes[s.args[0]];
      return e.op === "exp" && e.shape.length === 1 ? b.node("logsumexp", [e.args[0]]) : undefined;
    },
  },
];

export const rewritesByOp: ReadonlyMap<Op, readonly Rewrite[]> = (() => {
  const m = new Map<Op, Rewrite[]>();
  for (const r of rewrites) {
    m.set(r.op, [...(m.get(r.op) ?? []), r]);
  }
  return m;
})();
