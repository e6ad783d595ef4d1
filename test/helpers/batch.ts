import { expect } from "vitest";
import { compile } from "../../src/index.js";
import { element, loadModule, randomValues, relErr, rng, size } from "./module.js";

/**
 * batchGradients over 37 samples (two chunks of 16 and a remainder of 5) must equal the mean
 * of the per-sample gradients, for either target.
 */
export async function expectBatchIsMean(source: string, seed: number, target: "ts" | "wasm"): Promise<void> {
  const r = await compile(source, { prettier: false, target });
  const mod = await loadModule(r.typescript);
  const next = rng(seed);
  const params = randomValues(mod.shapes.params, next);
  const n = 37;
  const per = Array.from({ length: n }, () => randomValues(mod.shapes.inputs, next));
  const batch: Record<string, Float64Array> = {};
  for (const [name, shape] of Object.entries(mod.shapes.inputs)) {
    batch[name] = new Float64Array(n * size(shape));
    per.forEach((v, i) => batch[name].set(typeof v[name] === "number" ? [v[name] as number] : (v[name] as Float64Array), i * size(shape)));
  }
  const mean: Record<string, number[]> = {};
  let meanLoss = 0;
  for (const inputs of per) {
    const g = mod.gradients(params, inputs);
    meanLoss += g.loss / n;
    for (const [name, shape] of Object.entries(mod.shapes.params)) {
      mean[name] ??= new Array(size(shape)).fill(0);
      for (let i = 0; i < size(shape); i++) mean[name][i] += element(g.grads[name], i) / n;
    }
  }
  const got = mod.batchGradients(params, batch, n);
  expect(relErr(got.loss, meanLoss, 1e-6)).toBeLessThan(1e-9);
  for (const [name, shape] of Object.entries(mod.shapes.params)) {
    for (let i = 0; i < size(shape); i++) expect(relErr(element(got.grads[name], i), mean[name][i], 1e-6), `${name}[${i}]`).toBeLessThan(1e-9);
  }
}
