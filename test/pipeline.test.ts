import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { check } from "../src/check/check.js";
import { Reporter } from "../src/diagnostics/diagnostic.js";
import { analyze, compile, printGraph } from "../src/index.js";
import { lex } from "../src/parse/lexer.js";
import { parse } from "../src/parse/parser.js";

/** One tiny program through every stage; each stage's output is pinned by a golden file. */
const source = readFileSync("examples/lecture.grad", "utf8");
const golden = (name: string) => `fixtures/lecture/${name}`;

describe("pipeline on the lecture example", () => {
  it("lexes", () => {
    const tokens = lex(source, new Reporter("lecture.grad")).map((t) =>
      t.kind === "newline" ? "⏎" : t.kind === "name" || t.kind === "number" ? t.text : `'${t.kind}'`,
    );
    expect(tokens.join(" ")).toBe(
      "param w ',' b ⏎ input x ',' y ⏎ loss f '=' 0.5 '*' '(' sigmoid '(' w '*' x '+' b ')' '-' y ')' '^' 2 '+' 0.5 '*' w '^' 2 ⏎ 'eof'",
    );
  });

  it("parses and checks", async () => {
    const r = new Reporter("lecture.grad");
    const ast = parse(source, r);
    expect(r.diagnostics).toEqual([]);
    expect(ast.statements.map((s) => s.kind)).toEqual(["declare", "declare", "loss"]);
    const checked = check(ast, "lecture.grad", source);
    expect(checked.diagnostics).toEqual([]);
    expect(checked.program!.params.map((p) => p.name)).toEqual(["w", "b"]);
    expect(checked.program!.inputs.map((p) => p.name)).toEqual(["x", "y"]);
    expect(checked.program!.loss.name).toBe("f");
  });

  it("lowers, differentiates and optimizes (IR goldens)", async () => {
    const a = analyze(source, { filename: "examples/lecture.grad" });
    await expect(printGraph(a.forward)).toMatchFileSnapshot(golden("forward.ir.txt"));
    await expect(printGraph(a.differentiated)).toMatchFileSnapshot(golden("differentiated.ir.txt"));
    await expect(printGraph(a.ir)).toMatchFileSnapshot(golden("optimized.ir.txt"));
    // the sweep visits the loss first and every node after all of its children
    expect(a.sweep[0].node).toBe(a.forward.loss);
    const order = a.sweep.map((s) => s.node);
    for (const step of a.sweep)
      for (const t of step.terms) expect(order.indexOf(t.child)).toBeLessThan(order.indexOf(step.node));
  });

  it("emits TypeScript (golden)", async () => {
    const r = await compile(source, { filename: "examples/lecture.grad" });
    await expect(r.typescript).toMatchFileSnapshot(golden("module.ts.txt"));
  });

  it("is deterministic", async () => {
    const a = await compile(source, { filename: "examples/lecture.grad" });
    const b = await compile(source, { filename: "examples/lecture.grad" });
    expect(b.typescript).toBe(a.typescript);
    expect(b.irText).toBe(a.irText);
  });
});

describe("IR goldens for the other examples", () => {
  for (const name of ["mlp", "tiny-mlp", "regression"]) {
    it(name, async () => {
      const a = analyze(readFileSync(`examples/${name}.grad`, "utf8"), { filename: `examples/${name}.grad` });
      await expect(printGraph(a.ir)).toMatchFileSnapshot(`fixtures/${name}/optimized.ir.txt`);
    });
  }
});
