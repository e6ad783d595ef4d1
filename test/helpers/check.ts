import { expect } from "vitest";
import { compile, evaluate, verify } from "../../src/index.js";
import { centralDifference, element, loadModule, randomInputs, randomValues, relErr, rng, size } from "./module.js";

/** At most this many coordinates of one tensor are checked by finite differences. */
const SAMPLES_PER_TENSOR = 12;

/**
 * Compile a program, verify the IR after every stage, and check its generated gradients against
 * the reference evaluator (1e-9) and central finite differences in float64 (1e-6).
 */
export async function checkProgram(name: string, source: string, seed: number): Promise<void> {
  const stages: string[] = [];
  const r = await compile(source, {
    filename: `${name}.grad`,
    onStage: (stage, g) => {
      stages.push(stage);
      expect(verify(g), `IR after ${stage}`).toEqual([]);
    },
  });
  expect(stages.slice(0, 5)).toEqual(["lower", "canonicalize", "differentiate", "simplify", "dce"]);
  const mod = await loadModule(r.typescript);
  const next = rng(seed);
  const params = randomValues(mod.shapes.params, next);
  const inputs = randomInputs(mod, next);

  const got = mod.gradients(params, inputs);
  // the reference evaluator, on the unoptimized graph
  const ref = evaluate(r.differentiated, params as never, inputs as never);
  expect(relErr(got.loss, ref.loss, 1e-6)).toBeLessThan(1e-9);
  expect(relErr(mod.loss(params, inputs), got.loss, 1e-12)).toBeLessThan(1e-12);

  const loss = (p: typeof params) => mod.loss(p, inputs);
  const fdFloor = Math.max(1e-3, 1e-2 * Math.abs(got.loss));
  for (const [pname, shape] of Object.entries(mod.shapes.params)) {
    const n = size(shape);
    const g = got.grads[pname];
    for (let i = 0; i < n; i++)
      expect(relErr(element(g, i), element(ref.grads[pname], i), 1e-6), `${pname}[${i}] vs evaluator`).toBeLessThan(
        1e-9,
      );
    const picks =
      n <= SAMPLES_PER_TENSOR
        ? [...Array(n).keys()]
        : Array.from({ length: SAMPLES_PER_TENSOR }, () => Math.floor(next() * n));
    for (const i of picks) {
      const fd = centralDifference(loss, params, pname, i);
      // round-off in (f(x+h) - f(x-h)) / 2h is about eps |f| / h = 2e-10 |f|: the floor keeps 1e-6 of it well above that
      expect(
        relErr(element(g, i), fd, fdFloor),
        `${name}: d loss / d ${pname}[${i}] = ${element(g, i)}, finite difference ${fd}`,
      ).toBeLessThan(1e-6);
    }
  }
}
