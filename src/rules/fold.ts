import type { MathNode } from "mathjs";
import { InternalError } from "../diagnostics/internal.js";

/**
 * One traversal of a rule-table formula (a mathjs tree), shared by everything that reads
 * formulas: autodiff builds IR nodes, the TypeScript emitter builds expressions, the
 * explainer builds display math. Operands are folded first; parentheses are transparent.
 */
export interface FormulaFold<T> {
  constant(value: number): T;
  symbol(name: string): T;
  /** mathjs operator names: add, subtract, multiply, divide, pow, unaryMinus, larger, largerEq, ... */
  operator(fn: string, args: T[]): T;
  call(name: string, args: T[]): T;
  conditional?(condition: T, whenTrue: T, whenFalse: T): T;
}

interface Fields {
  content: MathNode;
  value: unknown;
  name: string;
  fn: string | { name: string };
  args: MathNode[];
  condition: MathNode;
  trueExpr: MathNode;
  falseExpr: MathNode;
}

export function foldFormula<T>(n: MathNode, f: FormulaFold<T>): T {
  const x = n as unknown as Fields;
  switch (n.type) {
    case "ParenthesisNode":
      return foldFormula(x.content, f);
    case "ConstantNode":
      return f.constant(Number(x.value));
    case "SymbolNode":
      return f.symbol(x.name);
    case "OperatorNode":
      return f.operator(
        x.fn as string,
        x.args.map((a) => foldFormula(a, f)),
      );
    case "FunctionNode":
      return f.call(
        (x.fn as { name: string }).name,
        x.args.map((a) => foldFormula(a, f)),
      );
    case "ConditionalNode":
      if (!f.conditional) break;
      return f.conditional(foldFormula(x.condition, f), foldFormula(x.trueExpr, f), foldFormula(x.falseExpr, f));
  }
  throw new InternalError(`formula node ${n.type} is not supported here`);
}

/** How many times a formula reads `name` (as a value, not as a function's name). */
export function countUses(n: MathNode, name: string): number {
  return foldFormula<number>(n, {
    constant: () => 0,
    symbol: (s) => (s === name ? 1 : 0),
    operator: (_fn, args) => args.reduce((a, b) => a + b, 0),
    call: (_name, args) => args.reduce((a, b) => a + b, 0),
    conditional: (c, a, b) => c + a + b,
  });
}
