import type { Op } from "../ops/index.js";

/**
 * The IR ops a formula writes as operators, once: mathjs's operator symbol and function name for
 * each. Formulas are parsed into IR through it, and derivations print IR through it.
 */
export const mathOperators = {
  add: { symbol: "+", fn: "add" },
  sub: { symbol: "-", fn: "subtract" },
  mul: { symbol: "*", fn: "multiply" },
  div: { symbol: "/", fn: "divide" },
  pow: { symbol: "^", fn: "pow" },
} as const satisfies Partial<Record<Op, { symbol: string; fn: string }>>;

/** mathjs operator function name -> IR op (negation is the unary `unaryMinus`) */
export const opOfMathFunction: Readonly<Record<string, Op>> = {
  ...Object.fromEntries(Object.entries(mathOperators).map(([op, o]) => [o.fn, op as Op])),
  unaryMinus: "neg",
};

/**
 * The operators and functions a forward formula may use, once: how each computes (for constant
 * folding, src/rules/scalar.ts) and the JavaScript the TypeScript emitter prints for it.
 * Functions Math lacks (erf) are the emitter's module functions and are not folded.
 */
export const formulaOperators = {
  add: { js: "+", apply: (a: number, b: number) => a + b },
  subtract: { js: "-", apply: (a: number, b: number) => a - b },
  multiply: { js: "*", apply: (a: number, b: number) => a * b },
  divide: { js: "/", apply: (a: number, b: number) => a / b },
  pow: { js: "**", apply: (a: number, b: number) => a ** b },
  larger: { js: ">", apply: (a: number, b: number) => (a > b ? 1 : 0) },
  largerEq: { js: ">=", apply: (a: number, b: number) => (a >= b ? 1 : 0) },
  smaller: { js: "<", apply: (a: number, b: number) => (a < b ? 1 : 0) },
  smallerEq: { js: "<=", apply: (a: number, b: number) => (a <= b ? 1 : 0) },
  equal: { js: "===", apply: (a: number, b: number) => (a === b ? 1 : 0) },
} as const;

/** formula functions that are JavaScript's Math functions of the same name */
export const formulaMathFunctions: ReadonlySet<string> = new Set([
  "exp",
  "log",
  "log1p",
  "sqrt",
  "abs",
  "sin",
  "cos",
  "tan",
  "tanh",
  "sign",
  "max",
  "min",
  "expm1",
]);
