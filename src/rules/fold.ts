import { InternalError } from "../diagnostics/internal.js";

/**
 * A rule-table formula as a tree, parsed from its mathjs text once, when the package is built
 * (scripts/rules.ts writes src/rules/formulas.generated.ts): the compiler reads formulas without
 * loading mathjs. Operators keep mathjs's function names (add, subtract, ..., unaryMinus, larger).
 */
export type Formula =
  | { readonly type: "const"; readonly value: number }
  | { readonly type: "sym"; readonly name: string }
  | { readonly type: "op"; readonly fn: string; readonly args: readonly Formula[] }
  | { readonly type: "call"; readonly name: string; readonly args: readonly Formula[] }
  | { readonly type: "cond"; readonly condition: Formula; readonly whenTrue: Formula; readonly whenFalse: Formula };

/**
 * One traversal of a rule-table formula, shared by everything that reads
 * formulas: autodiff builds IR nodes, the TypeScript emitter builds expressions, the
 * explainer builds display math. Operands are folded first.
 */
export interface FormulaFold<T> {
  constant(value: number): T;
  symbol(name: string): T;
  /** mathjs operator names: add, subtract, multiply, divide, pow, unaryMinus, larger, largerEq, ... */
  operator(fn: string, args: T[]): T;
  call(name: string, args: T[]): T;
  conditional?(condition: T, whenTrue: T, whenFalse: T): T;
}

export function foldFormula<T>(n: Formula, f: FormulaFold<T>): T {
  switch (n.type) {
    case "const":
      return f.constant(n.value);
    case "sym":
      return f.symbol(n.name);
    case "op":
      return f.operator(
        n.fn,
        n.args.map((a) => foldFormula(a, f)),
      );
    case "call":
      return f.call(
        n.name,
        n.args.map((a) => foldFormula(a, f)),
      );
    case "cond":
      if (!f.conditional) throw new InternalError("a conditional formula is not supported here");
      return f.conditional(foldFormula(n.condition, f), foldFormula(n.whenTrue, f), foldFormula(n.whenFalse, f));
  }
}

/** How many times a formula reads `name` (as a value, not as a function's name). */
export function countUses(n: Formula, name: string): number {
  return foldFormula<number>(n, {
    constant: () => 0,
    symbol: (s) => (s === name ? 1 : 0),
    operator: (_fn, args) => args.reduce((a, b) => a + b, 0),
    call: (_name, args) => args.reduce((a, b) => a + b, 0),
    conditional: (c, a, b) => c + a + b,
  });
}
