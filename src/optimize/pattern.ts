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
}

export const v = (name: string): Pattern => ({ var: name });
export const k = (value: number | "nonzero" | "positive"): Pattern => ({ constant: value });
export const p = (op: Op, ...args: Pattern[]): Extract<Pattern, { op: Op }> => ({ op, args });
export const r = (op: Op, ...args: Replacement[]): Replacement => ({ op, args });

/** The value of a scalar constant, or of a view of one (a view only moves elements: broadcast, reshape, ...). */
export function constOf(b: Builder, id: number): number | undefined {
  const n = b.nodes[id];
  if (n.op === "const") return n.value;
  if (opInfo(n.op).kind === "view") return constOf(b, n.args[0]);
  return undefined;
}

/** Bindings are made in `m` and logged in `log`, so that a failed try can undo its own. */
function matchAt(b: Builder, pat: Pattern, id: number, m: Map<string, number>, log: string[]): boolean {
  if ("var" in pat) {
    const bound = m.get(pat.var);
    if (bound !== undefined) return bound === id;
    m.set(pat.var, id);
    log.push(pat.var);
    return true;
  }
  if ("constant" in pat) {
    const c = constOf(b, id);
    if (c === undefined) return false;
    if (pat.constant === "nonzero") return c !== 0;
    if (pat.constant === "positive") return c > 0;
    return c === pat.constant;
  }
  const n = b.nodes[id];
  return n.op === pat.op && n.args.length === pat.args.length && matchArgs(b, pat, n, m, log);
}

/** The operands in order, or (for a commutative op) swapped; bindings from a failed try are undone. */
function matchArgs(
  b: Builder,
  pat: Extract<Pattern, { op: Op }>,
  n: Node,
  m: Map<string, number>,
  log: string[],
): boolean {
  const tryOrder = (swap: boolean) => {
    const mark = log.length;
    const ok = pat.args.every((a, i) => matchAt(b, a, n.args[swap ? 1 - i : i], m, log));
    if (!ok) while (log.length > mark) m.delete(log.pop()!);
    return ok;
  };
  return tryOrder(false) || (n.args.length === 2 && opInfo(pat.op).commutative === true && tryOrder(true));
}

/** The bindings of `pat` at node `id`, or undefined when it does not match. */
export function match(b: Builder, pat: Pattern, id: number): Bindings | undefined {
  const m = new Map<string, number>();
  return matchAt(b, pat, id, m, []) ? m : undefined;
}

/** Build a replacement; each node it creates is offered to `settle` (the rewrite loop) in turn. */
export function instantiate(
  b: Builder,
  out: Replacement,
  m: Bindings,
  settle: (id: number) => number = (id) => id,
): number {
  if (typeof out === "string") return m.get(out)!;
  return settle(
    b.node(
      out.op,
      out.args.map((a) => instantiate(b, a, m, settle)),
    ),
  );
}
