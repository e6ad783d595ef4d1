import { ConstantNode, FunctionNode, OperatorNode, SymbolNode, type MathNode } from "mathjs";
import { InternalError } from "../diagnostics/internal.js";
import { computedDef, elementwiseDef, isOp, opInfo, ops, type Op } from "../ops/index.js";
import type { TexRule } from "../ops/types.js";
import type { Attrs } from "../ops/attrs.js";
import { displayOnly } from "../rules/formula.js";
import { foldFormula, type Formula } from "../rules/fold.js";
import { broadcastShapes, sameShape, scalar, type Shape } from "../shape/shape.js";
import { mathOperators, opOfMathFunction } from "../rules/operators.js";
import type { Builder } from "../ir/build.js";
import { instantiate, ruleFor } from "../rules/formula.js";
import { buildTerm, matchTerm, type Terms } from "../optimize/pattern.js";
import { productIdentities } from "../optimize/rewrites.js";

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

/**
 * What a function node computes, as IR built from its operands' nodes: an op with its
 * attributes, a rule's composition of primitives, a derivative. The derivation prints a display
 * tree and checks it by building this IR and evaluating it (src/explain/check.ts), so every
 * function node carries its meaning; operators (+ − × / ^) and symbols need none.
 */
export type Meaning = (b: Builder, args: readonly number[]) => number;
const meanings = new WeakMap<MathNode, Meaning>();

export function meaningOf(n: MathNode): Meaning | undefined {
  return meanings.get(n);
}

function withMeaning<T extends MathNode>(n: T, m: Meaning | undefined): T {
  if (m) meanings.set(n, m);
  return n;
}

/** the shape a display node has (scalars: []) */
export const displayShape = (n: MathNode): Shape => shapeOf(n);

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
  const argShapes = args.map(shapeOf);
  // operands the display wrote without their broadcast (a constant for a filled tensor) get it back
  const meaning: Meaning = (b, ids) => {
    // broadcasting or reducing to the shape a value already has is no op
    if ((ops[op].implicit || op === "reduce_to") && target && sameShape(b.shape(ids[0]), target)) return ids[0];
    const xs = ids.map((id, i) => (ops[op].kind === "elementwise" ? id : b.broadcastTo(id, argShapes[i])));
    return ops[op].kind === "elementwise" ? b.elementwise(op, xs) : b.node(op, xs, { target, attrs });
  };
  const n = withMeaning(withShape(new FunctionNode(new SymbolNode(op), [...args]), s), meaning);
  nodeFacts.set(n, { attrs, target, shape: s, operands: argShapes });
  return n;
}

/** what an op's TeX rule reads of its node: attributes and shapes (src/ops/tex.ts) */
const nodeFacts = new WeakMap<MathNode, Parameters<TexRule>[0]>();

/** an op's LaTeX template for a display node */
function opTex(def: { readonly tex: string | TexRule | null }, node: MathNode): string | null {
  return typeof def.tex === "function" ? def.tex(nodeFacts.get(node) ?? { shape: shapeOf(node) }) : def.tex;
}

/** A display-only function (derivative notation, masks): printed by `displayFunctions`, computed by `meaning`. */
export function special(name: string, args: readonly MathNode[], s: Shape, meaning: Meaning): MathNode {
  return withMeaning(withShape(new FunctionNode(new SymbolNode(name), [...args]), s), meaning);
}

/** LaTeX templates of `written` nodes: {name} holes for the operands */
const templates = new WeakMap<MathNode, { readonly template: string; readonly names: readonly string[] }>();

/**
 * An expression as the source writes it (a builtin call, `@`, an index): printed by its
 * template, computed by its meaning (the builtin's lowering).
 */
export function written(
  template: string,
  names: readonly string[],
  args: readonly MathNode[],
  s: Shape,
  meaning: Meaning,
): MathNode {
  const n = special("written", args, s, meaning);
  templates.set(n, { template, names });
  return n;
}

/** σ'(x) and the like: the derivative of a one-operand elementwise op, as the lecture names it */
export function prime(op: Op, x: MathNode): MathNode {
  return special(`prime:${op}`, [x], shapeOf(x), (b, [id]) => {
    const grad = ruleFor(op).grads[0];
    if (!grad || typeof grad === "function") throw new InternalError(`display: ${op} has no formula derivative`);
    const one = b.broadcastTo(b.constant(1), b.shape(id));
    return (
      instantiate(b, grad, { x: id, g: one, y: b.elementwise(op, [id]) }) ?? b.broadcastTo(b.constant(0), b.shape(id))
    );
  });
}

/** 1[c > 0] and 1[c ≤ 0]: the masks of select's derivative */
const mask = (name: "mask_gt" | "mask_le", c: MathNode): MathNode =>
  // 1[1[P] > 0] = 1[P]
  name === "mask_gt" && isIndicator(fnName(printed(c))) ? c : maskNode(name, c);
const maskNode = (name: "mask_gt" | "mask_le", c: MathNode): MathNode =>
  special(name, [c], shapeOf(c), (b, [id]) =>
    name === "mask_gt"
      ? b.elementwise("gt", [id, b.constant(0)])
      : b.elementwise("sub", [b.constant(1), b.elementwise("gt", [id, b.constant(0)])]),
  );

/**
 * Substitute display nodes for the symbols of a rule-table formula. `composition`: the meaning
 * of a display-only call (a rule whose derivative is a composition of primitives, shown as
 * `unpermute(g, x)` & co): the rule's own composition applied to the call's first operand.
 */
export function substitute(
  formula: Formula,
  env: Readonly<Record<string, MathNode>>,
  composition?: (b: Builder, g: number) => number,
): MathNode {
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
      if (name === "expand" || name === "rowexpand" || displayOnly.has(name)) {
        const target = shapeOf(xs[1]);
        const meaning: Meaning | undefined =
          composition && (displayOnly.has(name) || name === "expand")
            ? (b, [g]) => composition(b, g)
            : name === "rowexpand"
              ? (b, [v]) => b.node("rowbcast", [v], { target })
              : name === "expand"
                ? (b, [v]) => b.broadcastTo(v, target)
                : undefined;
        if (!meaning) throw new InternalError(`display: ${name} outside a rule's composition`);
        return withMeaning(withShape(new FunctionNode(new SymbolNode(name), xs), target), meaning);
      }
      if (name === "reduce_to") return apply("reduce_to", [xs[0]], shapeOf(xs[1]));
      if (!isOp(name)) throw new InternalError(`display: unknown function ${name}`);
      return apply(name, xs);
    },
  });
}

// ---- tidying --------------------------------------------------------------------------------
const isConst = (n: MathNode): n is ConstantNode => n.type === "ConstantNode";
const value = (n: MathNode) => Number((n as unknown as { value: unknown }).value);
const opFn = (n: MathNode) => (n.type === "OperatorNode" ? (n as unknown as { fn: string }).fn : undefined);
const fnName = (n: MathNode) =>
  n.type === "FunctionNode" ? (n as unknown as { fn: { name: string } }).fn.name : undefined;
const argsOf = (n: MathNode): MathNode[] => (n as unknown as { args: MathNode[] }).args;

/** the terms of a sum a + b + c, in order (one term: the node itself) */
export function addends(n: MathNode): MathNode[] {
  return opFn(n) === "add" ? argsOf(n).flatMap(addends) : [n];
}

/** a sum or difference at the top: a product or a Σ of it needs parentheses */
export const isSum = (n: MathNode): boolean => ["add", "subtract"].includes(opFn(printed(n)) ?? "");

/** functions printed as their first operand (broadcasts: the lecture writes them implicitly) */
const displayTransparent: ReadonlySet<string> = new Set(["expand", "rowexpand", "fill"]);
/** the rule formulas' broadcasts, the display's filled numbers, and the ops a person writes implicitly */
const transparent = {
  has: (name: string) => displayTransparent.has(name) || (isOp(name) && ops[name].implicit === true),
};

/** an indicator 1[…]: select's masks, and the ops whose values are 0 or 1 (Iverson's convention applies) */
export const isIndicator = (name: string | undefined): boolean =>
  name === "mask_gt" || name === "mask_le" || (name !== undefined && isOp(name) && ops[name].indicator === true);

/** what a node prints as: itself, or for a transparent function, what its operand prints as */
function printed(n: MathNode): MathNode {
  let x = n;
  while (x.type === "FunctionNode" && transparent.has(fnName(x)!)) x = argsOf(x)[0];
  return x;
}

/** the constant a node prints as (a number, or a broadcast of one), or undefined */
export function constOf(n: MathNode): number | undefined {
  const p = printed(n);
  return isConst(p) ? value(p) : undefined;
}

/**
 * n with the shape s: a number standing for a filled tensor is wrapped in a transparent
 * broadcast, so that it prints as the number and evaluates as the tensor.
 */
export function filled(n: MathNode, s: Shape): MathNode {
  if (sameShape(shapeOf(n), s)) return n;
  return withMeaning(withShape(new FunctionNode(new SymbolNode("fill"), [n]), s), (b, [id]) => b.broadcastTo(id, s));
}

const operator = (op: string, fn: string, args: MathNode[], s: Shape): MathNode =>
  withShape(new OperatorNode(op as "+", fn as "add", args), s);
const negate = (x: MathNode): MathNode => operator("-", "unaryMinus", [x], shapeOf(x));

/** a product of factors: constants folded into one leading number, signs pulled out front */
function product(factorList: MathNode[], s: Shape): MathNode {
  let c = 1;
  const rest: MathNode[] = [];
  for (const f of factorList) {
    const k = constOf(f);
    if (k !== undefined) c *= k;
    else if (opFn(f) === "unaryMinus") {
      c = -c;
      rest.push(...factors(argsOf(f)[0]));
    } else rest.push(f);
  }
  if (c === 0 || rest.length === 0) return num(c);
  let out: MathNode | undefined = Math.abs(c) === 1 ? undefined : num(Math.abs(c));
  for (const f of rest)
    out = out ? operator("*", "multiply", [out, f], broadcastShapes(shapeOf(out), shapeOf(f)) ?? s) : f;
  return c < 0 ? negate(out!) : out!;
}

function factors(n: MathNode): MathNode[] {
  return opFn(n) === "multiply" ? argsOf(n).flatMap(factors) : [n];
}

/** the number a product starts with (its sign included): 1 for anything else */
function leadingNumber(n: MathNode): number {
  if (opFn(n) === "unaryMinus") return -leadingNumber(argsOf(n)[0]);
  if (opFn(n) !== "multiply") return 1;
  const c = constOf(factors(n)[0]);
  return c === undefined || c === 0 ? 1 : c;
}

/** n without its leading number (and sign) */
function withoutNumber(n: MathNode): MathNode {
  if (opFn(n) === "unaryMinus") return withoutNumber(argsOf(n)[0]);
  if (opFn(n) !== "multiply" || leadingNumber(n) === 1) return n;
  const [, ...rest] = factors(n);
  return product(rest, shapeOf(n));
}

/** a − b, with the sign of a negative b folded: a − (−x) = a + x, a − (−2) = a + 2 */
function difference(a: MathNode, b: MathNode, s: Shape): MathNode {
  const k = constOf(b);
  if (k !== undefined && k < 0) return operator("+", "add", [a, num(-k)], s);
  if (opFn(b) === "unaryMinus") return operator("+", "add", [a, argsOf(b)[0]], s);
  if (leadingNumber(b) < 0) return operator("+", "add", [a, product([num(-1), b], shapeOf(b))], s);
  return operator("-", "subtract", [a, b], s);
}

/** a + b, with the sign of a negative b folded: a + (−x) = a − x */
function total(a: MathNode, b: MathNode, s: Shape): MathNode {
  // x + x = 2x (the same display tree, printed once)
  if (a === b || (a.type === "SymbolNode" && b.type === "SymbolNode" && a.equals(b))) return product([num(2), a], s);
  const k = constOf(b);
  if (k !== undefined && k < 0) return operator("-", "subtract", [a, num(-k)], s);
  if (opFn(b) === "unaryMinus") return operator("-", "subtract", [a, argsOf(b)[0]], s);
  if (leadingNumber(b) < 0) return operator("-", "subtract", [a, product([num(-1), b], shapeOf(b))], s);
  return operator("+", "add", [a, b], s);
}

/**
 * Display rewrites, bottom-up; every rewrite keeps the value and the shape (a number standing
 * for a tensor is `filled`). Format: each line a pattern -> replacement:
 *   constants fold (through broadcasts) · products: numbers folded into one, signs pulled out
 *   x*1 -> x · 0*x -> 0 · x+0, 0+x, x-0 -> x · 0-x -> -x · a+(-b) -> a-b · a-(-b) -> a+b
 *   x/1 -> x · (c x)/d -> (c/d) x · x^1 -> x · x^0 -> 1 · -(-x) -> x · (xᵀ)ᵀ -> x · guard(g, v) -> v
 *   select(c, a, 0) -> a ⊙ 1[c > 0] · select(c, 0, b) -> b ⊙ 1[c <= 0]
 */
export function tidy(n: MathNode): MathNode {
  const s = shapeOf(n);
  return filled(tidyNode(n, s), s);
}

function tidyNode(n: MathNode, s: Shape): MathNode {
  if (n.type === "OperatorNode") return tidyOperator(n, s);
  if (n.type === "FunctionNode") return tidyFunction(n, s);
  return n;
}

/** + − × / ^ and negation: constants folded, identities, signs */
function tidyOperator(n: MathNode, s: Shape): MathNode {
  const fn = opFn(n)!;
  const a = argsOf(n).map(tidy);
  const k = a.map(constOf);
  if (k.every((v) => v !== undefined)) {
    const v = Number(
      new OperatorNode(
        (n as OperatorNode).op as "+",
        fn as "add",
        k.map((x) => num(x!)),
      ).evaluate(),
    );
    if (Number.isFinite(v)) return num(v);
  }
  switch (fn) {
    case "multiply":
      return product(a.flatMap(factors), s);
    case "add":
      if (k[1] === 0) return a[0];
      if (k[0] === 0) return a[1];
      return total(a[0], a[1], s);
    case "subtract":
      if (k[1] === 0) return a[0];
      if (k[0] === 0) return product([num(-1), a[1]], s);
      return difference(a[0], a[1], s);
    case "divide": {
      if (k[1] === 1) return a[0];
      if (k[0] === 0) return num(0);
      const fs = factors(a[0]);
      const c = fs.map(constOf).find((v) => v !== undefined);
      if (k[1] !== undefined && (c !== undefined || opFn(a[0]) === "unaryMinus"))
        return product([num(1 / k[1]), ...fs], s);
      // a number in the numerator stands in front: (c x)/d = c (x/d)
      if (leadingNumber(a[0]) !== 1)
        return product([num(leadingNumber(a[0])), operator("/", "divide", [withoutNumber(a[0]), a[1]], s)], s);
      break;
    }
    case "pow":
      if (k[1] === 1) return a[0];
      if (k[1] === 0) return num(1);
      break;
    case "unaryMinus":
      return product([num(-1), a[0]], s);
  }
  return operator((n as OperatorNode).op, fn, a, s);
}

/** functions: guards and broadcasts dropped, transposes and linear ops simplified, select's masks */
function tidyFunction(n: MathNode, s: Shape): MathNode {
  const name = fnName(n)!;
  const a = argsOf(n).map(tidy);
  if (name === "guard") return a[1];
  // a constant broadcast is the constant (tidy wraps it back to the shape)
  if (transparent.has(name) && constOf(a[0]) !== undefined) return a[0];
  // the identities of transposes and products the IR rewriter shares: (xᵀ)ᵀ = x, (a bᵀ)ᵀ = b aᵀ,
  // Aᵀx = xᵀA (vecmat), xᵀBᵀ = B x (matvec)
  const identity = productIdentity(name, a);
  if (identity) return identity;
  // a linear op of 0 is 0; a number comes out of it: Xᵀ(c v) = c Xᵀv, Σ(−x) = −Σx
  if (isOp(name) && ops[name].linear && a.some((x) => constOf(x) === 0)) return num(0);
  if (isOp(name) && ops[name].linear && a.some((x) => leadingNumber(x) !== 1)) {
    const c = a.reduce((acc, x) => acc * leadingNumber(x), 1);
    const inner = withMeaning(
      withShape(new FunctionNode(new SymbolNode(name), a.map(withoutNumber)), s),
      meanings.get(n),
    );
    return product([num(c), inner], s);
  }
  if (name === "select" && constOf(a[2]) === 0)
    return constOf(a[1]) === 0 ? num(0) : product([...factors(a[1]), mask("mask_gt", a[0])], s);
  if (name === "select" && constOf(a[1]) === 0) return product([...factors(a[2]), mask("mask_le", a[0])], s);
  const out = withMeaning(withShape(new FunctionNode(new SymbolNode(name), a), s), meanings.get(n));
  const w = templates.get(n);
  if (w) templates.set(out, w);
  const facts = nodeFacts.get(n);
  if (facts) nodeFacts.set(out, facts);
  return out;
}

/** a display tree as the rule tables' matcher reads it: a function's name and operands, as printed */
const displayTerms: Terms<MathNode> = {
  op: (n) => fnName(printed(n)),
  args: (n) => argsOf(printed(n)),
  constant: constOf,
};
const displayIdentities = productIdentities.filter((rule) => rule.only !== "ir");

/** the first of the shared product identities that applies to name(a), rewritten and tidied */
function productIdentity(name: string, a: MathNode[]): MathNode | undefined {
  for (const rule of displayIdentities) {
    if (rule.from.op !== name) continue;
    const m = matchTerm(displayTerms, rule.from, new FunctionNode(new SymbolNode(name), a));
    if (!m) continue;
    // a bare variable is already tidy; a built product is tidied once more
    return typeof rule.to === "string" ? m.get(rule.to) : tidy(buildTerm(rule.to, m, (op, args) => apply(op, args)));
  }
  return undefined;
}

/** Node count, to decide when a closed form is too big to substitute. */
export function size(n: MathNode): number {
  let c = 0;
  n.traverse(() => c++);
  return c;
}

// ---- printing -------------------------------------------------------------------------------
/** constants the builtins' definitions use, as a person writes them (gelu's 1/√2 and 1/√(2π)) */
const namedConstants: readonly (readonly [number, string])[] = [
  [Math.SQRT1_2, "\\frac{1}{\\sqrt{2}}"],
  [1 / Math.sqrt(2 * Math.PI), "\\frac{1}{\\sqrt{2\\pi}}"],
  [Math.sqrt(2 / Math.PI), "\\sqrt{2/\\pi}"],
  [1 / Math.sqrt(Math.PI), "\\frac{1}{\\sqrt{\\pi}}"],
  [2 / Math.sqrt(Math.PI), "\\frac{2}{\\sqrt{\\pi}}"],
  [Math.PI, "\\pi"],
  [Math.E, "e"],
];

/** a number as a person writes it: 1/2, 0.001, 1/12 (not 0.08333333333333333), 1/√2 */
function fraction(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const ratio = (qs: readonly number[], limit: number) => {
    for (const q of qs) {
      const p = v * q;
      if (Math.abs(p - Math.round(p)) < 1e-12 && Math.abs(p) < limit)
        return `${p < 0 ? "-" : ""}\\frac{${Math.abs(Math.round(p))}}{${q}}`;
    }
    return undefined;
  };
  const small = ratio([2, 3, 4, 5, 6, 8, 10], 100);
  if (small) return small;
  // a short decimal stays one (0.001, 0.0625); a long one is a fraction or a named constant if it is one
  if (String(v).replace(/^-?0?\./, "").length <= 6) return String(v);
  const other = ratio(
    Array.from({ length: 63 }, (_, k) => k + 2),
    1000,
  );
  if (other) return other;
  const named = namedConstants.find(([c]) => Math.abs(Math.abs(v) - c) < 1e-15 * c);
  if (named) return `${v < 0 ? "-" : ""}${named[1]}`;
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
  unfoldback: ([g]) => `\\operatorname{fold}\\left(${g}\\right)`,
  foldback: ([g]) => `\\operatorname{unfold}\\left(${g}\\right)`,
  scatter: ([g]) => `\\operatorname{scatter\\,add}\\left(${g}\\right)`,
  gatherback: ([g]) => `\\operatorname{take}\\left(${g}\\right)`,
};

function fillTemplate(
  template: string,
  names: readonly string[],
  args: readonly MathNode[],
  texOf: (n: MathNode) => string,
): string {
  // one pass over the holes; "1 + {x}" with x = −y prints "1 - y" (a negated operand after a plus takes its sign)
  return template.replace(/(\+ )?\{(\w+)\}/g, (whole, plus: string | undefined, name: string, start: number) => {
    const i = names.indexOf(name);
    if (i < 0) return whole;
    const p = printed(args[i]);
    if (plus && opFn(p) === "unaryMinus") {
      const inner = argsOf(p)[0];
      const f = opFn(printed(inner));
      return `- ${f === "add" || f === "subtract" ? `\\left(${texOf(inner)}\\right)` : texOf(inner)}`;
    }
    const hole = whole.slice(plus ? 2 : 0);
    const at = start + (plus ? 2 : 0);
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
    const compound = p.type === "OperatorNode";
    // a superscript goes on an atom: (Wᵀ)ᵀ, (A B)ᵀ, never W^{⊤}^{⊤}
    const superscripted = after.startsWith("^") && p.type !== "SymbolNode" && !isConst(p);
    // a subscript too: (u_6)_[4:8], never u_6_[4:8]
    const subscripted = after.startsWith("_") && !/^\\?[A-Za-z]+(\{[A-Za-z]+\})?$/.test(t);
    const wrap = (compound && !delimited) || superscripted || subscripted;
    return `${plus ?? ""}${wrap ? `\\left(${t}\\right)` : t}`;
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
          const f = opFn(printed(x));
          const needs = f === "add" || f === "subtract" || (strict && f === "unaryMinus");
          return needs ? `\\left(${texOf(x)}\\right)` : texOf(x);
        };
        if (fn === "multiply") {
          const [pa, pb] = [printed(a), printed(b)];
          const tensors = shapeOf(pa).length > 0 && shapeOf(pb).length > 0;
          const sep = tensors
            ? " \\odot "
            : isConst(pb) || (isConst(pa) && opFn(pb) === "unaryMinus")
              ? " \\cdot "
              : "\\,";
          return `${wrap(a, false)}${sep}${wrap(b, true)}`;
        }
        if (fn === "unaryMinus") return `-${wrap(a, true)}`;
        const pb = opFn(printed(b));
        if (fn === "subtract")
          return `${texOf(a)} - ${pb === "add" || pb === "subtract" || pb === "unaryMinus" ? `\\left(${texOf(b)}\\right)` : texOf(b)}`;
        if (fn === "add") return `${texOf(a)} + ${pb === "unaryMinus" ? `\\left(${texOf(b)}\\right)` : texOf(b)}`;
        if (fn === "divide") return `\\frac{${texOf(a)}}{${texOf(b)}}`;
        if (fn === "pow") {
          const pa = printed(a);
          const base = pa.type === "SymbolNode" || isConst(pa) ? texOf(a) : `\\left(${texOf(a)}\\right)`;
          return `${base}^{${texOf(b)}}`;
        }
        return undefined;
      }
      case "FunctionNode": {
        const name = fnName(node)!;
        const args = argsOf(node);
        if (transparent.has(name)) return texOf(args[0]);
        const w = templates.get(node);
        if (w) return fillTemplate(w.template, w.names, args, texOf);
        // summing a broadcast back to one number is a plain sum
        if (name === "reduce_to" && shapeOf(node).length === 0) {
          const x = printed(args[0]);
          const t = texOf(args[0]);
          return `\\textstyle\\sum ${x.type === "OperatorNode" ? `\\left(${t}\\right)` : t}`;
        }
        const d = displayFunctions[name];
        if (d) return d(args.map(texOf));
        if (name.startsWith("prime:")) {
          const op = name.slice("prime:".length);
          return fillTemplate(elementwiseDef(op)!.prime!, opInfo(op).args, args, texOf);
        }
        const r = isOp(name) ? computedDef(name) : undefined;
        if (r) {
          return fillTemplate(opTex(r, node) ?? `\\operatorname{${name}}\\left({x}\\right)`, r.args, args, texOf);
        }
        throw new InternalError(`display: no LaTeX for ${name}`);
      }
      default:
        return undefined;
    }
  };
  return n.toTex({ handler, parenthesis: "keep" });
}
