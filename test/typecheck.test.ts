import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Project, ts } from "ts-morph";
import { compile } from "../src/index.js";
import { examples } from "../scripts/examples.js";

function flatten(m: string | { getMessageText(): string }): string {
  return typeof m === "string" ? m : m.getMessageText();
}

/** Type-check generated modules under `strict`, as a user's project would. */
function typeErrors(files: Record<string, string>): string[] {
  const project = new Project({
    useInMemoryFileSystem: true,
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      lib: ["lib.es2022.d.ts"],
      noUnusedLocals: true,
      noUnusedParameters: true,
      noUncheckedIndexedAccess: false,
    },
  });
  for (const [name, text] of Object.entries(files)) project.createSourceFile(name, text);
  return project
    .getPreEmitDiagnostics()
    .map((d) => `${d.getSourceFile()?.getBaseName()}:${d.getLineNumber()}: ${flatten(d.getMessageText())}`);
}

describe("generated modules type-check under strict", () => {
  it("every example, f64 and f32, and a user file that calls them", async () => {
    const files: Record<string, string> = {};
    for (const ex of examples()) {
      const text = readFileSync(ex.source, "utf8");
      files[`${ex.name}.ts`] = (await compile(text, { filename: ex.source })).typescript;
      files[`${ex.name}32.ts`] = (await compile(text, { filename: ex.source, dtype: "f32" })).typescript;
      files[`${ex.name}wasm.ts`] = (
        await compile(text, { filename: ex.source, dtype: "f32", target: "wasm" })
      ).typescript;
    }
    files["user.ts"] = [
      `import { gradients, batchGradients, createResult, shapes, type Params } from "./mlp";`,
      `import * as f32 from "./mlp32";`,
      `const p: Params = { W1: new Float64Array(128 * 784), b1: new Float64Array(128), W2: new Float64Array(1280), b2: new Float64Array(10) };`,
      `const out = createResult();`,
      `const r = gradients(p, { x: new Float64Array(784), y: new Float64Array(10) }, out);`,
      `const w1: Float64Array = r.grads.W1;`,
      `const n: number = batchGradients(p, { x: new Float64Array(784 * 2), y: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0] }, 2).loss;`,
      `const s: readonly [128, 784] = shapes.params.W1;`,
      `const g32: Float32Array = f32.createResult().grads.W1;`,
      `export { w1, n, s, g32 };`,
    ].join("\n");
    expect(typeErrors(files)).toEqual([]);
  }, 120_000);

  it("reports a real type error (the check is live)", () => {
    expect(typeErrors({ "bad.ts": "const x: number = 'no';\nexport { x };" }).length).toBe(1);
  });
});
