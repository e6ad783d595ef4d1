import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { analyze, compile, verify } from "../src/index.js";
import { checkProgram } from "./helpers/check.js";
import { examples } from "../scripts/examples.js";
import { loadModule, randomValues, rng } from "./helpers/module.js";
import { corpus } from "./programs.js";
import { expectBatchIsMean } from "./helpers/batch.js";

describe("gradients agree with central finite differences and the reference evaluator", () => {
  it("covers at least 60 programs besides the examples", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
  });
  for (const [i, p] of corpus.entries()) {
    it(p.name, async () => {
      await checkProgram(p.name, p.source, 1000 + i);
      await checkProgram(p.name, p.source, 2000 + i);
    });
  }
  for (const ex of examples()) {
    it(`example ${ex.name}`, async () => {
      await checkProgram(ex.name, readFileSync(ex.source, "utf8"), 7);
    }, 60_000);
  }
  // lecture 4.4's remedies (gradc flow's inputs, not pinned in generated/)
  for (const f of readdirSync("examples/remedies")) {
    it(`examples/remedies/${f}`, async () => {
      await checkProgram(f, readFileSync(`examples/remedies/${f}`, "utf8"), 7);
    }, 60_000);
  }
});

describe("batchGradients", () => {
  it("is the mean of per-sample gradients", async () => {
    const source = `param W[3, 2], b[3]\ninput x[2], y[3]\nloss = softmax_cross_entropy(tanh(W @ x + b), y)\n`;
    const r = await compile(source);
    const mod = await loadModule(r.typescript);
    const next = rng(5);
    const params = randomValues(mod.shapes.params, next);
    const n = 7;
    const xs = Float64Array.from({ length: n * 2 }, () => next() - 0.5);
    const ys = Float64Array.from({ length: n * 3 }, () => next());
    const mean = { loss: 0, W: new Float64Array(6), b: new Float64Array(3) };
    for (let s = 0; s < n; s++) {
      const g = mod.gradients(params, { x: xs.slice(s * 2, s * 2 + 2), y: ys.slice(s * 3, s * 3 + 3) });
      mean.loss += g.loss / n;
      (g.grads.W as Float64Array).forEach((v, i) => (mean.W[i] += v / n));
      (g.grads.b as Float64Array).forEach((v, i) => (mean.b[i] += v / n));
    }
    const out = mod.createResult();
    const got = mod.batchGradients(params, { x: xs, y: ys }, n, out);
    expect(got).toBe(out);
    expect(got.loss).toBeCloseTo(mean.loss, 12);
    for (let i = 0; i < 6; i++) expect((got.grads.W as Float64Array)[i]).toBeCloseTo(mean.W[i], 12);
    for (let i = 0; i < 3; i++) expect((got.grads.b as Float64Array)[i]).toBeCloseTo(mean.b[i], 12);
  });

  it("averages scalar inputs and gradients too", async () => {
    const mod = await loadModule((await compile(readFileSync("examples/lecture.grad", "utf8"))).typescript);
    const params = { w: 0.3, b: -0.2 };
    const xs = [1, -2, 0.5];
    const ys = [0, 1, 1];
    const each = xs.map((x, i) => mod.gradients(params, { x, y: ys[i] }));
    const got = mod.batchGradients(params, { x: xs, y: ys }, 3);
    expect(got.loss).toBeCloseTo(each.reduce((a, g) => a + g.loss, 0) / 3, 14);
    expect(got.grads.w).toBeCloseTo(each.reduce((a, g) => a + (g.grads.w as number), 0) / 3, 14);
  });

  it("rejects an empty batch", async () => {
    const mod = await loadModule((await compile(readFileSync("examples/lecture.grad", "utf8"))).typescript);
    expect(() => mod.batchGradients({ w: 1, b: 1 }, { x: [], y: [] }, 0)).toThrow(RangeError);
  });
});

describe("gradients() with out", () => {
  it("writes into the given result and returns it", async () => {
    const mod = await loadModule((await compile(readFileSync("examples/tiny-mlp.grad", "utf8"))).typescript);
    const next = rng(3);
    const params = randomValues(mod.shapes.params, next);
    const inputs = randomValues(mod.shapes.inputs, next);
    const out = mod.createResult();
    const W1 = out.grads.W1;
    const a = mod.gradients(params, inputs, out);
    expect(a).toBe(out);
    expect(a.grads.W1).toBe(W1);
    const fresh = mod.gradients(params, inputs);
    expect(fresh.grads.W1).toEqual(a.grads.W1);
    expect(fresh.grads.b2).toEqual(a.grads.b2);
  });
});

describe("analyze", () => {
  it("records the lecture's unit order", () => {
    const a = analyze(readFileSync("examples/lecture.grad", "utf8"));
    const order = a.forward.nodes.filter((n) => n.op !== "const").map((n) => n.name ?? n.op);
    expect(order).toEqual(["w", "x", "b", "y", "mul", "add", "sigmoid", "sub", "pow", "mul", "pow", "mul", "add"]);
  });
});

describe("batchGradients through batched chunks (vmap) equals the mean of per-sample gradients", () => {
  const programs = [
    ...corpus,
    ...examples().map((e) => ({ name: `example ${e.name}`, source: readFileSync(e.source, "utf8") })),
  ];
  for (const [k, p] of programs.entries()) {
    it(
      p.name,
      async () => {
        await compile(p.source, {
          prettier: false,
          onStage: (stage, g) => void (stage.startsWith("vmap") && expect(verify(g), stage).toEqual([])),
        });
        await expectBatchIsMean(p.source, 500 + k, "ts");
      },
      60_000,
    );
  }

  it("batches every example whose chunk pays, at any rank (so they take the fast path)", async () => {
    for (const name of ["mlp", "tiny-mlp", "regression", "layernorm", "rnn", "batch-mlp", "embedding-bag"]) {
      const r = await compile(readFileSync(`examples/${name}.grad`, "utf8"), { prettier: false });
      expect(r.chunk?.size, name).toBe(16);
    }
    // no product, and 21 or 507 nodes: sample by sample is faster (batch/cost.ts)
    for (const name of ["lecture", "chain"])
      expect(
        (await compile(readFileSync(`examples/${name}.grad`, "utf8"), { prettier: false })).chunk,
        name,
      ).toBeUndefined();
  });
});
