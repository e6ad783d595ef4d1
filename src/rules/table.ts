import type { Op } from "../ir/ops.js";

/**
 * The derivative table: one row per IR op, like PyTorch's derivatives.yaml.
 * Format: op -> { forward?, grads }.
 *   forward  elementwise ops only: the op on one element, as mathjs text over its operand
 *            names (ops.ts); the TypeScript and LaTeX emitters print it.
 *   grads    per operand: its cotangent contribution, as mathjs text over the operands, `y`
 *            (the op's result) and `g` (the cotangent of y). "0" means no dependence.
 * Functions in formulas are IR ops, plus expand(v, ref) / rowexpand(v, ref) / reduce_to(v, ref),
 * which broadcast or reduce v to the shape of ref. Arithmetic broadcasts like the language.
 */
export interface Rule {
  readonly forward?: string;
  readonly grads: readonly string[];
}

export const rules: Record<Exclude<Op, "param" | "input" | "const">, Rule> = {
  // d(-x) = -1
  neg: { forward: "-x", grads: ["-g"] },
  // d/dx e^x = e^x = y
  exp: { forward: "exp(x)", grads: ["g * y"] },
  // d/dx log x = 1/x  (guarded: a zero cotangent stays 0 at x = 0)
  log: { forward: "log(x)", grads: ["guard(g, g / x)"] },
  // d/dx sqrt x = 1 / (2 sqrt x)  (guarded at x = 0)
  sqrt: { forward: "sqrt(x)", grads: ["guard(g, g / (2 * y))"] },
  // d/dx |x| = sign x
  abs: { forward: "abs(x)", grads: ["g * sign(x)"] },
  sin: { forward: "sin(x)", grads: ["g * cos(x)"] },
  cos: { forward: "cos(x)", grads: ["-(g * sin(x))"] },
  // d/dx tan = 1 + tan^2
  tan: { forward: "tan(x)", grads: ["g * (1 + y ^ 2)"] },
  // d/dx tanh = 1 - y^2
  tanh: { forward: "tanh(x)", grads: ["g * (1 - y ^ 2)"] },
  // sigma' = sigma (1 - sigma); forward never overflows exp
  sigmoid: { forward: "x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))", grads: ["g * y * (1 - y)"] },
  // relu' = 1 where x > 0 (0 at the kink, as PyTorch); a select, so g = Inf where x <= 0 gives 0, not NaN
  relu: { forward: "x > 0 ? x : 0", grads: ["select(x, g, 0)"] },
  // softplus' = sigma; log(1 + e^x) = max(x, 0) + log1p(e^-|x|) never overflows
  softplus: { forward: "max(x, 0) + log1p(exp(-abs(x)))", grads: ["g * sigmoid(x)"] },
  step: { forward: "x > 0 ? 1 : 0", grads: ["0"] },
  sign: { forward: "sign(x)", grads: ["0"] },

  add: { forward: "a + b", grads: ["g", "g"] },
  sub: { forward: "a - b", grads: ["g", "-g"] },
  // d(ab) = b da + a db
  mul: { forward: "a * b", grads: ["g * b", "g * a"] },
  // d(a/b) = da/b - a/b^2 db = da/b - y/b db  (guarded at b = 0)
  div: { forward: "a / b", grads: ["guard(g, g / b)", "guard(g, -(g * y) / b)"] },
  // d(a^b) = b a^(b-1) da + a^b log(a) db  (guarded where a^(b-1) or log(a) is infinite)
  pow: { forward: "a ^ b", grads: ["guard(g, g * b * a ^ (b - 1))", "guard(g, g * y * log(a))"] },
  // the larger operand takes the gradient (ties go to a); the other gets exactly 0
  max: { forward: "max(a, b)", grads: ["select(ge(a, b), g, 0)", "select(ge(a, b), 0, g)"] },
  min: { forward: "min(a, b)", grads: ["select(ge(b, a), g, 0)", "select(ge(b, a), 0, g)"] },
  ge: { forward: "a >= b ? 1 : 0", grads: ["0", "0"] },
  guard: { forward: "a == 0 ? 0 : b", grads: ["0", "guard(a, g)"] },
  select: { forward: "c > 0 ? a : b", grads: ["0", "select(c, g, 0)", "select(c, 0, g)"] },

  // the adjoint of a broadcast sums over the broadcast axes
  broadcast: { grads: ["reduce_to(g, x)"] },
  rowbcast: { grads: ["rowsum(g)"] },
  transpose: { grads: ["transpose(g)"] },

  sum: { grads: ["expand(g, x)"] },
  rowsum: { grads: ["rowexpand(g, x)"] },
  reduce_to: { grads: ["expand(g, x)"] },
  // y = A x:  dA = g x^T,  dx = A^T g = g^T A
  matvec: { grads: ["outer(g, x)", "vecmat(g, A)"] },
  // y = x B:  dx = B g,  dB = x g^T
  vecmat: { grads: ["matvec(B, g)", "outer(x, g)"] },
  // Y = A B:  dA = G B^T,  dB = A^T G
  matmul: { grads: ["matmul(g, transpose(B))", "matmul(transpose(A), g)"] },
  // Y = a b^T:  da = G b,  db = G^T a = a^T G
  outer: { grads: ["matvec(g, b)", "vecmat(a, g)"] },
  dot: { grads: ["g * b", "g * a"] },
  // softmax' = diag(y) - y y^T, applied to g: y * (g - <g, y>)
  softmax: { grads: ["y * (g - rowexpand(rowsum(g * y), x))"] },
  // log_softmax' applied to g: g - softmax(x) * sum(g)
  log_softmax: { grads: ["g - exp(y) * rowexpand(rowsum(g), x)"] },
  // d logsumexp = softmax
  logsumexp: { grads: ["rowexpand(g, x) * softmax(x)"] },
  // lecture 4.6.4: d/dz [logsumexp(z) - sum(t z)] = softmax(z) - t
  sce: { grads: ["rowexpand(g, z) * (softmax(z) - t)", "-(rowexpand(g, z) * z)"] },
};
