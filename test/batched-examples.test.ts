/**
 * The course's networks written on a whole batch, as PyTorch code lays it out (#14):
 * examples/lenet-batch.grad ([N, 1, 28, 28]) and examples/transformer-batch.grad ([N, T, d]).
 * Each takes the weights of its one-sample example, and its gradients() must be that example's
 * batchGradients() over the same samples (the mean of the per-sample losses), through both targets.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compile } from "../src/index.js";
import { loadModule, randomValues, relErr, rng, type GeneratedModule, type Values } from "./helpers/module.js";

const read = (name: string) => readFileSync(`examples/${name}.grad`, "utf8");
const random = (n: number, next: () => number) => Float64Array.from({ length: n }, () => next() * 2 - 1);

async function modules(one: string, batch: string): Promise<GeneratedModule[]> {
  return Promise.all([
    compile(read(one)).then((r) => loadModule(r.typescript)),
    compile(read(batch)).then((r) => loadModule(r.typescript)),
    compile(read(batch), { target: "wasm" }).then((r) => loadModule(r.typescript)),
  ]);
}

/** the batch modules' gradients() against the one-sample module's batchGradients() */
function expectSame(
  one: GeneratedModule,
  batches: GeneratedModule[],
  params: Values,
  perSample: Record<string, ArrayLike<number>>,
  whole: Values,
) {
  const want = one.batchGradients(params, perSample, 32);
  for (const mod of batches) {
    const got = mod.gradients(params, whole);
    expect(relErr(got.loss, want.loss, 1e-9)).toBeLessThan(1e-10);
    for (const [name, g] of Object.entries(want.grads)) {
      const mine = got.grads[name] as Float64Array;
      const scale = Math.max(...(g as Float64Array).map(Math.abs));
      (g as Float64Array).forEach((v, i) => expect(Math.abs(mine[i] - v), `${name}[${i}]`).toBeLessThan(1e-10 * scale));
    }
  }
}

describe("a network written on a batch is its one-sample example's batchGradients()", () => {
  it("LeNet-5 on [32, 1, 28, 28]", async () => {
    const [one, ...batches] = await modules("lenet", "lenet-batch");
    const next = rng(5);
    const params = randomValues(one.shapes.params, next, 0.3);
    const img = random(32 * 784, next);
    // integer inputs are Int32Arrays
    const labels = Int32Array.from({ length: 32 }, (_, i) => (i * 7 + 3) % 10) as unknown as Float64Array;
    expectSame(one, batches, params, { img, label: labels }, { img, labels });
  });

  it("the transformer block on [32, 16, 64]", async () => {
    const [one, ...batches] = await modules("transformer", "transformer-batch");
    const next = rng(6);
    const params = randomValues(one.shapes.params, next, 0.2);
    const X = random(32 * 16 * 64, next);
    const Y = random(32 * 16 * 64, next);
    expectSame(one, batches, params, { X, Y }, { X, Y });
  });
});
