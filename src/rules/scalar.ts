import { foldFormula, type Formula } from "./fold.js";
import { formulaMathFunctions, formulaOperators } from "./operators.js";

/**
 * A forward formula on numbers (constant folding): through the same operator and function
 * tables the TypeScript emitter prints, so a folded constant is what the generated code would
 * compute. Undefined when the formula calls a function Math lacks (erf).
 */
export function evaluateFormula(formula: Formula, env: Readonly<Record<string, number>>): number | undefined {
  const math = Math as unknown as Record<string, (...xs: number[]) => number>;
  return foldFormula<number | undefined>(formula, {
    constant: (v) => v,
    symbol: (name) => env[name],
    operator: (fn, args) => {
      if (args.some((a) => a === undefined)) return undefined;
      const [a, b] = args as number[];
      if (fn === "unaryMinus") return -a;
      const o = (formulaOperators as Record<string, { apply: (a: number, b: number) => number }>)[fn];
      return o ? o.apply(a, b) : undefined;
    },
    call: (name, args) =>
      formulaMathFunctions.has(name) && args.every((a) => a !== undefined)
        ? math[name](...(args as number[]))
        : undefined,
    conditional: (c, a, b) => (c === undefined ? undefined : c ? a : b),
  });
}
