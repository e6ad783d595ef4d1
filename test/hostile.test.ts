import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { ts } from "ts-morph";
import { describe, expect, it } from "vitest";
import { compile, CompileError } from "../src/index.js";
import { loadModule } from "./helpers/module.js";
import { lookAlikes } from "../src/parse/lexer.js";

/** `npm run fuzz` sets GRADC_FUZZ=long: more runs and a fresh seed. */
const long = process.env.GRADC_FUZZ === "long";
const runs = (n: number): fc.Parameters<unknown> => ({
  seed: long ? Date.now() : 20261201,
  numRuns: long ? n * 10 : n,
  endOnFailure: true,
});

/** Syntax errors TypeScript finds in a module (transpiling reports only those). */
function syntaxErrors(code: string): string[] {
  const out = ts.transpileModule(code, {
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  });
  return (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

describe("hostile names", () => {
  // any code point: the BMP, the astral planes, and the ranges where the engine's Unicode is newer than TypeScript's
  const codePoint = fc.oneof(
    fc.integer({ min: 0x80, max: 0xffff }),
    fc.integer({ min: 0x10000, max: 0x3ffff }),
    fc.integer({ min: 0xa700, max: 0xa7ff }),
  );
  it("a name is refused by the lexer, or compiles to a module that TypeScript parses and that runs (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(codePoint, fc.boolean(), async (cp, first) => {
        const ch = String.fromCodePoint(cp);
        if (/[\p{Cs}]/u.test(ch)) return;
        const name = first ? `${ch}w` : `w${ch}`;
        const source = `param ${name}[2]\ninput x[2]\nloss = sum((${name} * x)^2)\n`;
        let code: string;
        try {
          code = (await compile(source, { prettier: false })).typescript;
        } catch (e) {
          if (!(e instanceof CompileError)) throw e;
          // E001, or E007 for a look-alike of an operator (× · ⊙ −), which says what to write instead
          expect(e.diagnostics[0].code).toBe(Object.hasOwn(lookAlikes, ch) ? "E007" : "E001");
          return;
        }
        expect(syntaxErrors(code), `U+${cp.toString(16)}`).toEqual([]);
        const mod = await loadModule(code);
        const r = mod.gradients({ [name]: Float64Array.of(1, 2) }, { x: Float64Array.of(3, 4) });
        expect(Array.from(r.grads[name] as Float64Array)).toEqual([18, 64]);
      }),
      // × (U+D7) before the rest: an operator's look-alike, refused with its own code (found by npm run fuzz)
      { ...runs(150), examples: [[0xd7, true]] },
    );
  }, 120_000);
});

describe("names that are members of every JavaScript object", () => {
  const names = [
    "__proto__",
    "constructor",
    "toString",
    "valueOf",
    "hasOwnProperty",
    "isPrototypeOf",
    "__defineGetter__",
    "prototype",
  ];
  const pick = fc.shuffledSubarray(names, { minLength: 4, maxLength: 4 });
  it("as params, inputs, layer families and defs: compile, run, explain --at, graph --at and flow (fast-check)", async () => {
    const { explain, graph, analyze } = await import("../src/index.js");
    const { gradientFlow, parseInit } = await import("../src/flow/flow.js");
    await fc.assert(
      fc.asyncProperty(pick, async ([p, i, h, f]) => {
        const source = `param ${p}, w{1}, w{2}\ninput ${i}\ndef ${f}(a, b) = tanh(a * b)\n${h}{0} = ${i}\nfor k in 1..2 {\n  ${h}{k} = ${f}(w{k}, ${h}{k-1}) + ${p}\n}\nloss = ${h}{2}^2\n`;
        const mod = await loadModule((await compile(source, { prettier: false })).typescript);
        const params = Object.assign(Object.create(null), { [p]: 0.3, w_1: 0.5, w_2: -0.7 });
        const inputs = Object.assign(Object.create(null), { [i]: 0.9 });
        const r = mod.gradients(params, inputs);
        expect(Number.isFinite(r.loss)).toBe(true);
        expect(Object.prototype.hasOwnProperty.call(r.grads, p)).toBe(true);
        const d = explain(source, { at: "random" });
        expect(d.derivation.table!.length).toBeGreaterThan(0);
        expect(await graph(source, { at: "random" })).toContain("<svg");
        const flow = gradientFlow(analyze(source), parseInit("xavier")!, 1);
        expect(flow.rows.map((row) => row.layer)).toEqual([1, 2]);
      }),
      runs(12),
    );
  }, 120_000);

  it("calling one of them is an unknown function, and a def may take the name", async () => {
    for (const n of names) {
      let codes: string[] = [];
      try {
        await compile(`param w\nloss = ${n}(w)\n`);
      } catch (e) {
        codes = (e as CompileError).diagnostics.map((d) => d.code);
      }
      expect(codes, n).toEqual(["E104"]);
      const mod = await loadModule((await compile(`param w\ndef ${n}(x) = 3 * x\nloss = ${n}(w)^2\n`)).typescript);
      expect(mod.gradients({ w: 1 }, {}).grads.w).toBe(18);
    }
  });
});

describe("hostile file names in derivations", () => {
  const names = [
    "a-->b<script>alert(1)</script>.grad",
    "$\\write18{rm -rf x}$.grad",
    "100%_{x}^~#&.grad",
    "back`tick``s.grad",
    "new\nline\u2028.grad",
    "ünï \u0000 code.grad",
  ];
  it("reach the Markdown comment and heading and the TeX comment and title escaped (fast-check over name parts)", async () => {
    const { explain } = await import("../src/index.js");
    await fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...names, "-", "--", ">", "$", "\\", "`", "%", "\n", "{", "}"), {
          minLength: 1,
          maxLength: 6,
        }),
        (parts) => {
          const filename = parts.join("");
          const md = explain("param w\nloss = w^2\n", { filename }).text;
          const [comment, heading] = md.split("\n");
          // the comment holds no '--' that could end it, and ends where it should
          expect(comment.startsWith("<!-- ") && comment.endsWith(" -->")).toBe(true);
          expect(comment.slice(4, -3)).not.toContain("--");
          expect(heading.startsWith("# Backpropagation, worked: ")).toBe(true);
          const tex = explain("param w\nloss = w^2\n", { filename, format: "tex" }).text;
          const lines = tex.split("\n");
          expect(lines[0].startsWith("% Generated by gradc from ")).toBe(true);
          expect(lines[1]).toBe("\\documentclass[11pt]{article}");
          const title = lines.find((l) => l.startsWith("\\section*{Backpropagation"))!;
          // no unescaped math, group or command from the name: every $ { } \ is escaped (and the
          // only command added is \allowbreak{}, after separators)
          const inner = title.slice("\\section*{Backpropagation, worked: \\texttt{".length, -2);
          expect(
            inner.replace(/\\(textbackslash|textasciicircum|textasciitilde|allowbreak)\{\}|\\[$&#_%{}]/g, ""),
          ).not.toMatch(/[$\\{}&#_%^~]/);
        },
      ),
      runs(200),
    );
  });
});

describe("a hostile file name through pdflatex", () => {
  const hasPdflatex = spawnSync("pdflatex", ["--version"]).status === 0;
  it.skipIf(!hasPdflatex)("compiles, and the title shows the name as text", async () => {
    const { explain } = await import("../src/index.js");
    const dir = mkdtempSync(join(tmpdir(), "gradc-hostile-tex-"));
    const filename = "a-->b$\\write18{touch pwned}$ 100%_{x}^~#&`.grad";
    writeFileSync(join(dir, "d.tex"), explain("param w\nloss = w^2\n", { filename, format: "tex" }).text);
    const r = spawnSync("pdflatex", ["-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "d.tex"], {
      cwd: dir,
      encoding: "utf8",
    });
    expect(r.status, r.stdout.slice(-1500)).toBe(0);
    expect(existsSync(join(dir, "pwned"))).toBe(false);
  });
  if (!hasPdflatex)
    it("pdflatex is not installed here: the hostile-name .tex test is skipped (CI installs TeX)", () => {});
});

describe("garbage in: bounded, escaped output", () => {
  const render = async (source: string) => {
    const { analyze, renderDiagnostics } = await import("../src/index.js");
    try {
      analyze(source, { filename: "g.grad" });
      return "";
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      return renderDiagnostics(e.diagnostics, source);
    }
  };
  // raw terminal controls: what must never reach a terminal from the source
  // eslint-disable-next-line no-control-regex -- control characters are what this looks for
  const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
  const piece = fc.oneof(
    fc.constantFrom(
      "$",
      "a = ",
      "\n",
      "\u001b[31m",
      "\u0007",
      "\u0000",
      "\u202e",
      "\r",
      "\t",
      "param w",
      "loss = w",
      "(",
      "[",
      "#",
      "é",
      "😀",
      "''",
      "1e",
      "..",
      "@@",
    ),
    fc.string({ maxLength: 8 }),
    fc.integer({ min: 100, max: 5000 }).map((n) => "$".repeat(n)),
  );
  it("random garbage: at most 50 diagnostics shown, every line of bounded width, no raw control character (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 60 }), async (parts) => {
        const out = await render(parts.join(""));
        expect(out).not.toMatch(raw);
        expect(
          out.split("\n").every((l) => l.length < 400),
          "a line wider than the window",
        ).toBe(true);
        const shown = (out.match(/: (error|warning)\[/g) ?? []).length;
        expect(shown).toBeLessThanOrEqual(50);
      }),
      runs(150),
    );
  }, 120_000);

  it("20,000 lines of 'a = $' and a 20,000-character line render in bounded output", async () => {
    const many = await render("a = $\n".repeat(20_000));
    expect(many).toContain("… and 19,951 more (the first 50 are shown");
    expect(many.length).toBeLessThan(20_000);
    const wide = await render(`${"$".repeat(20_000)}\n`);
    expect(wide.length).toBeLessThan(20_000);
    expect(wide).toContain("…");
  }, 60_000);

  it("a control character in the source is shown escaped, with the caret under it", async () => {
    const out = await render("param w\nloss = w + q\u001b[1m\n");
    expect(out).toContain("2 | loss = w + q\\u{1b}[1m\n  |             ^^^^^^\n");
  });
});

describe("programs of thousands of terms", () => {
  it("a flat sum of 4,000 terms, a product of 3,000 and a tensor sum of 3,000 compile, with bounded comments", async () => {
    for (const source of [
      `param w\nloss = ${"w + ".repeat(4_000)}w\n`,
      `param w\nloss = ${"w * ".repeat(3_000)}w\n`,
      `param v[3]\nloss = sum(${"v + ".repeat(3_000)}v)\n`,
    ]) {
      const code = (await compile(source, { prettier: false })).typescript;
      // each unit's comment names its source with the middle elided, not the whole prefix
      const comments = code
        .split("\n")
        .filter((l) => l.includes("//"))
        .map((l) => l.slice(l.indexOf("//")));
      expect(Math.max(...comments.map((l) => l.length))).toBeLessThan(120);
      // and each statement computes a bounded number of ops (a local every 8 terms), not the whole sum
      const statements = code.split("\n").filter((l) => /^\s*const u\d+ = /.test(l));
      expect(Math.max(...statements.map((l) => l.split("//")[0].length))).toBeLessThan(100);
    }
    const mod = await loadModule(
      (await compile(`param w\nloss = ${"w * ".repeat(99)}w\n`, { prettier: false })).typescript,
    );
    expect(mod.gradients({ w: 1.01 }, {}).grads.w).toBeCloseTo(100 * 1.01 ** 99, 9);
  }, 120_000);

  it("explain and graph refuse a formula thousands of operations deep with a message, not a crash", async () => {
    const { analyze, explain, graph, ExplainError } = await import("../src/index.js");
    const source = `param w\nloss = ${"w + ".repeat(3_000)}w\n`;
    expect(() => analyze(source)).not.toThrow();
    expect(() => explain(source)).toThrow(ExplainError);
    await expect(graph(source)).rejects.toThrow(
      /has a formula nested more than 200 operations deep \(w \+ w .* … .* w\)\n {2}= hint: derivations and graphs are written for a person to read/,
    );
    // named intermediate values keep every formula short: explained
    const named = `param w\n${Array.from({ length: 30 }, (_, k) => `s${k + 1} = ${k ? `s${k}` : "w"} + ${"w + ".repeat(99)}w`).join("\n")}\nloss = s30\n`;
    expect(explain(named).text).toContain("Backpropagation");
  }, 120_000);
});
