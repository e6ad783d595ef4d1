import { describe, expect, it } from "vitest";
import { compile } from "../src/index.js";
import { centralDifference, copyValues, loadModule, relErr, rng, size, type Values } from "./helpers/module.js";

describe("--dtype f32", () => {
  it("stores tensors as Float32Array and agrees with finite differences at f32 precision", async () => {
    const source =
      "param W1[6, 4], b1[6], W2[3, 6], b2[3]\ninput x[4], y[3]\nh = tanh(W1 @ x + b1)\nloss = softmax_cross_entropy(W2 @ h + b2, y)\n";
    const m32 = await loadModule((await compile(source, { dtype: "f32" })).typescript);
    const m64 = await loadModule((await compile(source, { dtype: "f64" })).typescript);
    const next = rng(32);
    const params: Values = {};
    for (const [name, shape] of Object.entries(m32.shapes.params))
      params[name] = Float32Array.from({ length: size(shape) }, () => next() - 0.5);
    const inputs = { x: Float32Array.from({ length: 4 }, () => next()), y: Float32Array.of(0, 1, 0) };
    const g = m32.gradients(params, inputs);
    expect(g.grads.W1).toBeInstanceOf(Float32Array);
    // finite differences in float64 on the same (f32-representable) point
    const p64: Values = {};
    for (const [k, v] of Object.entries(params)) p64[k] = Float64Array.from(v as Float32Array);
    const i64 = { x: Float64Array.from(inputs.x), y: Float64Array.from(inputs.y) };
    for (const [name, shape] of Object.entries(m32.shapes.params)) {
      for (let i = 0; i < size(shape); i++) {
        const fd = centralDifference((p) => m64.loss(p, i64), copyValues(p64), name, i);
        expect(relErr((g.grads[name] as Float32Array)[i], fd, 1e-2)).toBeLessThan(1e-4);
      }
    }
  });
});
