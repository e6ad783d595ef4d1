/**
 * Rewrite rules as data, in the manner of tinygrad's UPat: a rule is a pattern over IR nodes and
 * a replacement built from the pattern's variables. `x` matches any node (a variable used twice
 * must match the same node), `k(1)` a constant (a scalar, or one value broadcast to a tensor),
 * `op(a, b)` a node of that op whose operands match. Patterns of an op the op table marks
 * commutative (add, mul, ...) also match with their two operands swapped, so `x * 1 -> x` is
 * written once.
 */
import type { Builder } from "../ir/build.js";
import type { Node } from "../ir/graph.js";
import { opInfo, type Op } from "../ops/index.js";

export type Pattern =
  | { readonly var: string }
  | { readonly constant: number | "nonzero" | "positive" }
  | { readonly op: Op; readonly args: readonly Pattern[] };

/** A replacement: a variable of the pattern, or an op applied to replacements. */
export type Replacement = string | { readonly op: Op; readonly args: readonly Replacement[] };

export type Bindings = ReadonlyMap<string, number>;

export interface Rule {
  /** the rule as a person writes it, for tests and `--explain` output: "x*1 -> x" */
  readonly name: string;
  readonly from: Extract<Pattern, { op: Op }>;
  readonly to: Replacement;
  /** an extra condition on the matched nodes */
  readonly when?: (b: Builder, m: Bindings) => boolean;
  /** who applies it: both the IR rewriter and a derivation's display algebra (default), or one of them */
  readonly only?: "ir" | "display";
}

export const v = (name: string): Pattern => ({ var: name });
export const k = (value: number | "nonzero" | "positive"): Pattern => ({ constant: value });
export const p = (op: Op, ...args: Pattern[]): Extract<Pattern, { op: Op }> => ({ op, args });
export const r = (op: Op, ...args: Replacement[]): Replacement => ({ op, args });

/** IR nodes by id: a Builder's while it builds, or a finished Graph's */
type NodeList = { readonly nodes: readonly Pick<Node, "op" | "args" | "value">[] };

/** The value of a scalar constant, or of a view of one (a view only moves elements: broadcast, reshape, ...). */
export function constOf(b: NodeList, id: number): number | undefined {
  const n = b.nodes[id];
  if (n.op === "const") return n.value;
  if (opInfo(n.op).kind === "view") return constOf(b, n.args[0]);
  return undefined;
}

/**
 * What the matcher needs of a term language: the IR's nodes (ids in a Builder), or a
 * derivation's display trees (src/explain/math.ts), so that one rule table serves both.
 */
export interface Terms<T> {
  /** the term's op, or undefined for a leaf or a number */
  op(t: T): string | undefined;
  args(t: T): readonly T[];
  /** the number a term stands for (a constant, or one value broadcast), or undefined */
  constant(t: T): number | undefined;
}

const termsOf = new WeakMap<NodeList, Terms<number>>();

/** The IR's nodes as terms, of a builder or a graph (one view each: the rewriter matches every node it builds). */
export function irTerms(b: NodeList): Terms<number> {
  let t = termsOf.get(b);
  if (!t) {
    t = { op: (id) => b.nodes[id].op, args: (id) => b.nodes[id].args, constant: (id) => constOf(b, id) };
    termsOf.set(b, t);
  }
  return t;
}

/** Bindings are made in `m` and logged in `log`, so that a failed try can undo its own. */
function matchAt<T>(terms: Terms<T>, pat: Pattern, t: T, m: Map<string, T>, log: string[]): boolean {
  if ("var" in pat) {
    const bound = m.get(pat.var);
    if (bound !== undefined) return bound === t;
    m.set(pat.var, t);
    log.push(pat.var);
    return true;
  }
  if ("constant" in pat) {
    const c = terms.constant(t);
    if (c === undefined) return false;
    if (pat.constant === "nonzero") return c !== 0;
    if (pat.constant === "positive") return c > 0;
    return c === pat.constant;
  }
  return terms.op(t) === pat.op && terms.args(t).length === pat.args.length && matchArgs(terms, pat, t, m, log);
}

/** The operands in order, or (for a commutative op) swapped; bindings from a failed try are undone. */
function matchArgs<T>(
  terms: Terms<T>,
  pat: Extract<Pattern, { op: Op }>,
  t: T,
  m: Map<string, T>,
  log: string[],
): boolean {
  const args = terms.args(t);
  const tryOrder = (swap: boolean) => {
    const mark = log.length;
    const ok = pat.args.every((a, i) => matchAt(terms, a, args[swap ? 1 - i : i], m, log));
    if (!ok) while (log.length > mark) m.delete(log.pop()!);
    return ok;
  };
  return tryOrder(false) || (args.length === 2 && opInfo(pat.op).commutative === true && tryOrder(true));
}

/** The bindings of `pat` at term `t`, or undefined when it does not match. */
export function matchTerm<T>(terms: Terms<T>, pat: Pattern, t: T): ReadonlyMap<string, T> | undefined {
  const m = new Map<string, T>();
  return matchAt(terms, pat, t, m, []) ? m : undefined;
}

/** A replacement built from the bindings, each op applied by `make`. */
export function buildTerm<T>(out: Replacement, m: ReadonlyMap<string, T>, make: (op: Op, args: T[]) => T): T {
  if (typeof out === "string") return m.get(out)!;
  return make(
    out.op,
    out.args.map((a) => buildTerm(a, m, make)),
  );
}

/** The bindings of `pat` at node `id`, or undefined when it does not match. */
export function match(b: Builder, pat: Pattern, id: number): Bindings | undefined {
  return matchTerm(irTerms(b), pat, id);
}

/** Build a replacement; each node it creates is offered to `settle` (the rewrite loop) in turn. */
export function instantiate(
  b: Builder,
  out: Replacement,
  m: Bindings,
  settle: (id: number) => number = (id) => id,
): number {
  return buildTerm(out, m, (op, args) => settle(b.node(op, args)));
}
