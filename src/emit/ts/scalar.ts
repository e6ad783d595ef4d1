import { InternalError } from "../../diagnostics/internal.js";
import { opInfo, type Op } from "../../ops/index.js";
import { ruleFor } from "../../rules/formula.js";
import { countUses, foldFormula } from "../../rules/fold.js";
import { formulaMathFunctions, formulaOperators } from "../../rules/operators.js";
import { moduleFunctions } from "./helpers.js";
import { bin, call, cond, id, member, neg, num, type BinOp, type Expr } from "../../code/syntax.js";

const trivial = (e: Expr) => e.k === "num" || e.k === "id" || e.k === "index" || e.k === "member";

/**
 * One element of an elementwise op as a TypeScript expression, printed from the rule table's
 * forward formula with the operands substituted. An operand the formula reads twice is bound
 * to a local first (via `bind`), so nothing is computed twice.
 */
export function elementExpr(op: Op, operands: readonly Expr[], bind: (e: Expr) => Expr): Expr {
  const formula = ruleFor(op).forward;
  if (!formula) throw new InternalError(`${op} has no forward formula`);
  const names = opInfo(op).args;
  const env = new Map<string, Expr>();
  names.forEach((name, i) => {
    const e = operands[i];
    env.set(name, !trivial(e) && countUses(formula, name) > 1 ? bind(e) : e);
  });
  return foldFormula<Expr>(formula, {
    constant: (v) => num(v),
    symbol: (name) => {
      const e = env.get(name);
      if (!e) throw new InternalError(`${op}: unbound ${name}`);
      return e;
    },
    operator: (fn, args) => {
      if (fn === "unaryMinus") return neg(args[0]);
      const [a, b] = args;
      // x^2 -> x * x (exact, and faster than a power)
      if (fn === "pow" && b.k === "num" && b.v === 2) {
        const base = trivial(a) ? a : bind(a);
        return bin("*", base, base);
      }
      const o = (formulaOperators as Record<string, { js: BinOp } | undefined>)[fn];
      if (!o) throw new InternalError(`${op}: operator ${fn} has no TypeScript form`);
      return bin(o.js, a, b);
    },
    call: (name, args) => {
      // a function Math lacks: the module defines it (helpers.ts)
      if (name in moduleFunctions) return call(id(name), ...args);
      if (!formulaMathFunctions.has(name)) throw new InternalError(`${op}: function ${name} has no TypeScript form`);
      return call(member(id("Math"), name), ...args);
    },
    conditional: (c, a, b) => cond(c, a, b),
  });
}
