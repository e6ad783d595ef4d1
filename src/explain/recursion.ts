import type { MathNode } from "mathjs";
import type { Node } from "../ir/graph.js";
import type { LayerEquation } from "./layers.js";
import { addends, isSum, tidy } from "./math.js";
import { nameTex } from "./symbols.js";
import type { Symbols } from "./view.js";

/**
 * Backpropagation through time as a course writes it (lecture 4.3's δ_k, an RNN's δ_t): one
 * line for every step, ∇_{h_t} ℓ in terms of ∇_{h_{t+1}} ℓ. The sweep writes each step's line
 * with its own names (h_3, h_4, chars[3]); here those names are renamed to the step (h_t,
 * h_{t+1}, chars[t]), and the line is printed for the steps whose renamed lines are all the same
 * text. Each instance is a line of the sweep, checked with it, so the generic line is true at
 * every step it states.
 */

/** a family of values the source indexes (h{t}): its base, each member's node by index, the loop's letter */
interface Family {
  readonly base: string;
  readonly members: ReadonlyMap<number, Node>;
  readonly letter: string;
}

/** an unnamed unit is written out in a generic step's line up to this many characters of TeX */
const MAX_EXPANDED = 240;

/** a shared param's gradient with more terms than this is not split into steps */
const MAX_TERMS = 1000;

/** the index of a name written h{t} (hint h_3), and its base */
const indexed = (name: string | undefined) => {
  const m = name === undefined ? null : /^(.*?)_(\d+)$/.exec(name);
  return m ? { base: m[1], k: Number(m[2]) } : undefined;
};

/** the loop's letter, read from the source text that made a member (h{t-1}, w{k}), else t */
function loopLetter(members: Iterable<Node>): string {
  for (const x of members) {
    const m = /\{([a-z])\s*(?:[-+]\s*\d+\s*)?\}/.exec(x.origin?.text ?? "");
    if (m) return m[1];
  }
  return "t";
}

/** The families of shown values the source indexes: units named h{t} and params declared w{k}. */
function families(sy: Symbols): Family[] {
  const groups = new Map<string, Map<number, Node>>();
  for (const x of sy.fwd.nodes) {
    if (!sy.isShown(x) || (!sy.isNamed(x) && x.op !== "param")) continue;
    const at = indexed(x.op === "param" ? x.name : x.hint);
    if (!at) continue;
    if (!groups.has(at.base)) groups.set(at.base, new Map());
    groups.get(at.base)!.set(at.k, x);
  }
  return [...groups].map(([base, members]) => ({ base, members, letter: loopLetter(members.values()) }));
}

/**
 * A line of step k with its step's names written by the letter: x_{k} -> x_{t}, x_{k+1} ->
 * x_{t + 1}, [k - 1] -> [t - 1]; the units u_n keep their numbers (a line that names one is
 * the same at no two steps).
 */
export function renamed(tex: string, k: number, letter: string): string {
  const label = (n: number) =>
    n === k ? letter : n === k + 1 ? `${letter} + 1` : n === k - 1 ? `${letter} - 1` : undefined;
  return tex
    .replace(
      /(\\mathbf\{[A-Za-z]+\}|\\boldsymbol\{\\?[A-Za-z]+\}|\\mathrm\{[A-Za-z]+\}|\\?[A-Za-z]+)_\{(\d+)\}/g,
      (all, base: string, n: string) =>
        base === "u" || base === "\\mathbf{u}" || label(Number(n)) === undefined
          ? all
          : `${base}_{${label(Number(n))}}`,
    )
    .replace(/\\left\[([^\]]*?)\\right\]/g, (_, index: string) => {
      // an index's entries ([3], [3,\,:]): a whole number is a step's
      const entries = index.split(",\\,").map((e) => (/^\d+$/.test(e) ? (label(Number(e)) ?? e) : e));
      return `\\left[${entries.join(",\\,")}\\right]`;
    });
}

/** the longest run of consecutive steps whose lines read the same once renamed (the latest of equal runs) */
function longestRun(lines: ReadonlyMap<number, string>): { from: number; to: number; text: string } | undefined {
  const ks = [...lines.keys()].sort((a, b) => b - a);
  let best: { from: number; to: number; text: string } | undefined;
  for (let i = 0; i < ks.length;) {
    let j = i;
    while (j + 1 < ks.length && ks[j + 1] === ks[j] - 1 && lines.get(ks[j + 1]) === lines.get(ks[i])) j++;
    if (!best || ks[i] - ks[j] > best.to - best.from) best = { from: ks[j], to: ks[i], text: lines.get(ks[i])! };
    i = j + 1;
  }
  return best;
}

/**
 * Where each step ends: the largest node id among the members of index m of the recursive
 * families (h_m, c_m). A def's local (e, z) made in the iteration that makes step m has an id
 * after step m − 1's end and up to step m's: it is written e_{m}, since the sweep's lines name
 * every step's e the same.
 */
function stepOf(fs: readonly Family[]): (id: number) => number | undefined {
  const ends = new Map<number, number>();
  for (const f of fs) for (const [m, x] of f.members) ends.set(m, Math.max(ends.get(m) ?? -1, x.id));
  const sorted = [...ends].sort((a, b) => a[1] - b[1]);
  return (id) => sorted.find(([, end]) => id <= end)?.[0];
}

/** the names a def gives its locals, each on many nodes (one per call): e, z */
function perCallNames(sy: Symbols): Set<string> {
  const count = new Map<string, number>();
  for (const x of sy.fwd.nodes)
    if (sy.isNamed(x) && !indexed(x.hint)) count.set(x.hint!, (count.get(x.hint!) ?? 0) + 1);
  return new Set([...count].filter(([, n]) => n > 1).map(([name]) => name));
}

/**
 * The recursion over the steps of each indexed family whose gradient at step k is written with
 * the next step's, the same line at two steps or more; then the indexed params' gradients
 * that read it. `closedOf`: the sweep's last written form of each value's gradient.
 */
export function recursionEquations(sy: Symbols, closedOf: ReadonlyMap<number, MathNode>): LayerEquation[] {
  const all = families(sy);
  const isParam = (f: Family) => f.members.values().next().value!.op === "param";
  const states = all.filter((f) => !isParam(f));
  const step = stepOf(states);
  const perCall = perCallNames(sy);
  const { local, instead } = stepNaming(sy, step, perCall);
  const generic = (f: Family, recursive: boolean, letter = f.letter) => {
    const lines = new Map<number, string>();
    for (const [k, x] of f.members) {
      const tree = closedOf.get(x.id);
      if (!tree || (recursive && !f.members.has(k + 1))) continue;
      const lhs = local("e", x) ?? sy.adjTex(sy.namedTex(x), x.shape);
      lines.set(k, `${renamed(lhs, k, letter)} = ${renamed(sy.texWith(tree, instead), k, letter)}`);
    }
    const run = longestRun(lines);
    return run && run.to > run.from ? run : undefined;
  };
  const out: LayerEquation[] = [];
  const line = (text: string, from: number, to: number, letter: string) => {
    const [left, ...right] = text.split(" = ");
    out.push({ lhs: left, steps: [right.join(" = ")], note: `${letter} = ${from}, \\dots, ${to}` });
  };
  const printed: { name: string; letter: string }[] = [];
  const locals = localFamilies(sy, perCall, step, states[0]?.letter ?? "t");
  // the gradient of f's member at step k + 1, as a line of step k writes it: h_{t+1}, a def's local z_{t+1}
  const next = (f: Family, k: number) => {
    const x = f.members.get(k + 1);
    return x ? renamed(local("e", x) ?? sy.adjTex(sy.namedTex(x), x.shape), k, f.letter) : undefined;
  };
  for (const f of [...states, ...locals]) {
    const state = states.includes(f);
    const run = generic(f, state);
    if (!run) continue;
    const rhs = run.text.slice(run.text.indexOf(" = "));
    const reads = (o: Family) => rhs.includes(next(o, run.to) ?? "\u0000");
    // a state's line is a recursion when it reads a gradient of the next step (its own, or a def's
    // local it feeds: ∇h_t from ∇z_{t+1}); a local's, when it reads its own next one or the
    // states' already written at its step (∇z_t from ∇c_t)
    const belongs = state ? [...states, ...locals].some(reads) : reads(f) || printed.some((p) => rhs.includes(p.name));
    if (!belongs) continue;
    line(run.text, run.from, run.to, f.letter);
    const at = f.members.get(run.to)!;
    printed.push({ name: renamed(local("n", at) ?? sy.namedTex(at), run.to, f.letter), letter: f.letter });
  }
  if (!printed.length) return out;
  const letters = { instead, letter: printed[0].letter, names: printed.map((p) => p.name) };
  for (const x of sy.fwd.nodes)
    if (x.op === "param" && !indexed(x.name)) {
      const sum = sharedSum(sy, x, closedOf.get(x.id), letters);
      if (sum) out.push(sum);
    }
  // a param declared in the loop (param w{k}) has no source text of its own: the loop's letter is the recursion's
  const { letter } = printed[0];
  for (const f of all.filter(isParam)) {
    const run = generic(f, false, letter);
    if (run && printed.some((p) => run.text.includes(p.name))) line(run.text, run.from, run.to, letter);
  }
  return out;
}

/**
 * How a generic step's line writes what the sweep names alike at every step: a def's local with
 * its step (e_{4}, then renamed with the others), and an unnamed unit (u_19: its number differs at
 * every step) as what it computes, down to named values, parenthesized when a sum; too long a
 * formula keeps its symbol.
 */
function stepNaming(sy: Symbols, step: (id: number) => number | undefined, perCall: ReadonlySet<string>) {
  const local = (kind: string, x: Node): string | undefined => {
    if (!x.hint || !perCall.has(x.hint) || (kind !== "n" && kind !== "e")) return undefined;
    const m = step(x.id);
    if (m === undefined) return undefined;
    const name = nameTex(`${x.hint}_${m}`, x.shape);
    return kind === "n" ? name : sy.adjTex(name, x.shape);
  };
  const expanded = new Map<number, string | undefined>();
  const instead = (kind: string, x: Node): string | undefined => {
    if ((kind !== "u" && kind !== "n") || !sy.isUnit(x) || sy.isNamed(x)) return local(kind, x);
    if (!expanded.has(x.id)) {
      expanded.set(x.id, undefined);
      const tree = tidy(
        sy.define(
          x,
          x.args.map((a) => sy.operand(a, true)),
        ),
      );
      const tex = sy.texWith(tree, instead);
      if (tex.length <= MAX_EXPANDED) expanded.set(x.id, isSum(tree) ? `\\left(${tex}\\right)` : tex);
    }
    return expanded.get(x.id);
  };
  return { local, instead };
}

/**
 * A param every step uses (an RNN's W): its gradient is a sum with one term per step. The
 * longest run of terms that read the same with term i renamed as step o + i (for the offset o
 * that makes it longest) is written Σ_t of that term; the terms outside the run as they are.
 */
function sharedSum(
  sy: Symbols,
  x: Node,
  tree: MathNode | undefined,
  how: {
    readonly instead: (kind: string, x: Node) => string | undefined;
    readonly letter: string;
    readonly names: readonly string[];
  },
): LayerEquation | undefined {
  const terms = tree ? addends(tree) : [];
  if (terms.length < 3 || terms.length > MAX_TERMS) return undefined;
  const raw = terms.map((t) => sy.texWith(t, how.instead));
  let best: { from: number; to: number; offset: number; text: string } | undefined;
  // a term's step: its index plus an offset, one of those that put a step's names in the first term
  const steps = [...raw[0].matchAll(/_\{(\d+)\}/g)].map((m) => Number(m[1]));
  for (const offset of new Set(steps.flatMap((k) => [k - 1, k, k + 1]))) {
    const lines = new Map(raw.map((t, i) => [i + offset, renamed(t, i + offset, how.letter)]));
    const run = longestRun(lines);
    if (run && (!best || run.to - run.from > best.to - best.from)) best = { ...run, offset };
  }
  if (!best || best.to - best.from < 2 || !how.names.some((n) => best!.text.includes(n))) return undefined;
  const [first, last] = [best.from - best.offset, best.to - best.offset];
  const term = isSum(terms[first]) ? `\\left(${best.text}\\right)` : best.text;
  const parts = [
    ...raw.slice(0, first).map((t, i) => (isSum(terms[i]) ? `\\left(${t}\\right)` : t)),
    `\\sum_{${how.letter}=${best.from}}^{${best.to}} ${term}`,
    ...raw.slice(last + 1).map((t, i) => (isSum(terms[last + 1 + i]) ? `\\left(${t}\\right)` : t)),
  ];
  return { lhs: sy.adjTex(sy.namedTex(x), x.shape), steps: [parts.join(" + ")], note: "\\text{a term per step}" };
}

/**
 * A def's locals as families (z: z_1, z_2, …), one member per step that made it (stepOf), for
 * the locals named once per call; a local named twice in one call is left out.
 */
function localFamilies(
  sy: Symbols,
  perCall: ReadonlySet<string>,
  step: (id: number) => number | undefined,
  letter: string,
): Family[] {
  const groups = new Map<string, Map<number, Node>>();
  const twice = new Set<string>();
  for (const x of sy.fwd.nodes) {
    if (!x.hint || !perCall.has(x.hint) || !sy.isShown(x) || !sy.isNamed(x)) continue;
    const k = step(x.id);
    if (k === undefined) continue;
    if (!groups.has(x.hint)) groups.set(x.hint, new Map());
    if (groups.get(x.hint)!.has(k)) twice.add(x.hint);
    groups.get(x.hint)!.set(k, x);
  }
  return [...groups].filter(([base]) => !twice.has(base)).map(([base, members]) => ({ base, members, letter }));
}
