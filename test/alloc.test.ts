import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ts } from "ts-morph";
import { describe, expect, it } from "vitest";
import { compile, type CompileOptions } from "../src/index.js";
import { LAZY_WORKSPACE_BYTES } from "../src/emit/ts/declarations.js";

/** a generated module, as JavaScript, at dir/m.mjs */
function writeModule(dir: string, typescript: string): void {
  const js = ts.transpileModule(typescript, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  writeFileSync(join(dir, "m.mjs"), js);
}

/**
 * gradients() and batchGradients() with `out` allocate nothing per call: after warm-up, 10,000
 * calls must not grow the heap (a fresh process with --expose-gc, so nothing else allocates).
 */
async function heapGrowth(
  example: string,
  calls: string,
  target: "ts" | "wasm" = "ts",
  options: CompileOptions = {},
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "gradc-alloc-"));
  const r = await compile(example.includes("\n") ? example : readFileSync(`examples/${example}.grad`, "utf8"), {
    target,
    ...options,
  });
  writeModule(dir, r.typescript);
  writeFileSync(
    join(dir, "run.mjs"),
    `import * as m from "./m.mjs";
const fill = (shape) => shape.length === 0 ? 0.3 : Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 0.1);
const params = Object.fromEntries(Object.entries(m.shapes.params).map(([k, s]) => [k, fill(s)]));
const inputs = Object.fromEntries(Object.entries(m.shapes.inputs).map(([k, s]) => [k, fill(s)]));
const batch = Object.fromEntries(Object.entries(m.shapes.inputs).map(([k, s]) => [k, Float64Array.from({ length: 40 * s.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(i))]));
const out = m.createResult();
const step = () => { ${calls} };
for (let i = 0; i < 3000; i++) step();
// the least growth over five windows: a one-off (the JIT installing code) lands in one window,
// a per-call allocation in all of them
const growth = [];
for (let w = 0; w < 5; w++) {
  globalThis.gc(); globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 10000; i++) step();
  growth.push(process.memoryUsage().heapUsed - before);
}
console.log(Math.min(...growth));`,
  );
  const p = spawnSync(process.execPath, ["--expose-gc", "--max-semi-space-size=64", join(dir, "run.mjs")], {
    encoding: "utf8",
  });
  expect(p.status, p.stderr).toBe(0);
  return Number(p.stdout.trim());
}

describe("allocation-free steps", () => {
  // one 16-byte allocation per call would grow the heap by 160 KB over 10,000 calls
  const limit = 32 * 1024;
  for (const example of ["lecture", "chain", "tiny-mlp", "mlp"]) {
    it(`${example}: gradients(params, inputs, out)`, async () => {
      expect(await heapGrowth(example, "m.gradients(params, inputs, out);")).toBeLessThan(limit);
    }, 120_000);
  }
  for (const example of ["lecture", "tiny-mlp"]) {
    it(`${example}: batchGradients(params, batch, 40, out) (two chunks and a remainder)`, async () => {
      expect(await heapGrowth(example, "m.batchGradients(params, batch, 40, out);")).toBeLessThan(limit);
    }, 120_000);
  }
  // the MLP's shape, small enough for 50,000 calls: kernels, a gradient summed in wasm memory and
  // scaled there, and the samples past the last chunk
  const smallMlp =
    "param W1[12, 20], b1[12], W2[3, 12], b2[3]\ninput x[20], y[3]\nh = relu(W1 @ x + b1)\nloss = softmax_cross_entropy(W2 @ h + b2, y)\n";
  it("a small MLP --target wasm: batchGradients(params, batch, 40, out)", async () => {
    const src = (await compile(smallMlp, { target: "wasm" })).typescript;
    expect(src).toContain(".scale(");
    expect(await heapGrowth(smallMlp, "m.batchGradients(params, batch, 40, out);", "wasm")).toBeLessThan(limit);
  }, 120_000);
  it("a small MLP --target wasm, the remainder as a padded chunk: batchGradients(params, batch, 40, out) and gradients()", async () => {
    expect(
      await heapGrowth(
        smallMlp,
        "m.batchGradients(params, batch, 40, out); m.gradients(params, inputs, out);",
        "wasm",
        { paddedTailFrom: 1 },
      ),
    ).toBeLessThan(limit);
  }, 120_000);
  it("the measurement sees an allocation when there is one", async () => {
    // a fresh result per call that escapes (kept in a global), so V8 cannot optimize it away
    expect(await heapGrowth("lecture", "globalThis.kept = m.gradients(params, inputs);")).toBeGreaterThan(limit);
  }, 120_000);
});

/**
 * A module whose workspace is larger than LAZY_WORKSPACE_BYTES allocates it on the first call,
 * not when it is imported; a smaller one at import (its arrays are then constants to V8). The
 * bytes held by ArrayBuffers (process.memoryUsage().arrayBuffers), before and after the import
 * and after one gradients() call, in a fresh process.
 */
async function arrayBytes(source: string, target: "ts" | "wasm"): Promise<{ imported: number; called: number }> {
  const dir = mkdtempSync(join(tmpdir(), "gradc-lazy-"));
  const r = await compile(source, { target });
  writeModule(dir, r.typescript);
  writeFileSync(
    join(dir, "run.mjs"),
    `const held = () => process.memoryUsage().arrayBuffers;
const start = held();
const m = await import("./m.mjs");
const imported = held() - start;
const fill = (shape) => shape.length === 0 ? 0.3 : new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(0.01);
const params = Object.fromEntries(Object.entries(m.shapes.params).map(([k, s]) => [k, fill(s)]));
const inputs = Object.fromEntries(Object.entries(m.shapes.inputs).map(([k, s]) => [k, fill(s)]));
const out = m.createResult();
const before = held();
const loss = m.gradients(params, inputs, out).loss;
if (!Number.isFinite(loss)) throw new Error("loss " + loss);
console.log(JSON.stringify({ imported, called: held() - before }));`,
  );
  const p = spawnSync(process.execPath, [join(dir, "run.mjs")], { encoding: "utf8" });
  expect(p.status, p.stderr).toBe(0);
  return JSON.parse(p.stdout) as { imported: number; called: number };
}

describe("the workspace of a large model is allocated by the first call, not at import", () => {
  const MiB = 2 ** 20;
  // the batch chunk's copy of d W alone is 3000 × 3000 × 8 bytes = 69 MiB
  const large = "param W[3000, 3000]\ninput x[3000]\nloss = sum(relu(W @ x))\n";
  for (const target of ["ts", "wasm"] as const)
    it(`--target ${target}: nothing at import, the workspace at the first call`, async () => {
      const { imported, called } = await arrayBytes(large, target);
      expect(imported).toBeLessThan(MiB);
      expect(called).toBeGreaterThan(LAZY_WORKSPACE_BYTES);
    }, 120_000);
  it("a small model's workspace is allocated at import, so its first call allocates nothing", async () => {
    const { imported, called } = await arrayBytes(readFileSync("examples/mlp.grad", "utf8"), "ts");
    // its workspace: the chunk's ∇W1 alone is 128 × 784 × 8 bytes = 784 KiB
    expect(imported).toBeGreaterThan(784 * 1024);
    expect(called).toBeLessThan(MiB);
  }, 120_000);
});
