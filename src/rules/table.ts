import type { Builder } from "../ir/build.js";
import type { Node } from "../ir/graph.js";
import type { Op } from "../ir/ops.js";
import { contractGrad, inversePerm, padOf, permuteOf, reshapeOf, sliceOf, unreduce } from "../ir/primitives.js";

/**
 * The derivative table: one row per IR op, like PyTorch's derivatives.yaml.
 * Format: op -> { forward?, grads }.
 *   forward  elementwise ops only: the op on one element, as mathjs text over its operand
 *            names (ops.ts); the TypeScript and LaTeX emitters print it.
 *   grads    per operand: its cotangent contribution, as mathjs text over the operands, `y`
 *            (the op's result) and `g` (the cotangent of y). "0" means no dependence.
 *   tex      how the LaTeX emitter writes the op; prime: how it writes the op's derivative.
 * Functions in formulas are IR ops, plus expand(v, ref) / rowexpand(v, ref) / reduce_to(v, ref),
 * which broadcast or reduce v to the shape of ref. Arithmetic broadcasts like the language.
 */
/**
 * A derivative that needs the node's attributes (axes, permutation, window, subscripts), as a
 * composition of primitives: the operand's cotangent contribution from the node and g.
 */
export type GradFn = (b: Builder, n: Node, g: number) => number;

export interface Rule {
  readonly forward?: string;
  readonly grads: readonly (string | GradFn)[];
  /** how a derivation writes each derivative (mathjs text, as grads): required for GradFn derivatives, and for formulas whose guards a person would not write */
  readonly show?: readonly string[];
  /** LaTeX of the op applied to its operands ({x}, {a}, ... are the operands); +, -, *, /, ^ print as operators */
  readonly tex?: string;
  /** LaTeX of the derivative as the lecture names it (σ'(x)), for one-operand elementwise ops */
  readonly prime?: string;
  /** activations: the bound on the derivative, as lecture 4.4 states it ("sigmoid' ≤ 1/4"), for gradc flow */
  readonly bound?: string;
}

export const rules: Record<Exclude<Op, "param" | "input" | "const">, Rule> = {
  // d(-x) = -1
  neg: { forward: "-x", grads: ["-g"] },
  // d/dx e^x = e^x = y
  exp: { forward: "exp(x)", grads: ["g * y"], tex: "\\exp\\left({x}\\right)" },
  // d/dx log x = 1/x  (guarded: a zero cotangent stays 0 at x = 0)
  log: { forward: "log(x)", grads: ["guard(g, g / x)"], tex: "\\log\\left({x}\\right)" },
  // d/dx sqrt x = 1 / (2 sqrt x)  (guarded at x = 0)
  sqrt: { forward: "sqrt(x)", grads: ["guard(g, g / (2 * y))"], tex: "\\sqrt{{x}}" },
  // d/dx |x| = sign x
  abs: { forward: "abs(x)", grads: ["g * sign(x)"], tex: "\\left|{x}\\right|" },
  sin: { forward: "sin(x)", grads: ["g * cos(x)"], tex: "\\sin\\left({x}\\right)" },
  cos: { forward: "cos(x)", grads: ["-(g * sin(x))"], tex: "\\cos\\left({x}\\right)" },
  // d/dx tan = 1 + tan^2
  tan: { forward: "tan(x)", grads: ["g * (1 + y ^ 2)"], tex: "\\tan\\left({x}\\right)" },
  // d/dx tanh = 1 - y^2
  tanh: {
    forward: "tanh(x)",
    grads: ["g * (1 - y ^ 2)"],
    tex: "\\tanh\\left({x}\\right)",
    prime: "\\tanh'\\left({x}\\right)",
    bound: "tanh' ≤ 1",
  },
  // sigma' = sigma (1 - sigma); 1 / (1 + e^-x) is safe at both ends (e^-x = Inf gives 0, not NaN)
  sigmoid: {
    forward: "1 / (1 + exp(-x))",
    grads: ["g * y * (1 - y)"],
    tex: "\\sigma\\left({x}\\right)",
    prime: "\\sigma'\\left({x}\\right)",
    bound: "sigmoid' ≤ 1/4",
  },
  // relu(NaN) = NaN, as PyTorch and JAX (a NaN weight must not vanish into a finite loss);
  // relu' = 1 where x > 0 (0 at the kink, as PyTorch); a select, so g = Inf where x <= 0 gives 0, not NaN
  relu: {
    forward: "x < 0 ? 0 : x",
    grads: ["select(x, g, 0)"],
    tex: "\\operatorname{ReLU}\\left({x}\\right)",
    prime: "\\operatorname{ReLU}'\\left({x}\\right)",
    bound: "relu' ∈ {0, 1}",
  },
  // softplus' = sigma; log(1 + e^x) = max(x, 0) + log1p(e^-|x|) never overflows
  softplus: {
    forward: "max(x, 0) + log1p(exp(-abs(x)))",
    grads: ["g * sigmoid(x)"],
    tex: "\\operatorname{softplus}\\left({x}\\right)",
    bound: "softplus' = sigmoid < 1",
  },
  step: { forward: "x > 0 ? 1 : 0", grads: ["0"], tex: "\\mathbf{1}\\left[{x} > 0\\right]" },
  sign: { forward: "sign(x)", grads: ["0"], tex: "\\operatorname{sign}\\left({x}\\right)" },
  // d/dx log(1 + x) = 1 / (1 + x)
  log1p: { forward: "log1p(x)", grads: ["guard(g, g / (1 + x))"], tex: "\\log\\left(1 + {x}\\right)" },
  // d/dx (e^x - 1) = e^x = y + 1
  expm1: { forward: "expm1(x)", grads: ["g * (y + 1)"], tex: "\\left(e^{{x}} - 1\\right)" },
  // d/dx erf x = 2/sqrt(pi) e^(-x^2)
  erf: {
    forward: "erf(x)",
    grads: ["g * 1.1283791670955126 * exp(-(x ^ 2))"],
    tex: "\\operatorname{erf}\\left({x}\\right)",
  },

  add: { forward: "a + b", grads: ["g", "g"] },
  sub: { forward: "a - b", grads: ["g", "-g"] },
  // d(ab) = b da + a db
  mul: { forward: "a * b", grads: ["g * b", "g * a"] },
  // d(a/b) = da/b - a/b^2 db = da/b - y/b db  (guarded at b = 0)
  div: { forward: "a / b", grads: ["guard(g, g / b)", "guard(g, -(g * y) / b)"] },
  // d(a^b) = b a^(b-1) da + a^b log(a) db  (guarded where a^(b-1) or log(a) is infinite)
  // d/da a^b = b a^(b-1), 0 where b = 0 (a^0 = 1 everywhere, also at a = 0, where the formula is 0 · Inf);
  // d/db a^b = a^b log a, 0 where a = 0 (the limit for b > 0; log 0 = -Inf would make it 0 · -Inf),
  // as JAX does; derivations write the textbook forms
  pow: {
    forward: "a ^ b",
    grads: ["guard(g, select(abs(b), g * b * a ^ (b - 1), 0))", "guard(g, g * y * log(select(abs(a), a, 1)))"],
    show: ["g * b * a ^ (b - 1)", "g * y * log(a)"],
  },
  // the larger operand takes the gradient (ties go to a); the other gets exactly 0
  max: {
    forward: "max(a, b)",
    grads: ["select(ge(a, b), g, 0)", "select(ge(a, b), 0, g)"],
    tex: "\\max\\left({a}, {b}\\right)",
  },
  min: {
    forward: "min(a, b)",
    grads: ["select(ge(b, a), g, 0)", "select(ge(b, a), 0, g)"],
    tex: "\\min\\left({a}, {b}\\right)",
  },
  ge: { forward: "a >= b ? 1 : 0", grads: ["0", "0"], tex: "\\mathbf{1}\\left[{a} \\ge {b}\\right]" },
  gt: { forward: "a > b ? 1 : 0", grads: ["0", "0"], tex: "\\mathbf{1}\\left[{a} > {b}\\right]" },
  eq: { forward: "a == b ? 1 : 0", grads: ["0", "0"], tex: "\\mathbf{1}\\left[{a} = {b}\\right]" },
  guard: { forward: "a == 0 ? 0 : b", grads: ["0", "guard(a, g)"], tex: "{b}" },
  select: {
    forward: "c > 0 ? a : b",
    grads: ["0", "select(c, g, 0)", "select(c, 0, g)"],
    tex: "\\operatorname{select}\\left({c} > 0, {a}, {b}\\right)",
  },

  // the adjoint of a broadcast sums over the broadcast axes
  broadcast: { grads: ["reduce_to(g, x)"], tex: "{x}" },
  rowbcast: { grads: ["rowsum(g)"], tex: "{v}" },
  transpose: { grads: ["transpose(g)"], tex: "{x}^{\\top}" },

  sum: { grads: ["expand(g, x)"], tex: "\\textstyle\\sum {x}" },
  rowsum: { grads: ["rowexpand(g, x)"], tex: "\\operatorname{rowsum}\\left({x}\\right)" },
  reduce_to: { grads: ["expand(g, x)"], tex: "\\operatorname{unbroadcast}\\left({x}\\right)" },
  // y = A x:  dA = g x^T,  dx = A^T g = g^T A
  matvec: { grads: ["outer(g, x)", "vecmat(g, A)"], tex: "{A} {x}" },
  // y = x B:  dx = B g,  dB = x g^T
  vecmat: { grads: ["matvec(B, g)", "outer(x, g)"], tex: "{B}^{\\top} {x}" },
  // Y = A B:  dA = G B^T,  dB = A^T G
  matmul: { grads: ["matmul(g, transpose(B))", "matmul(transpose(A), g)"], tex: "{A} {B}" },
  // Y = a b^T:  da = G b,  db = G^T a = a^T G
  outer: { grads: ["matvec(g, b)", "vecmat(a, g)"], tex: "{a} {b}^{\\top}" },
  dot: { grads: ["g * b", "g * a"], tex: "{a}^{\\top} {b}" },
  // softmax' = diag(y) - y y^T, applied to g: y * (g - <g, y>)
  softmax: { grads: ["y * (g - rowexpand(rowsum(g * y), x))"], tex: "\\operatorname{softmax}\\left({x}\\right)" },
  // log_softmax' applied to g: g - softmax(x) * sum(g)
  log_softmax: {
    grads: ["g - exp(y) * rowexpand(rowsum(g), x)"],
    tex: "\\operatorname{log\\,softmax}\\left({x}\\right)",
  },
  // d logsumexp = softmax
  logsumexp: { grads: ["rowexpand(g, x) * softmax(x)"], tex: "\\operatorname{logsumexp}\\left({x}\\right)" },
  // lecture 4.6.4: d/dz [logsumexp(z) - sum(t z)] = softmax(z) - t

  // ---- the generic primitives: each one's derivative is another of them ----------------------
  // reduce <-> broadcast: each element of x gets the cotangent of the sum it went into
  reduce_sum: {
    grads: [(b, n, g) => unreduce(b, g, n.attrs!.axes!, b.shape(n.args[0]))],
    show: ["expand(g, x)"],
    tex: "\\textstyle\\sum {x}",
  },
  // the maxima of each reduced group share its cotangent evenly (jnp.max, torch.amax): mask / count
  reduce_max: { grads: [(b, n, g) => shareAmongExtremes(b, n, g)], show: ["extremes(g, x)"], tex: "\\max {x}" },
  reduce_min: { grads: [(b, n, g) => shareAmongExtremes(b, n, g)], show: ["extremes(g, x)"], tex: "\\min {x}" },
  // permute <-> the inverse permutation
  permute: {
    grads: [(b, n, g) => permuteOf(b, g, inversePerm(n.attrs!.perm!))],
    show: ["unpermute(g, x)"],
    tex: "\\operatorname{permute}\\left({x}\\right)",
  },
  // reshape <-> reshape back
  reshape: { grads: [(b, n, g) => reshapeOf(b, g, b.shape(n.args[0]))], show: ["unreshape(g, x)"], tex: "{x}" },
  // slice <-> pad: the window's cotangent, zeros elsewhere
  slice: {
    grads: [(b, n, g) => padOf(b, g, n.attrs!.starts!, n.attrs!.steps!, b.shape(n.args[0]))],
    show: ["unslice(g, x)"],
    tex: "{x}",
  },
  pad: {
    grads: [(b, n, g) => sliceOf(b, g, n.attrs!.starts!, n.attrs!.steps!, b.shape(n.args[0]))],
    show: ["unpad(g, x)"],
    tex: "{x}",
  },
  // a contraction's operand gets the contraction of g with the other operands (its subscripts as the result)
  contract1: {
    grads: [(b, n, g) => contractGrad(b, n.attrs!.spec!, n.args, g, 0)],
    show: ["contractgrad(g, x)"],
    tex: "\\operatorname{einsum}\\left({x}\\right)",
  },
  contract2: {
    grads: [
      (b, n, g) => contractGrad(b, n.attrs!.spec!, n.args, g, 0),
      (b, n, g) => contractGrad(b, n.attrs!.spec!, n.args, g, 1),
    ],
    show: ["contractgrad(g, a)", "contractgrad(g, b)"],
    tex: "\\operatorname{einsum}\\left({a}, {b}\\right)",
  },
  // gather <-> scatter-add: each gathered element's cotangent goes back to the row it came from (repeats add up)
  gather: {
    grads: [
      (b, n, g) =>
        b.node("scatter_add", [g, n.args[1]], { target: [...b.shape(n.args[0])], attrs: { axis: n.attrs!.axis! } }),
      "0",
    ],
    show: ["scatter(g, x)", "0"],
    tex: "\\operatorname{take}\\left({x}, {ids}\\right)",
  },
  scatter_add: {
    grads: [(b, n, g) => b.node("gather", [g, n.args[1]], { attrs: { axis: n.attrs!.axis! } }), "0"],
    show: ["gatherback(g, g)", "0"],
    tex: "\\operatorname{scatter}\\left({g}, {ids}\\right)",
  },
  // integer data: no gradient
  one_hot: { grads: ["0"], tex: "\\operatorname{onehot}\\left({labels}\\right)" },
  // constant: no operands
  iota: { grads: [], tex: "\\operatorname{index}" },
  sce: {
    grads: ["rowexpand(g, z) * (softmax(z) - t)", "-(rowexpand(g, z) * z)"],
    tex: "\\operatorname{CE}\\left({z}, {t}\\right)",
  },
};

/** reduce_max/min's cotangent: the extremes of each group (x == y spread back), g / their count */
function shareAmongExtremes(b: Builder, n: Node, g: number): number {
  const axes = n.attrs!.axes!;
  const full = b.shape(n.args[0]);
  const mask = b.elementwise("eq", [n.args[0], unreduce(b, n.id, axes, full)]);
  const count = b.node("reduce_sum", [mask], { attrs: { axes: [...axes] } });
  return b.elementwise("mul", [mask, unreduce(b, b.elementwise("div", [g, count]), axes, full)]);
}
