import type { Op } from "../ir/ops.js";

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
