import { sameShape, type Shape } from "../shape/shape.js";
import { sameOpBatch } from "./batching.js";
import { map1, map2 } from "./reference.js";
import type { ElementwiseDef } from "./types.js";

/**
 * The elementwise ops: operands and result share one shape (the builder inserts broadcasts), and
 * the emitter form is the scalar formula `forward`, fused into loops over the elements.
 */

type Fields = Omit<ElementwiseDef, "kind" | "args" | "shape" | "attrs" | "target" | "batch" | "flops">;
const same = (a: readonly Shape[]) => (a.every((s) => sameShape(s, a[0])) ? a[0] : undefined);
const base = {
  kind: "elementwise",
  shape: same,
  attrs: [],
  target: false,
  batch: sameOpBatch,
  flops: null,
} as const;
const unary = (f: Fields): ElementwiseDef => ({ ...base, args: ["x"], ...f });
const binary = (f: Fields): ElementwiseDef => ({ ...base, args: ["a", "b"], ...f });
const commutative = (f: Fields): ElementwiseDef => ({ ...binary(f), commutative: true });
const ternary = (f: Fields): ElementwiseDef => ({ ...base, args: ["c", "a", "b"], ...f });

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * erf by its Maclaurin series for |x| < 2 (terms shrink past n ~ x², 1e-17 after ~50 terms)
 * and the continued fraction of erfc beyond; independent of the emitted helper.
 */
function erfReference(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated backwards
  let f = ax;
  for (let k = 160; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

export const elementwise = {
  // d(-x) = -1
  neg: unary({ forward: "-x", grads: ["-g"], tex: null, evaluate: map1((x) => -x) }),
  // d/dx e^x = e^x = y
  exp: unary({ forward: "exp(x)", grads: ["g * y"], tex: "\\exp\\left({x}\\right)", evaluate: map1(Math.exp) }),
  // d/dx log x = 1/x  (guarded: a zero cotangent stays 0 at x = 0)
  log: unary({
    forward: "log(x)",
    grads: ["guard(g, g / x)"],
    tex: "\\log\\left({x}\\right)",
    evaluate: map1(Math.log),
  }),
  // d/dx sqrt x = 1 / (2 sqrt x)  (guarded at x = 0)
  sqrt: unary({ forward: "sqrt(x)", grads: ["guard(g, g / (2 * y))"], tex: "\\sqrt{{x}}", evaluate: map1(Math.sqrt) }),
  // d/dx |x| = sign x
  abs: unary({ forward: "abs(x)", grads: ["g * sign(x)"], tex: "\\left|{x}\\right|", evaluate: map1(Math.abs) }),
  sin: unary({ forward: "sin(x)", grads: ["g * cos(x)"], tex: "\\sin\\left({x}\\right)", evaluate: map1(Math.sin) }),
  cos: unary({ forward: "cos(x)", grads: ["-(g * sin(x))"], tex: "\\cos\\left({x}\\right)", evaluate: map1(Math.cos) }),
  // d/dx tan = 1 + tan^2
  tan: unary({
    forward: "tan(x)",
    grads: ["g * (1 + y ^ 2)"],
    tex: "\\tan\\left({x}\\right)",
    evaluate: map1(Math.tan),
  }),
  // d/dx tanh = 1 - y^2
  tanh: unary({
    forward: "tanh(x)",
    grads: ["g * (1 - y ^ 2)"],
    tex: "\\tanh\\left({x}\\right)",
    prime: "\\tanh'\\left({x}\\right)",
    bound: "tanh' ≤ 1",
    evaluate: map1(Math.tanh),
  }),
  // sigma' = sigma (1 - sigma); 1 / (1 + e^-x) is safe at both ends (e^-x = Inf gives 0, not NaN)
  sigmoid: unary({
    forward: "1 / (1 + exp(-x))",
    grads: ["g * y * (1 - y)"],
    tex: "\\sigma\\left({x}\\right)",
    prime: "\\sigma'\\left({x}\\right)",
    bound: "sigmoid' ≤ 1/4",
    evaluate: map1(sigmoid),
  }),
  // relu(NaN) = NaN, as PyTorch and JAX (a NaN weight must not vanish into a finite loss);
  // relu' = 1 where x > 0 (0 at the kink, as PyTorch); a select, so g = Inf where x <= 0 gives 0, not NaN
  // NaN stays NaN (PyTorch, JAX)
  relu: unary({
    forward: "x < 0 ? 0 : x",
    grads: ["select(x, g, 0)"],
    tex: "\\operatorname{ReLU}\\left({x}\\right)",
    prime: "\\operatorname{ReLU}'\\left({x}\\right)",
    bound: "relu' ∈ {0, 1}",
    evaluate: map1((x) => (x < 0 ? 0 : x)),
  }),
  // softplus' = sigma; log(1 + e^x) = max(x, 0) + log1p(e^-|x|) never overflows
  softplus: unary({
    forward: "max(x, 0) + log1p(exp(-abs(x)))",
    grads: ["g * sigmoid(x)"],
    tex: "\\operatorname{softplus}\\left({x}\\right)",
    bound: "softplus' = sigmoid < 1",
    evaluate: map1((x) => (x > 30 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))),
  }),
  /** 1 where x > 0, else 0 (relu's derivative) */
  step: unary({
    indicator: true,
    forward: "x > 0 ? 1 : 0",
    grads: ["0"],
    tex: "\\mathbf{1}\\left[{x} > 0\\right]",
    evaluate: map1((x) => (x > 0 ? 1 : 0)),
  }),
  sign: unary({
    forward: "sign(x)",
    grads: ["0"],
    tex: "\\operatorname{sign}\\left({x}\\right)",
    evaluate: map1(Math.sign),
  }),
  // d/dx log(1 + x) = 1 / (1 + x)
  log1p: unary({
    forward: "log1p(x)",
    grads: ["guard(g, g / (1 + x))"],
    tex: "\\log\\left(1 + {x}\\right)",
    evaluate: map1(Math.log1p),
  }),
  // d/dx (e^x - 1) = e^x = y + 1
  expm1: unary({
    forward: "expm1(x)",
    grads: ["g * (y + 1)"],
    tex: "\\left(e^{{x}} - 1\\right)",
    evaluate: map1(Math.expm1),
  }),
  // d/dx erf x = 2/sqrt(pi) e^(-x^2)
  erf: unary({
    forward: "erf(x)",
    grads: ["g * 1.1283791670955126 * exp(-(x ^ 2))"],
    tex: "\\operatorname{erf}\\left({x}\\right)",
    evaluate: map1(erfReference),
  }),
  add: commutative({ forward: "a + b", grads: ["g", "g"], tex: null, evaluate: map2((a, b) => a + b) }),
  sub: binary({ forward: "a - b", grads: ["g", "-g"], tex: null, evaluate: map2((a, b) => a - b) }),
  // d(ab) = b da + a db
  mul: commutative({ forward: "a * b", grads: ["g * b", "g * a"], tex: null, evaluate: map2((a, b) => a * b) }),
  // d(a/b) = da/b - a/b^2 db = da/b - y/b db  (guarded at b = 0)
  div: binary({
    forward: "a / b",
    grads: ["guard(g, g / b)", "guard(g, -(g * y) / b)"],
    tex: null,
    evaluate: map2((a, b) => a / b),
  }),
  // d(a^b) = b a^(b-1) da + a^b log(a) db  (guarded where a^(b-1) or log(a) is infinite)
  // d/da a^b = b a^(b-1), 0 where b = 0 (a^0 = 1 everywhere, also at a = 0, where the formula is 0 · Inf);
  // d/db a^b = a^b log a, 0 where a = 0 (the limit for b > 0; log 0 = -Inf would make it 0 · -Inf),
  // as JAX does; derivations write the textbook forms
  pow: binary({
    forward: "a ^ b",
    grads: ["guard(g, select(abs(b), g * b * a ^ (b - 1), 0))", "guard(g, g * y * log(select(abs(a), a, 1)))"],
    show: ["g * b * a ^ (b - 1)", "g * y * log(a)"],
    tex: null,
    evaluate: map2((a, b) => Math.pow(a, b)),
  }),
  // the larger operand takes the gradient (ties go to a); the other gets exactly 0
  // elementwise maximum and minimum: a NaN operand gives NaN (NumPy's maximum/minimum)
  max: commutative({
    forward: "max(a, b)",
    grads: ["select(ge(a, b), g, 0)", "select(ge(a, b), 0, g)"],
    tex: "\\max\\left({a}, {b}\\right)",
    evaluate: map2((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a >= b ? a : b)),
  }),
  min: commutative({
    forward: "min(a, b)",
    grads: ["select(ge(b, a), g, 0)", "select(ge(b, a), 0, g)"],
    tex: "\\min\\left({a}, {b}\\right)",
    evaluate: map2((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a <= b ? a : b)),
  }),
  /** 1 where a >= b, else 0 (selects max/min's branch) */
  ge: binary({
    indicator: true,
    forward: "a >= b ? 1 : 0",
    grads: ["0", "0"],
    tex: "\\mathbf{1}\\left[{a} \\ge {b}\\right]",
    evaluate: map2((a, b) => (a >= b ? 1 : 0)),
  }),
  /** 1 where a > b, else 0 */
  gt: binary({
    indicator: true,
    forward: "a > b ? 1 : 0",
    grads: ["0", "0"],
    tex: "\\mathbf{1}\\left[{a} > {b}\\right]",
    evaluate: map2((a, b) => (a > b ? 1 : 0)),
  }),
  /** 1 where a == b, else 0 */
  eq: commutative({
    indicator: true,
    forward: "a == b ? 1 : 0",
    grads: ["0", "0"],
    tex: "\\mathbf{1}\\left[{a} = {b}\\right]",
    evaluate: map2((a, b) => (a === b ? 1 : 0)),
  }),
  /** 0 where g is exactly 0, else v: a zero cotangent contributes zero even where v is 0 * Inf */
  guard: binary({
    forward: "a == 0 ? 0 : b",
    grads: ["0", "guard(a, g)"],
    tex: "{b}",
    evaluate: map2((a, b) => (a === 0 ? 0 : b)),
  }),
  /** a where c > 0, else b: picks a branch, so an infinite or NaN untaken branch cannot leak */
  select: ternary({
    forward: "c > 0 ? a : b",
    grads: ["0", "select(c, g, 0)", "select(c, 0, g)"],
    tex: "\\operatorname{select}\\left({c} > 0, {a}, {b}\\right)",
    evaluate: (_n, [c, a, b]) => c.map((v, i) => (v > 0 ? a[i] : b[i])),
  }),
} satisfies Record<string, ElementwiseDef>;
