/**
 * Derivations of models nobody in this repository tuned them for (#12): the student corpus in
 * test/corpus/ (logistic regression on a batch, an MLP with L2, a tied-weight autoencoder,
 * self-attention, binary cross-entropy, every function of the language) and every example.
 * explain checks every printed equation numerically as it derives (src/explain/check.ts), at
 * its own random point and at the point given here; these tests add that every fragment parses
 * with KaTeX in strict mode, that the graph is drawn, and that every .tex compiles with
 * pdflatex with no overfull line wider than 10 pt.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import katex from "katex";
import { describe, expect, it } from "vitest";
import { analyze, explain, graph } from "../src/index.js";
import { derive } from "../src/explain/derive.js";
import { mathFragments } from "../src/explain/render.js";
import { parsePoint } from "../src/explain/point.js";
import { corpus } from "./programs.js";
import { rankPrograms } from "./rankn-programs.js";
import { examples } from "../scripts/examples.js";

const programs = [
  // the gradient tests' programs: every op alone and composed, and every rank-N form
  ...corpus.map((p) => ({ name: `program-${p.name}`, file: "", source: p.source })),
  ...rankPrograms.map((p) => ({ name: `rank-${p.name}`, file: "", source: p.source })),
  ...readdirSync("test/corpus").map((f) => ({ name: f.replace(/\.grad$/, ""), file: `test/corpus/${f}`, source: "" })),
  ...examples().map((e) => ({ name: `example-${e.name}`, file: e.source, source: "" })),
  // lecture 4.4's skip connection (its batch-norm sibling is 50 batch norms: an 800 KB derivation)
  { name: "example-chain-skip", file: "examples/remedies/chain-skip.grad", source: "" },
]
  .map((p) => (p.file ? { ...p, source: readFileSync(p.file, "utf8") } : { ...p, file: `${p.name}.grad` }))
  .sort((a, b) => a.name.localeCompare(b.name));
/** the student-style models and the examples: printed as pages too */
const pages = programs.filter((p) => !p.name.startsWith("program-") && !p.name.startsWith("rank-"));

describe("the student corpus (#12)", () => {
  it("holds at least 40 models besides the examples", () => {
    expect(pages.filter((p) => !p.name.startsWith("example-")).length).toBeGreaterThanOrEqual(40);
  });

  for (const p of programs) {
    it(`${p.name}: every equation holds, every fragment parses with KaTeX, the graph is drawn`, async () => {
      const text = p.source;
      const a = analyze(text, { filename: p.file });
      // derive checks every printed equation at its own random point and at this one
      const d = derive(a, parsePoint("random:7", a.canonical));
      for (const f of mathFragments(d))
        expect(
          () => katex.renderToString(f, { displayMode: true, strict: "error", throwOnError: true }),
          f,
        ).not.toThrow();
      // the student models and the examples are drawn (Graphviz in wasm), the rest laid out as DOT
      const page = pages.includes(p);
      expect(await graph(text, { filename: p.file, format: page ? "svg" : "dot" })).toMatch(
        page ? /<svg[\s\S]*<\/svg>/ : /^digraph/,
      );
      // the networks written on a batch check every printed equation on 32 samples' tensors
    }, 90_000);
  }

  const hasPdflatex = spawnSync("pdflatex", ["--version"]).status === 0;
  it.skipIf(!hasPdflatex)(
    "every derivation compiles with pdflatex, no line more than 10 pt too wide",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "gradc-corpus-"));
      const problems: string[] = [];
      for (const p of pages) {
        const text = p.source;
        writeFileSync(
          join(dir, `${p.name}.tex`),
          explain(text, { filename: p.file, format: "tex", at: "random" }).text,
        );
        const r = spawnSync("pdflatex", ["-interaction=nonstopmode", "-halt-on-error", `${p.name}.tex`], {
          cwd: dir,
          encoding: "utf8",
        });
        if (r.status !== 0) problems.push(`${p.name}.tex does not compile:\n${r.stdout.slice(-1500)}`);
        const log = readFileSync(join(dir, `${p.name}.log`), "latin1");
        for (const m of log.matchAll(/Overfull \\hbox \(([\d.]+)pt too wide\)[^\n]*/g))
          if (Number(m[1]) > 10) problems.push(`${p.name}.tex: ${m[0]}`);
      }
      expect(problems).toEqual([]);
    },
    300_000,
  );
  if (!hasPdflatex) it("pdflatex is not installed here: the .tex page test is skipped (CI installs TeX)", () => {});
});
