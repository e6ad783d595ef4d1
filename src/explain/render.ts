import { fillTemplate } from "../emit/template.js";
import { size } from "../shape/shape.js";
import type { Derivation, Equation, TableRow } from "./derive.js";
import { breakLines, PAGE_EMS, texWidth } from "./breaks.js";

export type Format = "md" | "tex";

/** An aligned block of equations (`lhs &= step \\ &= step …`), the last step boxed or not. */
export interface Block {
  readonly equations: readonly Equation[];
  readonly boxed?: boolean;
}

/** The text of a derivation's sections; the renderers lay these out per format. */
export interface Section {
  readonly title: string;
  readonly intro?: string;
  /** display math: a formula, or a block of aligned equations */
  readonly math?: readonly (string | Block)[];
  readonly table?: { readonly head: readonly string[]; readonly rows: readonly (readonly string[])[] };
  readonly picture?: string;
}

function equation(e: Equation, boxed = false): string {
  const steps = boxed ? [...e.steps.slice(0, -1), `\\boxed{${e.steps[e.steps.length - 1]}}`] : e.steps;
  const lines = steps.map((s, i) => (i === 0 ? `${e.lhs} &= ${s}` : `&= ${s}`));
  if (e.note) lines[0] += ` && ${e.note}`;
  return lines.join(" \\\\\n");
}

/** a block as aligned TeX (both formats, and the KaTeX check) */
function blockText(b: Block): string {
  return b.equations.map((e) => equation(e, b.boxed)).join(" \\\\\n");
}

/**
 * A block for a printed page: each step no wider than the page (breaks.ts), continuation lines
 * indented; a boxed answer too long for one line is broken instead of boxed.
 */
function pageBlock(b: Block): string {
  const lhsWidth = Math.max(...b.equations.map((e) => texWidth(e.lhs)));
  const noteWidth = Math.max(0, ...b.equations.map((e) => (e.note ? texWidth(e.note) + 2 : 0)));
  const limit = Math.max(12, PAGE_EMS - lhsWidth - noteWidth - 3);
  const rows: string[] = [];
  for (const e of b.equations) {
    e.steps.forEach((step, k) => {
      const last = k === e.steps.length - 1;
      const boxed = b.boxed && last && texWidth(step) + 1 <= limit ? `\\boxed{${step}}` : step;
      const lines = breakLines(boxed, limit);
      lines.forEach((line, j) => {
        const head = j > 0 ? "&\\quad " : k === 0 ? `${e.lhs} &= ` : "&= ";
        rows.push(`${head}${line}${k === 0 && j === 0 && e.note ? ` && ${e.note}` : ""}`);
      });
    });
  }
  return rows.join(" \\\\\n");
}

/** a formula (a list such as the node order) for a printed page: broken after commas when too wide */
function pageFormula(m: string): string {
  if (texWidth(m) <= PAGE_EMS) return `\\[\n${m}\n\\]`;
  const lines: string[] = [];
  for (const item of m.split(",\\; ")) {
    const last = lines[lines.length - 1];
    if (last !== undefined && texWidth(`${last},\\; ${item}`) <= PAGE_EMS - 2)
      lines[lines.length - 1] = `${last},\\; ${item}`;
    else lines.push(item);
  }
  return `\\begin{gather*}\n${lines.join(",\\\\\n")}\n\\end{gather*}`;
}

/** a section's display math as one TeX fragment (a block as `aligned`): for KaTeX */
export const mathText = (m: string | Block): string =>
  typeof m === "string" ? m : `\\begin{aligned}${blockText(m)}\\end{aligned}`;

/** significant digits of the values table, unless --digits says otherwise: a table that fits a page */
export const DEFAULT_DIGITS = 6;

/** v to `digits` significant digits, without trailing zeros (0.5, not 0.500000) */
function number(v: number, digits: number): string {
  return Object.is(v, -0) || v === 0 ? "0" : String(Number(v.toPrecision(digits)));
}

function values(v: Float64Array | undefined, shape: readonly number[], digits: number): string {
  if (!v) return "";
  const n = (x: number) => number(x, digits);
  if (shape.length === 0) return n(v[0]);
  if (size(shape) <= 6) return `(${[...v].map(n).join(", ")})`;
  const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return `$\\lVert\\cdot\\rVert$ = ${n(norm)} ($${shape.join(" \\times ")}$)`;
}

/**
 * How many equations one aligned block holds: a LeNet has 332 units, and one block of them is
 * more than KaTeX expands (maxExpand) and longer than a page; the next block continues the list.
 */
const BLOCK_ROWS = 40;

function runs<T>(items: readonly T[], n = BLOCK_ROWS): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out.length ? out : [[]];
}

/** equations as aligned blocks of at most BLOCK_ROWS */
const blocks = (equations: readonly Equation[]): Block[] => runs(equations).map((e) => ({ equations: e }));

/** A derivation's sections, the same for every format (Markdown, TeX, the playground's HTML). */
export function sections(d: Derivation, picture?: string, digits = DEFAULT_DIGITS): Section[] {
  const out: Section[] = [];
  out.push({ title: "1. The model", math: d.model.map((e) => ({ equations: [e] })) });
  out.push({
    title: "2. Forward decomposition into elementary units",
    intro: "Each unit applies one elementary op. The units, in the order they are created:",
    math: blocks(d.units),
  });
  out.push({
    title: "Recorded node order",
    intro: "Inputs first, then intermediate units, the result last:",
    math: runs(d.order).map((r) => r.join(",\\; ")),
  });
  out.push({
    title: "3. Child sets S(u)",
    intro: "$S(u)$ holds the units that use $u$ (the heads of $u$'s outgoing edges):",
    math: blocks(d.childSets),
  });
  out.push({
    title: "4. Local derivatives",
    intro: d.tensor
      ? "One per edge, from the rule table. For tensors, each edge maps the downstream gradient back (lemma 1 of 4.6.4: $\\nabla_{x} z = (\\partial y / \\partial x)^{\\top} \\nabla_{y} z$). The Jacobian $\\partial v / \\partial u$ of an edge has one row per entry of $v$ and one column per entry of $u$ (4.2), so its transpose times $\\nabla_{v}$, $(n \\times m)(m)$, is a gradient of $u$'s $n$ entries; it is never built, only applied:"
      : "One per edge into a node that depends on a param, from the rule table:",
    math: blocks(d.locals),
  });
  out.push({
    title: "5. The backward sweep",
    intro: `In reverse creation order; each node's gradient sums over its children, $\\frac{\\partial ${d.lossSymbol}}{\\partial u} = \\sum_{v \\in S(u)} \\frac{\\partial ${d.lossSymbol}}{\\partial v} \\frac{\\partial v}{\\partial u}$, then the known values are substituted:`,
    math: d.sweep.map((e) => ({ equations: [e] })),
  });
  out.push({
    title: "6. The gradients",
    ...(d.softmaxCrossEntropy
      ? { intro: "Softmax cross-entropy contributes $\\operatorname{softmax}(z) - y$ to its logits' gradient (4.6.4)." }
      : {}),
    math: d.finals.map((e) => ({ equations: [e], boxed: true })),
  });
  if (d.recursion.length)
    out.push({
      title: "The recursion over the steps",
      intro:
        "The sweep above writes each step's gradient with that step's own names. Written once for a generic step, it is a recursion, run from the last step back (backpropagation through time; lecture 4.3's $\\delta_k$). Each line below is every one of those steps' lines with the step renamed, so it holds exactly at the steps it names; a def's local, which the sweep names alike at every step, is written with its step ($\\mathbf{e}_{t}$):",
      math: [{ equations: d.recursion }],
    });
  if (d.layers.length)
    out.push({
      title: "The layers, by hand",
      intro:
        "The sweep above goes op by op: a convolution through unfold, one matrix product and fold (im2col), a normalization through its means and variance, a pool through one slice per window offset, an attention through its einsums and softmax. Here each layer's backward pass is written as a course derives it by hand, with $\\delta = \\nabla_{y} \\ell$ of the layer's result: a convolution and a pool in index form, a normalization in closed form, an attention per head in matrices (each line checked against the sweep's numbers):",
      math: d.layers.map((equations) => ({ equations })),
    });
  if (d.table) {
    out.push({
      title: "7. Values at the given point",
      table: {
        head: ["node", "value", `$\\partial ${d.lossSymbol} / \\partial$ node`],
        rows: d.table.map((r: TableRow) => [
          r.symbol,
          values(r.value, r.shape, digits),
          values(r.grad, r.shape, digits),
        ]),
      },
    });
  }
  if (picture) out.push({ title: "The computation graph", picture });
  return out;
}

function markdown(d: Derivation, picture: string | undefined, digits: number): string {
  const parts: string[] = [];
  for (const s of sections(d, picture, digits)) {
    parts.push(`## ${s.title}`);
    if (s.intro) parts.push(s.intro);
    for (const m of s.math ?? [])
      parts.push(
        "```math\n" + (typeof m === "string" ? m : `\\begin{aligned}\n${blockText(m)}\n\\end{aligned}`) + "\n```",
      );
    if (s.table) {
      parts.push(
        [
          `| ${s.table.head.join(" | ")} |`,
          `| ${s.table.head.map(() => "---").join(" | ")} |`,
          ...s.table.rows.map((r) => `| $${r[0]}$ | ${r[1]} | ${r[2]} |`),
        ].join("\n"),
      );
    }
    if (s.picture) parts.push(`![computation graph](${s.picture})`);
  }
  return fillTemplate("derivation.md", {
    sourceComment: commentText(d.file),
    sourceCode: mdCode(d.file),
    body: parts.join("\n\n"),
  });
}

// ---- a file name, which may hold any character, in each place it is printed -------------------
/** control characters (a newline would end a comment line) as '?' */
// eslint-disable-next-line no-control-regex -- control characters are what this removes
const printable = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "?");
/** inside a Markdown <!-- comment --> or a TeX % comment: a JSON string, with nothing that ends an HTML comment */
const commentText = (s: string) =>
  JSON.stringify(printable(s))
    .replace(/--/g, "-\\u002d")
    .replace(/[<>]/g, (c) => (c === "<" ? "\\u003c" : "\\u003e"));
/** a Markdown code span: fenced by more backticks than the name holds */
function mdCode(s: string): string {
  const text = printable(s);
  const fence = "`".repeat(Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length)) + 1);
  return text.includes("`") ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}
/** literal text for LaTeX: every special character escaped, math included (a file name is no formula) */
const texLiteral = (s: string) =>
  printable(s).replace(
    /[\\{}$&#^_%~]/g,
    (c) => ({ "\\": "\\textbackslash{}", "^": "\\textasciicircum{}", "~": "\\textasciitilde{}" })[c] ?? `\\${c}`,
  );

/** Prose for LaTeX: escape special characters outside $...$ math, keep the math. */
const texText = (s: string) =>
  s
    .split(/(\$[^$]*\$)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part.replace(/[\\{}&#^_%~]/g, (c) => (c === "\\" ? "\\textbackslash{}" : `\\${c}`)).replace(/[−]/g, "-"),
    )
    .join("");

function latex(d: Derivation, digits: number): string {
  const parts: string[] = [];
  for (const s of sections(d, undefined, digits)) {
    parts.push(`\\subsection*{${texText(s.title)}}`);
    if (s.intro) parts.push(texText(s.intro));
    for (const m of s.math ?? [])
      parts.push(typeof m === "string" ? pageFormula(m) : `\\begin{align*}\n${pageBlock(m)}\n\\end{align*}`);
    if (s.table) {
      parts.push(
        [
          // value columns wrap within the page (a row of six numbers is wider than a column)
          `{\\small\\begin{tabular}{l>{\\raggedright\\arraybackslash}p{0.4\\linewidth}>{\\raggedright\\arraybackslash}p{0.4\\linewidth}}`,
          `${s.table.head.map(texText).join(" & ")} \\\\ \\hline`,
          ...s.table.rows.map((r) => `$${r[0]}$ & ${texText(r[1])} & ${texText(r[2])} \\\\`),
          `\\end{tabular}}`,
        ].join("\n"),
      );
    }
  }
  return fillTemplate("derivation.tex", {
    sourceComment: commentText(d.file),
    // a long path breaks after its separators instead of running off the page
    source: texLiteral(d.file).replace(/(\/|-|\.|\\_)/g, "$1\\allowbreak{}"),
    body: parts.join("\n\n"),
  });
}

/** A derivation as a Markdown page (GitHub math) or a standalone LaTeX document. */
export function renderDerivation(d: Derivation, format: Format, picture?: string, digits = DEFAULT_DIGITS): string {
  return format === "md" ? markdown(d, picture, digits) : latex(d, digits);
}

/** Every math fragment a derivation prints (for checking them with KaTeX). */
export function mathFragments(d: Derivation): string[] {
  const inline = (text: string) => [...text.matchAll(/\$([^$]*)\$/g)].map((m) => m[1]);
  return sections(d).flatMap((s) => [
    ...(s.math ?? []).map(mathText),
    ...inline(s.intro ?? ""),
    ...(s.table
      ? [...s.table.head.flatMap(inline), ...s.table.rows.flatMap((r) => [r[0], ...inline(r[1]), ...inline(r[2])])]
      : []),
  ]);
}
