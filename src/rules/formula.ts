import { InternalError } from "../diagnostics/internal.js";
import type { Builder } from "../ir/build.js";
import { isOp, opInfo, ops, type ComputedOp, type GradFn, type Op } from "../ops/index.js";
import { foldFormula, type Formula } from "./fold.js";
import { parsedFormulas } from "./formulas.generated.js";
import { opOfMathFunction } from "./operators.js";

/** Formula-only functions that take their result shape from a reference operand. */
const shaping = {
  expand: "broadcast",
  rowexpand: "rowbcast",
  reduce_to: "reduce_to",
} as const;

export type RuleOp = ComputedOp;

export interface ParsedRule {
  readonly forward?: Formula;
  /** per operand: a formula, a composition of primitives, or null (no dependence) */
  readonly grads: readonly (Formula | GradFn | null)[];
  /** per operand: the derivative as a derivation writes it (the formula itself, or the rule's `show`) */
  readonly display: readonly (Formula | null)[];
}

/** Display-only functions of `show` formulas: (value, reference operand), printed by the explainer. */
export const displayOnly: ReadonlySet<string> = new Set([
  "extremes",
  "unpermute",
  "unreshape",
  "unslice",
  "unpad",
  "unfoldback",
  "foldback",
  "contractgrad",
  "scatter",
  "gatherback",
]);

/** A formula's tree, precompiled from its text (scripts/rules.ts; `npm run gen` after editing a definition in src/ops). */
function parse(text: string): Formula {
  const f = (parsedFormulas as Readonly<Record<string, Formula | undefined>>)[text];
  if (!f) throw new InternalError(`rule formula "${text}" is not precompiled: run npm run gen`);
  return f;
}

function isZero(n: Formula): boolean {
  const v = foldFormula<number | undefined>(n, {
    constant: (c) => c,
    symbol: () => undefined,
    operator: () => undefined,
    call: () => undefined,
    conditional: () => undefined,
  });
  return v === 0;
}

/** Check a formula names only the op's operands, y, g and known functions. */
function validate(op: string, what: string, n: Formula, symbols: ReadonlySet<string>, forward: boolean): void {
  const fail = (msg: string): never => {
    throw new InternalError(`rule ${op}.${what}: ${msg}`);
  };
  foldFormula<null>(n, {
    constant: () => null,
    symbol: (name) => (symbols.has(name) ? null : fail(`unknown symbol '${name}'`)),
    operator: (fn) => (forward || fn in opOfMathFunction ? null : fail(`operator '${fn}' has no IR op`)),
    call: (name, args) => {
      if (forward) return null;
      if (name in shaping || displayOnly.has(name))
        return args.length === 2 ? null : fail(`${name} takes (value, reference)`);
      if (!isOp(name)) return fail(`'${name}' is not an IR op`);
      return opInfo(name).args.length === args.length
        ? null
        : fail(`${name} takes ${opInfo(name).args.length} operands`);
    },
    conditional: () => (forward ? null : fail("conditionals are for forward formulas")),
  });
}

function load(): Readonly<Record<RuleOp, ParsedRule>> {
  const out = {} as Record<RuleOp, ParsedRule>;
  for (const op of Object.keys(ops) as Op[]) {
    const info = opInfo(op);
    if (info.kind === "leaf") continue;
    if (info.grads.length !== info.args.length)
      throw new InternalError(`rule ${op}: ${info.args.length} operands but ${info.grads.length} grads`);
    const symbols = new Set([...info.args, "y", "g"]);
    const forward = info.kind === "elementwise" ? parse(info.forward) : undefined;
    if (forward) validate(op, "forward", forward, new Set(info.args), true);
    const grads = info.grads.map((text, i) => {
      if (typeof text === "function") return text;
      const n = parse(text);
      validate(op, `grads[${info.args[i]}]`, n, symbols, false);
      return isZero(n) ? null : n;
    });
    const display = grads.map((gr, i) => {
      const text = info.show?.[i];
      if (text === undefined && typeof gr !== "function") return gr;
      if (text === undefined)
        throw new InternalError(`rule ${op}: grads[${info.args[i]}] is a composition and has no 'show' formula`);
      const n = parse(text);
      validate(op, `show[${info.args[i]}]`, n, symbols, false);
      return n;
    });
    out[op as RuleOp] = { ...(forward ? { forward } : {}), grads, display };
  }
  return out;
}

/** The rule table, parsed and validated once at load. */
export const parsedRules: Readonly<Record<RuleOp, ParsedRule>> = load();

export function ruleFor(op: Op): ParsedRule {
  const r = (parsedRules as Record<string, ParsedRule | undefined>)[op];
  if (!r) throw new InternalError(`no derivative rule for op '${op}'`);
  return r;
}

/**
 * Build IR nodes for a formula, with its symbols bound to node ids. Elementwise arithmetic
 * broadcasts like the language does. Returns null for a formula that is identically zero.
 */
export function instantiate(b: Builder, formula: Formula, env: Readonly<Record<string, number>>): number | null {
  const id = foldFormula<number>(formula, {
    constant: (v) => b.constant(v),
    symbol: (name) => {
      const id = env[name];
      if (id === undefined) throw new InternalError(`formula symbol '${name}' is unbound`);
      return id;
    },
    operator: (fn, args) => b.elementwise(opOfMathFunction[fn], args),
    call: (name, args) => {
      if (name in shaping) {
        const [v, ref] = args;
        const target = b.shape(ref);
        // reducing or broadcasting to the shape it already has is the identity
        if (b.shape(v).length === target.length && b.shape(v).every((d, i) => d === target[i])) return v;
        return b.node(shaping[name as keyof typeof shaping], [v], { target });
      }
      const op = name as Op;
      return ops[op].kind === "elementwise" ? b.elementwise(op, args) : b.node(op, args);
    },
  });
  const node = b.nodes[id];
  return node.op === "const" && node.value === 0 ? null : id;
}
