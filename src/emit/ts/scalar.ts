import type { MathNode } from "mathjs";
import { InternalError } from "../../diagnostics/error.js";
import { opInfo, type Op } from "../../ir/ops.js";
import { ruleFor } from "../../rules/formula.js";
import { bin, call, cond, id, member, neg, num, type BinOp, type Expr } from "./syntax.js";

/** mathjs functions in forward formulas -> JavaScript's Math. */
const mathFunctions: Readonly<Record<string, string>> = {
  exp: "exp", log: "log", log1p: "log1p", sqrt: "sqrt", abs: "abs", sin: "sin", cos: "cos", tan: "tan",
  tanh: "tanh", sign: "sign", max: "max", min: "min",
};
const operators: Readonly<Record<string, BinOp>> = {
  add: "+", subtract: "-", multiply: "*", divide: "/", pow: "**", larger: ">", largerEq: ">=", smaller: "<", smallerEq: "<=", equal: "===",
};

const trivial = (e: Expr) => e.k === "num" || e.k === "id" || e.k === "index" || e.k === "member";

function uses(n: MathNode, name: string): number {
  let count = 0;
  n.traverse((x, _p, parent) => {
    const isCallee = parent?.type === "FunctionNode" && (parent as unknown as { fn: MathNode }).fn === x;
    if (x.type === "SymbolNode" && !isCallee && (x as unknown as { name: string }).name === name) count++;
  });
  return count;
}

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
    env.set(name, !trivial(e) && uses(formula, name) > 1 ? bind(e) : e);
  });
  const go = (n: MathNode): Expr => {
    switch (n.type) {
      case "ParenthesisNode":
        return go((n as unknown as { content: MathNode }).content);
      case "ConstantNode":
        return num(Number((n as unknown as { value: unknown }).value));
      case "SymbolNode": {
        const e = env.get((n as unknown as { name: string }).name);
        if (!e) throw new InternalError(`${op}: unbound ${(n as unknown as { name: string }).name}`);
        return e;
      }
      case "OperatorNode": {
        const { fn, args } = n as unknown as { fn: string; args: MathNode[] };
        if (fn === "unaryMinus") return neg(go(args[0]));
        const a = go(args[0]);
        const b = go(args[1]);
        // x^2 -> x * x (exact, and faster than a power)
        if (fn === "pow" && b.k === "num" && b.v === 2) {
          const base = trivial(a) ? a : bind(a);
          return bin("*", base, base);
        }
        const o = operators[fn];
        if (!o) throw new InternalError(`${op}: operator ${fn} has no TypeScript form`);
        return bin(o, a, b);
      }
      case "FunctionNode": {
        const { fn, args } = n as unknown as { fn: { name: string }; args: MathNode[] };
        const js = mathFunctions[fn.name];
        if (!js) throw new InternalError(`${op}: function ${fn.name} has no TypeScript form`);
        return call(member(id("Math"), js), ...args.map(go));
      }
      case "ConditionalNode": {
        const { condition, trueExpr, falseExpr } = n as unknown as { condition: MathNode; trueExpr: MathNode; falseExpr: MathNode };
        return cond(go(condition), go(trueExpr), go(falseExpr));
      }
      default:
        throw new InternalError(`${op}: formula node ${n.type} has no TypeScript form`);
    }
  };
  return go(formula);
}
