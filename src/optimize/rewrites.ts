import type { Builder } from "../ir/build.js";
import type { Node } from "../ir/graph.js";
import { opInfo, type Op } from "../ops/index.js";
import { ruleFor } from "../rules/formula.js";
import { evaluateFormula } from "../rules/scalar.js";
import { constOf, k, p, r, v, type Rule } from "./pattern.js";

const x = v("x");
const y = v("y");
const a = v("a");
const c = v("c");

/**
 * Identities of transposes and products: what the ops compute, written once for the IR rewriter
 * and for a derivation's display algebra (src/explain/math.ts), each applying those it is not
 * excluded from. The IR keeps matvec(Aᵀ, x) as it is (the emitter reads a transposed operand in
 * place, and a product's loop order is chosen for its layout); a derivation writes it xᵀA as a
 * person does.
 */
export const productIdentities: readonly Rule[] = [
  // (x')' -> x
  { name: "x'' -> x", from: p("transpose", p("transpose", x)), to: "x" },
  // (A B)' -> B' A': transposes are free views, and the product then comes out row-major
  {
    name: "(AB)' -> B'A'",
    from: p("transpose", p("matmul", a, v("b"))),
    to: r("matmul", r("transpose", "b"), r("transpose", "a")),
    only: "ir",
  },
  // (a b')' -> b a'
  { name: "(ab')' -> ba'", from: p("transpose", p("outer", a, v("b"))), to: r("outer", "b", "a"), only: "display" },
  // A' x -> x' A
  {
    name: "matvec(A', x) -> vecmat(x, A)",
    from: p("matvec", p("transpose", a), x),
    to: r("vecmat", "x", "a"),
    only: "display",
  },
  // x' B' -> (B x)'
  {
    name: "vecmat(x, B') -> matvec(B, x)",
    from: p("vecmat", x, p("transpose", v("b"))),
    to: r("matvec", "b", "x"),
    only: "display",
  },
];

/**
 * Algebraic identities, tried on each node as the graph is rebuilt (operands already rewritten),
 * as data: pattern -> replacement (src/optimize/pattern.ts). A pattern of a commutative op also
 * matches its operands swapped. x*0 is never folded to 0 (NaN and Inf * 0 are NaN).
 */
export const identities: readonly Rule[] = [
  // x * 1 -> x
  { name: "x*1 -> x", from: p("mul", x, k(1)), to: "x" },
  // x * -1 -> -x
  { name: "x*-1 -> -x", from: p("mul", x, k(-1)), to: r("neg", "x") },
  // x + 0 -> x
  { name: "x+0 -> x", from: p("add", x, k(0)), to: "x" },
  // x + (-y) -> x - y
  { name: "x+-y -> x-y", from: p("add", x, p("neg", y)), to: r("sub", "x", "y") },
  // x - 0 -> x
  { name: "x-0 -> x", from: p("sub", x, k(0)), to: "x" },
  // 0 - x -> -x
  { name: "0-x -> -x", from: p("sub", k(0), x), to: r("neg", "x") },
  // x / 1 -> x
  { name: "x/1 -> x", from: p("div", x, k(1)), to: "x" },
  // x ^ 1 -> x
  { name: "x^1 -> x", from: p("pow", x, k(1)), to: "x" },
  // -(-x) -> x
  { name: "--x -> x", from: p("neg", p("neg", x)), to: "x" },
  // guard(c, x) -> x for a constant c != 0
  { name: "guard(c!=0, x) -> x", from: p("guard", k("nonzero"), x), to: "x" },
  // select(c, x, y) -> x for a constant c > 0 (select takes x where c > 0)
  { name: "select(c>0, x, y) -> x", from: p("select", k("positive"), x, y), to: "x" },
  // select(c, x, x) -> x
  { name: "select(c, x, x) -> x", from: p("select", c, x, x), to: "x" },
  ...productIdentities.filter((rule) => rule.only !== "display"),
];

function fold(op: Op, values: number[]): number | undefined {
  const env: Record<string, number> = {};
  opInfo(op).args.forEach((a, i) => (env[a] = values[i]));
  return evaluateFormula(ruleFor(op).forward!, env);
}

/**
 * f(c1, c2) -> c: constant folding of constants (scalar, or one value broadcast to a tensor)
 * for every elementwise op, evaluated through the op's forward formula.
 */
export function foldConstants(b: Builder, n: Node): number | undefined {
  if (opInfo(n.op).kind !== "elementwise") return undefined;
  const values = n.args.map((a) => constOf(b, a));
  if (values.some((v) => v === undefined)) return undefined;
  const v = fold(n.op, values as number[]);
  return v !== undefined && Number.isFinite(v) ? b.broadcastTo(b.constant(v), n.shape) : undefined;
}

/**
 * Stable forms, applied to the forward program before it is differentiated, so the backward
 * pass is derived from the stable form too. Each is an exact identity.
 */
export const stableForms: readonly Rule[] = [
  // log(softmax(x)) -> log_softmax(x): no log(0) when a probability underflows
  { name: "log(softmax(x)) -> log_softmax(x)", from: p("log", p("softmax", x)), to: r("log_softmax", "x") },
  // log(sigmoid(x)) -> -softplus(-x)
  {
    name: "log(sigmoid(x)) -> -softplus(-x)",
    from: p("log", p("sigmoid", x)),
    to: r("neg", r("softplus", r("neg", "x"))),
  },
  // log(1 - sigmoid(x)) -> -softplus(x): 1 - sigma(1000) is 0 in floating point
  {
    name: "log(1-sigmoid(x)) -> -softplus(x)",
    from: p("log", p("sub", k(1), p("sigmoid", x))),
    to: r("neg", r("softplus", "x")),
  },
  // log1p(-sigmoid(x)) -> -softplus(x)
  {
    name: "log1p(-sigmoid(x)) -> -softplus(x)",
    from: p("log1p", p("neg", p("sigmoid", x))),
    to: r("neg", r("softplus", "x")),
  },
  // log(1 + exp(x)) -> softplus(x): exp(1000) overflows
  { name: "log(1+exp(x)) -> softplus(x)", from: p("log", p("add", k(1), p("exp", x))), to: r("softplus", "x") },
  // log1p(exp(x)) -> softplus(x)
  { name: "log1p(exp(x)) -> softplus(x)", from: p("log1p", p("exp", x)), to: r("softplus", "x") },
  // log(exp(x)) -> x
  { name: "log(exp(x)) -> x", from: p("log", p("exp", x)), to: "x" },
  // sqrt(x^2) -> |x|: the derivative at 0 is then sign(0) = 0, not 0/0
  { name: "sqrt(x^2) -> |x|", from: p("sqrt", p("pow", x, k(2))), to: r("abs", "x") },
  // sqrt(x*x) -> |x| (square(x) is x*x)
  { name: "sqrt(x*x) -> |x|", from: p("sqrt", p("mul", x, x)), to: r("abs", "x") },
  // log(sum(exp(x))) -> logsumexp(x) for a vector x
  {
    name: "log(sum(exp(x))) -> logsumexp(x)",
    from: p("log", p("sum", p("exp", x))),
    to: r("logsumexp", "x"),
    when: (b, m) => b.nodes[m.get("x")!].shape.length === 1,
  },
];
