import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compile } from "../src/index.js";
import { loadModule, randomInputs, randomValues, rng, type GeneratedModule } from "./helpers/module.js";

/**
 * Hostile and careless arguments to generated modules (issue: never a wrong number): every
 * exported function checks its arguments once per call and throws a TypeError or RangeError that
 * names the argument, what it must be and what it is.
 */
const source =
  "param W[3, 4], b[3], s\ninput x[4], ids[2]: int, t\nh = tanh(W @ x + b) * s + sum(take(b, ids))\nloss = sum(h^2) * t\n";
const variants = [
  { name: "f64, TypeScript target", options: {} },
  { name: "f32, wasm target", options: { dtype: "f32" as const, target: "wasm" as const } },
];

type Args = { params: Record<string, unknown>; inputs: Record<string, unknown> };
type Mutation = {
  where: "params" | "inputs";
  name: string;
  value: (good: unknown) => unknown;
  error: typeof TypeError | typeof RangeError;
  says: RegExp;
};

/** Ways to get one argument wrong, each with the error and the words it must say. */
const mutations = (arr: "Float64Array" | "Float32Array"): Mutation[] => {
  const other = arr === "Float64Array" ? Float32Array : Float64Array;
  return [
    {
      where: "params",
      name: "W",
      value: () => undefined,
      error: TypeError,
      says: /params\.W must be an? \w+ of 12 numbers \(\[3, 4\], row-major\); got undefined/,
    },
    {
      where: "params",
      name: "W",
      value: (g) => new other(g as ArrayLike<number>),
      error: TypeError,
      says: /params\.W must be .* got an? (Float32Array|Float64Array) of 12/,
    },
    {
      where: "params",
      name: "W",
      value: (g) => Array.from(g as ArrayLike<number>),
      error: TypeError,
      says: /params\.W must be .* got an Array of 12/,
    },
    {
      where: "params",
      name: "W",
      value: (g) => (g as Float64Array).slice(0, 11),
      error: RangeError,
      says: /params\.W has 11 numbers; its shape \[3, 4\] needs 12/,
    },
    {
      where: "params",
      name: "W",
      value: (g) => (g as Float64Array).slice(0, 0),
      error: RangeError,
      says: /params\.W has 0 numbers/,
    },
    {
      where: "params",
      name: "b",
      value: () => new (arr === "Float64Array" ? Float64Array : Float32Array)(4),
      error: RangeError,
      says: /params\.b has 4 numbers; its shape \[3\] needs 3/,
    },
    {
      where: "params",
      name: "s",
      value: () => "1",
      error: TypeError,
      says: /params\.s must be a number; got a string/,
    },
    {
      where: "params",
      name: "s",
      value: () => undefined,
      error: TypeError,
      says: /params\.s must be a number; got undefined/,
    },
    { where: "inputs", name: "x", value: () => 3, error: TypeError, says: /inputs\.x must be .* got a number/ },
    {
      where: "inputs",
      name: "ids",
      value: (g) => Float64Array.from(g as Int32Array),
      error: TypeError,
      says: /inputs\.ids must be an Int32Array of 2 numbers \(\[2\], row-major\); got a Float64Array of 2/,
    },
    { where: "inputs", name: "t", value: () => null, error: TypeError, says: /inputs\.t must be a number; got null/ },
  ];
};

async function build(options: object): Promise<GeneratedModule> {
  return loadModule((await compile(source, { prettier: false, ...options })).typescript);
}

describe("arguments of generated modules", () => {
  for (const v of variants) {
    describe(v.name, () => {
      const arr = v.options.dtype === "f32" ? "Float32Array" : "Float64Array";
      it("a wrong param or input (fast-check): loss and gradients throw naming it; good arguments pass", async () => {
        const mod = await build(v.options);
        const cast = (x: unknown) => (x instanceof Float64Array && arr === "Float32Array" ? Float32Array.from(x) : x);
        await fc.assert(
          fc.asyncProperty(
            fc.nat(),
            fc.nat({ max: mutations(arr).length - 1 }),
            fc.constantFrom("loss", "gradients"),
            async (seed, k, fn) => {
              const next = rng(seed);
              const good: Args = {
                params: Object.fromEntries(
                  Object.entries(randomValues(mod.shapes.params, next)).map(([n, x]) => [n, cast(x)]),
                ),
                inputs: Object.fromEntries(Object.entries(randomInputs(mod, next)).map(([n, x]) => [n, cast(x)])),
              };
              const call = (a: Args) =>
                fn === "loss"
                  ? mod.loss(a.params as never, a.inputs as never)
                  : mod.gradients(a.params as never, a.inputs as never);
              expect(() => call(good)).not.toThrow();
              const m = mutations(arr)[k];
              const bad: Args = { params: { ...good.params }, inputs: { ...good.inputs } };
              bad[m.where][m.name] = m.value(good[m.where][m.name]);
              let thrown: unknown;
              try {
                call(bad);
              } catch (e) {
                thrown = e;
              }
              expect(thrown, `${m.where}.${m.name}`).toBeInstanceOf(m.error);
              expect((thrown as Error).message).toMatch(/^gradc: /);
              expect((thrown as Error).message).toMatch(m.says);
            },
          ),
          { numRuns: 60, seed: 11 },
        );
      });

      it("params, inputs or out that are not objects, or an out from another module", async () => {
        const mod = await build(v.options);
        const next = rng(3);
        const params = randomValues(mod.shapes.params, next);
        const inputs = randomInputs(mod, next);
        const fix = (o: Record<string, unknown>) =>
          Object.fromEntries(
            Object.entries(o).map(([n, x]) => [
              n,
              x instanceof Float64Array && arr === "Float32Array" ? Float32Array.from(x) : x,
            ]),
          );
        const [p, i] = [fix(params), fix(inputs)];
        expect(() => mod.gradients(undefined as never, i as never)).toThrow(
          new TypeError("gradc: params must be an object holding W, b, s; got undefined"),
        );
        expect(() => mod.loss(p as never, 7 as never)).toThrow(
          new TypeError("gradc: inputs must be an object holding x, ids, t; got a number"),
        );
        expect(() => mod.gradients(p as never, i as never, {} as never)).toThrow(
          /^gradc: out\.grads must be an object holding one entry per param/,
        );
        const foreign = (await build({ ...v.options })).createResult() as { grads: Record<string, unknown> };
        foreign.grads.W = new (arr === "Float32Array" ? Float32Array : Float64Array)(7);
        expect(() => mod.gradients(p as never, i as never, foreign as never)).toThrow(
          new RangeError("gradc: out.grads.W has 7 numbers; its shape [3, 4] needs 12"),
        );
      });

      it("batchGradients: n a whole number of samples within the batch; each input holding n samples", async () => {
        const mod = await build(v.options);
        const next = rng(5);
        const p = Object.fromEntries(
          Object.entries(randomValues(mod.shapes.params, next)).map(([n, x]) => [
            n,
            x instanceof Float64Array && arr === "Float32Array" ? Float32Array.from(x) : x,
          ]),
        );
        const n = 3;
        const batch = {
          x: new Float64Array(4 * n).fill(0.5),
          ids: Int32Array.of(0, 1, 2, 0, 1, 2),
          t: Float64Array.of(1, 2, 3),
        };
        expect(Number.isFinite(mod.batchGradients(p as never, batch, n).loss)).toBe(true);
        for (const bad of [1.5, 0, -2, Infinity, NaN]) {
          expect(() => mod.batchGradients(p as never, batch, bad)).toThrow(
            new RangeError(`gradc: batchGradients: n must be a whole number of samples, at least 1; got ${bad}`),
          );
        }
        expect(() => mod.batchGradients(p as never, batch, 4)).toThrow(
          new RangeError("gradc: batch.x holds 3 samples (12 numbers), fewer than n = 4"),
        );
        expect(() => mod.batchGradients(p as never, { ...batch, t: Float64Array.of(1, 2) }, 3)).toThrow(
          new RangeError("gradc: batch.t holds 2 samples, fewer than n = 3"),
        );
        expect(() => mod.batchGradients(p as never, { ...batch, x: undefined } as never, 3)).toThrow(
          new TypeError("gradc: batch.x must hold n samples of 4 numbers, one after another; got undefined"),
        );
        expect(() => mod.batchGradients(p as never, { ...batch, ids: Int32Array.of(0, 1, 2, 0, 1, 9) }, 3)).toThrow(
          /^gradc: .*index 9 is out of range 0\.\.2/,
        );
      });
    });
  }

  it("--unchecked leaves the checks out, and the numbers are the same", async () => {
    const checked = await loadModule((await compile(source)).typescript);
    const plain = await loadModule((await compile(source, { unchecked: true })).typescript);
    expect((await compile(source, { unchecked: true })).typescript).not.toMatch(/badTensor|checkGradientsArgs/);
    const next = rng(8);
    const p = randomValues(checked.shapes.params, next);
    const i = randomInputs(checked, next);
    expect(plain.gradients(p, i).grads.W).toEqual(checked.gradients(p, i).grads.W);
  });

  it("--debug names a NaN or infinity in a param or input before anything is computed from it", async () => {
    const mod = await loadModule((await compile(source, { debug: true })).typescript);
    const next = rng(9);
    const p = randomValues(mod.shapes.params, next) as Record<string, Float64Array | number>;
    const i = randomInputs(mod, next);
    (p.W as Float64Array)[5] = NaN;
    expect(() => mod.gradients(p as never, i)).toThrow("gradc --debug: params.W[5] = NaN is not finite");
    (p.W as Float64Array)[5] = 0;
    p.s = -Infinity;
    expect(() => mod.loss(p as never, i)).toThrow("gradc --debug: params.s = -Infinity is not finite");
  });
});

describe("a NaN is never invisible", () => {
  // only relu stands between W1 and the loss: before, relu(NaN) was 0 and the loss stayed finite
  const mlp = "param W1[4, 3], b1[4], W2[2, 4]\ninput x[3], y[2]\nloss = mse(W2 @ relu(W1 @ x + b1), y)\n";
  for (const target of ["ts", "wasm"] as const) {
    it(`relu propagates NaN, so a NaN weight gives a NaN loss (${target} target)`, async () => {
      const mod = await loadModule(
        (await compile(mlp, { target, dtype: target === "wasm" ? "f32" : "f64" })).typescript,
      );
      const arr = target === "wasm" ? Float32Array : Float64Array;
      const next = rng(4);
      const p = Object.fromEntries(
        Object.entries(randomValues(mod.shapes.params, next)).map(([n, v]) => [n, arr.from(v as Float64Array)]),
      );
      const i = Object.fromEntries(
        Object.entries(randomValues(mod.shapes.inputs, next)).map(([n, v]) => [n, arr.from(v as Float64Array)]),
      );
      expect(Number.isFinite(mod.loss(p as never, i as never))).toBe(true);
      // a unit whose pre-activation is negative: relu used to turn its NaN into 0
      (p.W1 as Float32Array | Float64Array).fill(-1, 0, 3);
      (p.W1 as Float32Array | Float64Array)[0] = NaN;
      expect(mod.loss(p as never, i as never)).toBeNaN();
      expect(mod.gradients(p as never, i as never).loss).toBeNaN();
    });
  }
  it("the reference evaluator agrees: relu(NaN), max and min with a NaN in either place are NaN", async () => {
    const { evaluate } = await import("../src/index.js");
    for (const body of ["relu(a)", "max(a, b)", "max(b, a)", "min(a, b)", "min(b, a)"]) {
      const r = await compile(`param a, b\nloss = ${body} + 0 * b\n`);
      expect(evaluate(r.differentiated, { a: NaN, b: 1 }, {}).loss, body).toBeNaN();
      expect(Number.isFinite(evaluate(r.differentiated, { a: -2, b: 1 }, {}).loss), body).toBe(true);
    }
  });
});
