import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { catalogue, type CatalogueEntry } from "../src/diagnostics/catalogue.js";
import { diagnostic } from "../src/diagnostics/diagnostic.js";
import { analyze, CompileError, renderDiagnostics } from "../src/index.js";

/** Each folder of test/errors holds input.grad and the golden rendered diagnostics. */
const cases = readdirSync("test/errors").sort();

function rendered(name: string): { text: string; codes: string[] } {
  const file = `test/errors/${name}/input.grad`;
  const source = readFileSync(file, "utf8");
  try {
    const a = analyze(source, { filename: `${name}.grad` });
    return { text: renderDiagnostics(a.diagnostics, source), codes: a.diagnostics.map((d) => d.code) };
  } catch (e) {
    if (!(e instanceof CompileError)) throw e;
    return { text: renderDiagnostics(e.diagnostics, source), codes: e.diagnostics.map((d) => d.code) };
  }
}

describe("rendered diagnostics (golden)", () => {
  it("every catalogue code about a source has a case (E5xx, outside the source: test/usage-errors.test.ts)", () => {
    for (const code of Object.keys(catalogue).filter((c) => !c.startsWith("E5")))
      expect(cases, `test/errors/${code}/input.grad is missing`).toContain(code);
  });
  for (const name of cases) {
    it(name, async () => {
      const { text, codes } = rendered(name);
      if (name in catalogue) expect(codes).toContain(name);
      await expect(text).toMatchFileSnapshot(`errors/${name}/expected.txt`);
    });
  }
  it("reports several errors in one file", () => {
    expect(rendered("multiple").codes).toEqual(["E104", "E202", "E101"]);
  });
});

describe("CompileError", () => {
  it("carries the list and renders it as its message", () => {
    try {
      analyze("param w\nloss = relu(q) + rleu(w)\n", { filename: "m.grad" });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CompileError);
      const err = e as CompileError;
      expect(err.diagnostics.map((d) => d.code)).toEqual(["E101", "E104"]);
      expect(err.message).toContain("m.grad:2:13: error[E101]: unknown name 'q'");
      expect(err.message).toContain("= hint: did you mean 'relu'?");
    }
  });
});

describe("typed diagnostic constructors", () => {
  const span = { start: 0, end: 1 };
  it("a code takes exactly the arguments its message and hint name (checked by tsc in npm test)", () => {
    const ok = diagnostic("m.grad", "E102", span, { name: "w", where: "1:7" });
    expect(ok.message).toBe("'w' is already defined");
    expect(ok.hint).toBe("it was first defined at 1:7; every name is assigned once");
    expect(diagnostic("m.grad", "E301", span).message).toBe("the program has no loss");
    // @ts-expect-error a hole without a value
    expect(() => diagnostic("m.grad", "E102", span, { name: "w" })).toThrow(/no value for \{where\}/);
    // @ts-expect-error an argument the message does not have
    diagnostic("m.grad", "E102", span, { name: "w", where: "1:7", extra: 1 });
    // @ts-expect-error a message without holes takes no arguments
    diagnostic("m.grad", "E301", span, { name: "w" });
  });

  it("a hint that depends on the case is one of the code's named hints, with its own holes (#17)", () => {
    const similar = diagnostic("m.grad", "E101", span, { name: "wx", hint: { kind: "similar", suggestion: "w" } });
    expect(similar.hint).toBe("did you mean 'w'?");
    // the hint's holes and the message's: '{name}' comes from the message
    const outside = diagnostic("m.grad", "E101", span, { name: "w", hint: { kind: "outside", def: "cell" } });
    expect(outside.hint).toMatch(/^'w' is defined outside 'cell': /);
    expect(diagnostic("m.grad", "E101", span, { name: "w" }).hint).toBeUndefined();
    // @ts-expect-error a hint the code does not have
    expect(() => diagnostic("m.grad", "E101", span, { name: "w", hint: { kind: "nope" } })).toThrow(/no hint 'nope'/);
    // @ts-expect-error a named hint without its hole
    expect(() => diagnostic("m.grad", "E101", span, { name: "w", hint: { kind: "similar" } })).toThrow(/suggestion/);
  });

  it("every hint text lives in the catalogue: no code takes a hint written at its call site", () => {
    for (const [code, entry] of Object.entries(catalogue) as [string, CatalogueEntry][])
      expect(entry.hint ?? "", code).not.toMatch(/^\{hint\}$/);
  });
});
