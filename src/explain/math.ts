import { ConstantNode, FunctionNode, OperatorNode, SymbolNode, type MathNode } from "mathjs";
import { InternalError } from "../diagnostics/internal.js";
import { computedDef, elementwiseDef, isOp, opInfo, ops, type Op } from "../ops/index.js";
import type { Attrs } from "../ops/attrs.js";
import { displayOnly } from "../rules/formula.js";
import { foldFormula, type Formula } from "../rules/fold.js";
import { broadcastShapes, scalar, type Shape } from "../shape/shape.js";
import { mathOperators, opOfMathFunction } from "../rules/operators.js";

/**
 * Display algebra for derivations: mathjs expression trees that know each subterm's shape
 * (so a product of tensors prints as ⊙), built from the rule table's formulas, tidied by a
 * small rewrite table (never by mathjs simplify, which is exponential on nested terms), and
 * printed with mathjs toTex plus handlers for gradc's ops and symbols.
 */
const shapes = new WeakMap<MathNode, Shape>();

function shapeOf(n: MathNode): Shape {
  return shapes.get(n) ?? scalar;
}

function withShape<T extends MathNode>(n: T, s: Shape): T {
  shapes.set(n, s);
  return n;
}

export const sym = (key: string, s: Shape): MathNode => withShape(new SymbolNode(key), s);
export const num = (v: number): MathNode => withShape(new ConstantNode(v), scalar);

/** Shape of an op applied to display operands (target: the reference shape of expand & co). */
function resultShape(op: Op, args: readonly MathNode[], target?: Shape, attrs?: Attrs): Shape {
  const info = ops[op];
  if (info.kind === "elementwise") return args.reduce<Shape>((s, a) => broadcastShapes(s, shapeOf(a)) ?? s, scalar);
  return info.shape(args.map(shapeOf), target, attrs) ?? scalar;
}

/** op(args) as a display node: + - * / ^ and negation as operators, every other op as a function. */
export function apply(op: Op, args: readonly MathNode[], target?: Shape, attrs?: Attrs): MathNode {
  const s = resultShape(op, args, target, attrs);
  if (op === "neg") return withShape(new OperatorNode("-", "unaryMinus", [args[0]]), s);
  const o = op in mathOperators ? mathOperators[op as keyof typeof mathOperators] : undefined;
  if (o) return withShape(new OperatorNode(o.symbol as "+", o.fn as "add", [args[0], args[1]]), s);
  return withShape(new FunctionNode(new SymbolNode(op), [...args]), s);
}

/** A display-only function (derivative notation, masks): printed by `displayFunctions`. */
export function special(name: string, args: readonly MathNode[], s: Shape): MathNode {
  return withShape(new FunctionNode(new SymbolNode(name), [...args]), s);
}

/** Substitute display nodes for the symbols of a rule-table formula. */
export function substitute(formula: Formula, env: Readonly<Record<string, MathNode>>): MathNode {
  return foldFormula<MathNode>(formula, {
    constant: (v) => num(v),
    symbol: (name) => {
      const v = env[name];
      if (!v) throw new InternalError(`display: unbound ${name}`);
      return v;
    },
    operator: (fn, args) => apply(opOfMathFunction[fn], args),
    call: (name, xs) => {
      // expand / rowexpand / reduce_to take their shape from the reference operand
      if (name === "expand" || name === "rowexpand" || displayOnly.has(name))
        return withShape(new FunctionNode(new SymbolNode(name), xs), shapeOf(xs[1]));
      if (name === "reduce_to") return apply("reduce_to", [xs[0]], shapeOf(xs[1]));
      if (!isOp(name)) throw new InternalError(`display: unknown function ${name}`);
      return apply(name, xs);
    },
  });
}

// ---- tidying --------------------------------------------------------------------------------
const isConst = (n: MathNode): n is ConstantNode => n.type === "ConstantNode";
const value = (n: MathNode) => Number((n as unknown as { value: unknown }).value);
const isNum = (n: MathNode, v: number) => isConst(n) && value(n) === v;
const opFn = (n: MathNode) => (n.type === "OperatorNode" ? (n as unknown as { fn: string }).fn : undefined);
const fnName = (n: MathNode) =>
  n.type === "FunctionNode" ? (n as unknown as { fn: { name: string } }).fn.name : undefined;
const argsOf = (n: MathNode): MathNode[] => (n as unknown as { args: MathNode[] }).args;

function product(factors: MathNode[], s: Shape): MathNode {
  let c = 1;
  const rest: MathNode[] = [];
  for (const f of factors) {
    if (isConst(f)) c *= value(f);
    else rest.push(f);
  }
  if (c === 0) return num(0);
  let out: MathNode | undefined = c === 1 ? undefined : num(c);
  if (c === -1 && rest.length) out = undefined;
  for (const f of rest)
    out = out
      ? withShape(new OperatorNode("*", "multiply", [out, f]), broadcastShapes(shapeOf(out), shapeOf(f)) ?? s)
      : f;
  out ??= num(1);
  return c === -1 && rest.length ? withShape(new OperatorNode("-", "unaryMinus", [out]), shapeOf(out)) : out;
}

function factors(n: MathNode): MathNode[] {
  return opFn(n) === "multiply" ? argsOf(n).flatMap(factors) : [n];
}

/**
 * Display rewrites, bottom-up. Format: each line a pattern -> replacement:
 *   constants fold · x*1, 1*x -> x · 0*x -> 0 · x+0, 0+x, x-0 -> x · 0-x -> -x · x/1 -> x
 *   x^1 -> x · x^0 -> 1 · -(-x) -> x · guard(g, v) -> v · expand(v, r) -> v (broadcast is implicit)
 *   select(c, a, 0) -> a ⊙ 1[c > 0] · select(c, 0, b) -> b ⊙ 1[c <= 0]
 */
export function tidy(n: MathNode): MathNode {
  const s = shapeOf(n);
  if (n.type === "OperatorNode") {
    const fn = opFn(n)!;
    const a = argsOf(n).map(tidy);
    if (a.every(isConst)) {
      const v = Number(new OperatorNode((n as OperatorNode).op as "+", fn as "add", a).evaluate());
      if (Number.isFinite(v)) return num(v);
    }
    switch (fn) {
      case "multiply":
        return product(a.flatMap(factors), s);
      case "add":
        if (isNum(a[1], 0)) return a[0];
        if (isNum(a[0], 0)) return a[1];
        if (opFn(a[1]) === "unaryMinus")
          return withShape(new OperatorNode("-", "subtract", [a[0], argsOf(a[1])[0]]), s);
        break;
      case "subtract":
        if (isNum(a[1], 0)) return a[0];
        if (isNum(a[0], 0)) return withShape(new OperatorNode("-", "unaryMinus", [a[1]]), s);
        break;
      case "divide":
        if (isNum(a[1], 1)) return a[0];
        if (isNum(a[0], 0)) return num(0);
        break;
      case "pow":
        if (isNum(a[1], 1)) return a[0];
        if (isNum(a[1], 0)) return num(1);
        break;
      case "unaryMinus":
        if (opFn(a[0]) === "unaryMinus") return argsOf(a[0])[0];
        if (isConst(a[0])) return num(-value(a[0]));
        break;
    }
    return withShape(new OperatorNode((n as OperatorNode).op as "+", fn as "add", a), s);
  }
  if (n.type === "FunctionNode") {
    const name = fnName(n)!;
    const a = argsOf(n).map(tidy);
    if (name === "guard") return a[1];
    if (name === "expand" || name === "rowexpand") return a[0];
    if (name === "select" && isNum(a[2], 0))
      return isNum(a[1], 0) ? num(0) : product([...factors(a[1]), special("mask_gt", [a[0]], shapeOf(a[0]))], s);
    if (name === "select" && isNum(a[1], 0))
      return product([...factors(a[2]), special("mask_le", [a[0]], shapeOf(a[0]))], s);
    return withShape(new FunctionNode(new SymbolNode(name), a), s);
  }
  return n;
}

/** Node count, to decide when a closed form is too big to substitute. */
export function size(n: MathNode): number {
  let c = 0;
  n.traverse(() => c++);
  return c;
}

// ---- printing -------------------------------------------------------------------------------
function fraction(v: number): string {
  if (Number.isInteger(v)) return String(v);
  for (const q of [2, 3, 4, 5, 6, 8, 10]) {
    const p = v * q;
    if (Math.abs(p - Math.round(p)) < 1e-12 && Math.abs(p) < 100)
      return `${p < 0 ? "-" : ""}\\frac{${Math.abs(Math.round(p))}}{${q}}`;
  }
  return String(v);
}

/** Display-only functions: derivative notation and masks. */
const displayFunctions: Readonly<Record<string, (args: string[]) => string>> = {
  mask_gt: ([c]) => `\\mathbf{1}\\left[${c} > 0\\right]`,
  mask_le: ([c]) => `\\mathbf{1}\\left[${c} \\le 0\\right]`,
  // the derivatives of the generic primitives, applied to a cotangent
  extremes: ([g]) => `\\operatorname{route}_{\\arg\\max}\\left(${g}\\right)`,
  unpermute: ([g]) => `\\operatorname{permute}^{-1}\\left(${g}\\right)`,
  unreshape: ([g]) => `\\operatorname{reshape}^{-1}\\left(${g}\\right)`,
  unslice: ([g]) => `\\operatorname{pad}\\left(${g}\\right)`,
  unpad: ([g]) => `\\operatorname{slice}\\left(${g}\\right)`,
  scatter: ([g]) => `\\operatorname{scatter\\,add}\\left(${g}\\right)`,
  gatherback: ([g]) => `\\operatorname{take}\\left(${g}\\right)`,
  contractgrad: ([g]) => `\\operatorname{einsum}^{\\top}\\left(${g}\\right)`,
};

function fillTemplate(
  template: string,
  names: readonly string[],
  args: readonly MathNode[],
  texOf: (n: MathNode) => string,
): string {
  return template.replace(/\{(\w+)\}/g, (hole, name: string, at: number) => {
    const i = names.indexOf(name);
    if (i < 0) return hole;
    const t = texOf(args[i]);
    const before = template.slice(Math.max(0, at - 6), at);
    const after = template.slice(at + hole.length, at + hole.length + 7);
    const delimited =
      (before.endsWith("\\left(") ||
        before.endsWith(", ") ||
        before.endsWith("\\left[") ||
        before.endsWith("\\left|") ||
        before.endsWith("{")) &&
      (after.startsWith("\\right") ||
        after.startsWith(",") ||
        after.startsWith("}") ||
        after.startsWith(" >") ||
        after.startsWith(" \\ge"));
    const compound = args[i].type === "OperatorNode";
    return compound && !delimited ? `\\left(${t}\\right)` : t;
  });
}

/** LaTeX for a display tree; `symbols` maps symbol keys to their LaTeX. */
export function toTex(n: MathNode, symbols: (key: string) => string): string {
  const handler = (node: MathNode, options: object): string | undefined => {
    const texOf = (x: MathNode) => x.toTex(options);
    switch (node.type) {
      case "SymbolNode":
        return symbols((node as unknown as { name: string }).name);
      case "ConstantNode":
        return fraction(value(node));
      case "OperatorNode": {
        const fn = opFn(node);
        const [a, b] = argsOf(node);
        const wrap = (x: MathNode, strict: boolean) => {
          const f = opFn(x);
          const needs = f === "add" || f === "subtract" || (strict && f === "unaryMinus");
          return needs ? `\\left(${texOf(x)}\\right)` : texOf(x);
        };
        if (fn === "multiply") {
          const tensors = shapeOf(a).length > 0 && shapeOf(b).length > 0;
          const sep = tensors
            ? " \\odot "
            : isConst(b) || (isConst(a) && opFn(b) === "unaryMinus")
              ? " \\cdot "
              : "\\,";
          return `${wrap(a, false)}${sep}${wrap(b, true)}`;
        }
        if (fn === "unaryMinus") return `-${wrap(a, true)}`;
        if (fn === "subtract")
          return `${texOf(a)} - ${opFn(b) === "add" || opFn(b) === "subtract" || opFn(b) === "unaryMinus" ? `\\left(${texOf(b)}\\right)` : texOf(b)}`;
        if (fn === "add") return `${texOf(a)} + ${opFn(b) === "unaryMinus" ? `\\left(${texOf(b)}\\right)` : texOf(b)}`;
        if (fn === "divide") return `\\frac{${texOf(a)}}{${texOf(b)}}`;
        if (fn === "pow") {
          const base = a.type === "SymbolNode" || isConst(a) ? texOf(a) : `\\left(${texOf(a)}\\right)`;
          return `${base}^{${texOf(b)}}`;
        }
        return undefined;
      }
      case "FunctionNode": {
        const name = fnName(node)!;
        const args = argsOf(node);
        const d = displayFunctions[name];
        if (d) return d(args.map(texOf));
        if (name.startsWith("prime:")) {
          const op = name.slice("prime:".length);
          return fillTemplate(elementwiseDef(op)!.prime!, opInfo(op).args, args, texOf);
        }
        const r = isOp(name) ? computedDef(name) : undefined;
        if (r) {
          return fillTemplate(r.tex ?? `\\operatorname{${name}}\\left({x}\\right)`, r.args, args, texOf);
        }
        throw new InternalError(`display: no LaTeX for ${name}`);
      }
      default:
        return undefined;
    }
  };
  return n.toTex({ handler, parenthesis: "keep" });
}
