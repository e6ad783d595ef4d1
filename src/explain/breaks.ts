/**
 * Long equations on a printed page: LaTeX does not break a display line, so the .tex renderer
 * breaks a long right-hand side itself, at its outermost + and − (then ⊙), into continuation
 * lines, and shrinks a piece that no break can make narrow enough. Widths are estimated in ems
 * from the TeX (the page test in test/corpus.test.ts holds the estimate to what pdflatex sets).
 */

/** the width of the text block of templates/derivation.tex (A4, 2 cm margins, 11 pt), in ems */
export const PAGE_EMS = 43;

/** widths in ems of the commands a derivation prints (anything else: a letter's width) */
const commandWidth: Readonly<Record<string, number>> = {
  "\\left": 0,
  "\\right": 0,
  "\\,": 0.17,
  "\\;": 0.28,
  "\\quad": 1,
  "\\qquad": 2,
  "\\odot": 1.3,
  "\\cdot": 0.8,
  "\\top": 0.75,
  "\\partial": 0.6,
  "\\nabla": 0.85,
  "\\ell": 0.45,
  "\\in": 1.2,
  "\\le": 1.3,
  "\\ge": 1.3,
  "\\sum": 1.1,
  "\\textstyle": 0,
  "\\displaystyle": 0,
  "\\lVert": 0.5,
  "\\rVert": 0.5,
  "\\{": 0.5,
  "\\}": 0.5,
};

/** ops with one braced argument whose width is the argument's */
const wrappers = new Set(["\\mathbf", "\\mathrm", "\\boldsymbol", "\\mathbb", "\\text", "\\operatorname", "\\boxed"]);

/** Scans TeX: the position after the group that opens at `at` ('{' ... matching '}'). */
function groupEnd(t: string, at: number): number {
  let depth = 0;
  for (let i = at; i < t.length; i++) {
    if (t[i] === "\\") i++;
    else if (t[i] === "{") depth++;
    else if (t[i] === "}" && --depth === 0) return i + 1;
  }
  return t.length;
}

/** the estimated width of a TeX math fragment, in ems */
export function texWidth(t: string, scale = 1): number {
  let w = 0;
  for (let i = 0; i < t.length;) {
    const c = t[i];
    if (c === "{" || c === "}") {
      i++;
      continue;
    }
    if (c === "^" || c === "_") {
      // a script: 70 % of its content
      const end = t[i + 1] === "{" ? groupEnd(t, i + 1) : i + 2;
      w += texWidth(t.slice(i + 1, end), scale * 0.7);
      i = end;
      continue;
    }
    if (c === "\\") {
      const m = /^\\([A-Za-z]+|.)/.exec(t.slice(i))!;
      const name = m[0];
      i += name.length;
      if (name === "\\frac") {
        const a = groupEnd(t, i);
        const b = groupEnd(t, a);
        w += Math.max(texWidth(t.slice(i, a), scale), texWidth(t.slice(a, b), scale)) + 0.3 * scale;
        i = b;
      } else if (name === "\\sqrt") {
        w += 1 * scale;
      } else if (name === "\\operatorname") {
        const end = groupEnd(t, i);
        w += (end - i - 2) * 0.5 * scale;
        i = end;
      } else if (wrappers.has(name)) {
        w += name === "\\boxed" ? 0.8 * scale : 0.05 * scale;
      } else if (name in commandWidth) w += commandWidth[name] * scale;
      else w += 0.6 * scale; // a Greek letter, a symbol
      continue;
    }
    w += (c === " " ? 0 : "+-=<>".includes(c) ? 1.2 : 0.62) * scale;
    i++;
  }
  return w;
}

/** the positions of t's outermost operators `ops` (outside braces and \left … \right) */
function outermost(t: string, ops: readonly string[]): number[] {
  const out: number[] = [];
  let depth = 0;
  for (let i = 0; i < t.length; i++) {
    if (t.startsWith("\\left", i) && !/[A-Za-z]/.test(t[i + 5] ?? "")) {
      depth++;
      i += 5;
    } else if (t.startsWith("\\right", i) && !/[A-Za-z]/.test(t[i + 6] ?? "")) {
      depth--;
      i += 6;
    } else if (t[i] === "\\") {
      i++;
      while (/[A-Za-z]/.test(t[i + 1] ?? "")) i++;
    } else if (t[i] === "{") depth++;
    else if (t[i] === "}") depth--;
    else if (depth === 0 && i > 0) for (const op of ops) if (t.startsWith(op, i)) out.push(i);
  }
  return out;
}

/** t cut at the given positions */
function cut(t: string, at: readonly number[]): string[] {
  const pieces: string[] = [];
  let from = 0;
  for (const p of at) {
    pieces.push(t.slice(from, p).trim());
    from = p;
  }
  pieces.push(t.slice(from).trim());
  return pieces.filter(Boolean);
}

/** pieces joined greedily into lines no wider than `limit` ems */
function fill(pieces: readonly string[], limit: number): string[] {
  const lines: string[] = [];
  for (const p of pieces) {
    const last = lines[lines.length - 1];
    if (last !== undefined && texWidth(`${last} ${p}`) <= limit) lines[lines.length - 1] = `${last} ${p}`;
    else lines.push(p);
  }
  return lines;
}

/**
 * A right-hand side as lines no wider than `limit` ems: broken at its outermost + and −, then
 * ⊙; a line still too wide (one long factor, or a \boxed{} that cannot break) is shrunk to fit.
 */
export function breakLines(t: string, limit: number): string[] {
  if (texWidth(t) <= limit) return [t];
  const boxed = /^\\boxed\{([\s\S]*)\}$/.exec(t);
  if (boxed) return [shrink(t, limit)];
  let lines = fill(cut(t, outermost(t, [" + ", " - "])), limit);
  lines = lines.flatMap((l) => (texWidth(l) <= limit ? [l] : fill(cut(l, outermost(l, [" \\odot "])), limit)));
  return lines.map((l) => (texWidth(l) <= limit ? l : shrink(l, limit)));
}

/** t scaled down to `limit` ems (graphicx's \resizebox), for a piece that no break narrows */
function shrink(t: string, limit: number): string {
  return `\\resizebox{${(limit / PAGE_EMS).toFixed(2)}\\linewidth}{!}{$\\displaystyle ${t}$}`;
}
