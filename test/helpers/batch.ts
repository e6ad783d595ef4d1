import { expect } from "vitest";
import { compile, type CompileOptions } from "../../src/index.js";
import { element, loadModule, randomInputs, randomValues, relErr, rng, size } from "./module.js";

/**
 * batchGradients over n samples (by default 37: two chunks of 16 and a remainder of 5) must
 * equal the mean of the per-sample gradients, for either target.
 */
/**
 * A compiled and loaded module, once per source and options: the tests call the same program
 * at several batch sizes (compiling is deterministic, so the module is the same each time).
 */
const modules = new Map<string, Promise<Awaited<ReturnType<typeof loadModule>>>>();
function compiledModule(source: string, options: CompileOptions): ReturnType<typeof loadModule> {
  const key = JSON.stringify([source, options]);
  let m = modules.get(key);
  if (!m) {
    m = compile(source, options).then((r) => loadModule(r.typescript));
    modules.set(key, m);
  }
  return m;
}

export async function expectBatchIsMean(
  source: string,
  seed: number,
  target: "ts" | "wasm",
  n = 37,
  options: CompileOptions = {},
): Promise<void> {
  const mod = await compiledModule(source, { prettier: false, target, ...options });
  // the reference: the TypeScript target's per-sample gradients (the wasm target's gradients() may itself be a chunk)
  const plain = target === "ts" ? mod : await compiledModule(source, { prettier: false });
  const next = rng(seed);
  const params = randomValues(mod.shapes.params, next);
  const per = Array.from({ length: n }, () => randomInputs(mod, next));
  const batch: Record<string, Float64Array> = {};
  for (const [name, shape] of Object.entries(mod.shapes.inputs)) {
    batch[name] = new Float64Array(n * size(shape));
    per.forEach((v, i) =>
      batch[name].set(typeof v[name] === "number" ? [v[name] as number] : (v[name] as Float64Array), i * size(shape)),
    );
  }
  const mean: Record<string, number[]> = {};
  let meanLoss = 0;
  for (const inputs of per) {
    const g = plain.gradients(params, inputs);
    meanLoss += g.loss / n;
    for (const [name, shape] of Object.entries(mod.shapes.params)) {
      mean[name] ??= new Array(size(shape)).fill(0);
      for (let i = 0; i < size(shape); i++) mean[name][i] += element(g.grads[name], i) / n;
    }
  }
  // one sample through the module's own gradients()
  const one = mod.gradients(params, per[0]),
    want = plain.gradients(params, per[0]);
  expect(relErr(one.loss, want.loss, 1e-6)).toBeLessThan(1e-9);
  for (const [name, shape] of Object.entries(mod.shapes.params)) {
    for (let i = 0; i < size(shape); i++)
      expect(
        relErr(element(one.grads[name], i), element(want.grads[name], i), 1e-6),
        `gradients() ${name}[${i}]`,
      ).toBeLessThan(1e-9);
  }
  const got = mod.batchGradients(params, batch, n);
  expect(relErr(got.loss, meanLoss, 1e-6)).toBeLessThan(1e-9);
  for (const [name, shape] of Object.entries(mod.shapes.params)) {
    // relative to the tensor's largest element: a mean that cancels to 1e-9 of it carries the
    // rounding of the terms it cancelled (another summation order, another last digit)
    const scale = Math.max(1e-6, ...mean[name].map(Math.abs));
    for (let i = 0; i < size(shape); i++)
      expect(relErr(element(got.grads[name], i), mean[name][i], scale), `${name}[${i}]`).toBeLessThan(1e-9);
  }
}
