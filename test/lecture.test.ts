import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compile } from "../src/index.js";
import { loadModule, randomValues, rng } from "./helpers/module.js";

const sigma = (t: number) => 1 / (1 + Math.exp(-t));
const sigmaPrime = (t: number) => sigma(t) * (1 - sigma(t));

describe("lecture 4.6.1: f(w, b) = 1/2 (σ(wx + b) − y)^2 + 1/2 w^2", () => {
  it("matches the closed forms ∂f/∂w = xσ'(wx+b)(σ(wx+b)−y) + w and ∂f/∂b = σ'(wx+b)(σ(wx+b)−y) to 1e-12", async () => {
    const mod = await loadModule((await compile(readFileSync("examples/lecture.grad", "utf8"))).typescript);
    const next = rng(461);
    for (let trial = 0; trial < 200; trial++) {
      const [w, b, x, y] = [0, 0, 0, 0].map(() => (next() * 2 - 1) * 4);
      const got = mod.gradients({ w, b }, { x, y });
      const z = w * x + b;
      const dw = x * sigmaPrime(z) * (sigma(z) - y) + w;
      const db = sigmaPrime(z) * (sigma(z) - y);
      expect(Math.abs((got.grads.w as number) - dw)).toBeLessThan(1e-12);
      expect(Math.abs((got.grads.b as number) - db)).toBeLessThan(1e-12);
      expect(Math.abs(got.loss - (0.5 * (sigma(z) - y) ** 2 + 0.5 * w * w))).toBeLessThan(1e-12);
    }
  });

  it("without --units, writes an unnamed unit inside the one expression that reads it", async () => {
    const { typescript } = await compile(readFileSync("examples/lecture.grad", "utf8"));
    const body = typescript.slice(typescript.indexOf("export function loss"));
    expect(body).toContain("const u3 = 1 / (1 + Math.exp(-(w * x + b))); // sigmoid(w*x + b)");
    expect(body).toContain("const f = 0.5 * (u4 * u4) + 0.5 * (w * w);");
    expect(body).not.toMatch(/const u1 = /);
    // a value the source names keeps its local: the chain's h{k} and its adjoint
    const chain = (await compile(readFileSync("examples/chain.grad", "utf8"))).typescript;
    expect(chain).toContain("const h_2 = 1 / (1 + Math.exp(-(w_2 * h_1 + b_2)));");
    expect(chain).toContain("const d_b_49 = d_h_49 * h_49 * (1 - h_49);");
    expect(typescript).toContain("// gradc options: dtype=f64\n");
    expect((await compile(readFileSync("examples/lecture.grad", "utf8"), { units: true })).typescript).toContain(
      "// gradc options: dtype=f64 units\n",
    );
  });

  it("emits the lecture's elementary units u_1..u_9 in order (--units)", async () => {
    const { typescript } = await compile(readFileSync("examples/lecture.grad", "utf8"), { units: true });
    const body = typescript.slice(typescript.indexOf("export function loss"));
    const units = [...body.matchAll(/const (u\d|f) = ([^;]+);/g)].slice(0, 9).map((m) => `${m[1]} = ${m[2]}`);
    expect(units).toEqual([
      "u1 = w * x",
      "u2 = u1 + b",
      "u3 = 1 / (1 + Math.exp(-u2))",
      "u4 = u3 - y",
      "u5 = u4 * u4",
      "u6 = 0.5 * u5",
      "u7 = w * w",
      "u8 = 0.5 * u7",
      "f = u6 + u8",
    ]);
  });
});

describe("lecture 4.6.4: softmax cross-entropy", () => {
  it("gives the MLP's logit gradient softmax(z) − y", async () => {
    const mod = await loadModule((await compile(readFileSync("examples/mlp.grad", "utf8"))).typescript);
    const next = rng(464);
    const params = randomValues(mod.shapes.params, next, 0.1);
    const x = Float64Array.from({ length: 784 }, () => next());
    const y = new Float64Array(10);
    y[3] = 1;
    const got = mod.gradients(params, { x, y });
    // z = W2 relu(W1 x + b1) + b2, computed here independently
    const W1 = params.W1 as Float64Array,
      b1 = params.b1 as Float64Array,
      W2 = params.W2 as Float64Array,
      b2 = params.b2 as Float64Array;
    const h = Array.from({ length: 128 }, (_, i) =>
      Math.max(0, b1[i] + x.reduce((s, v, k) => s + W1[i * 784 + k] * v, 0)),
    );
    const z = Array.from({ length: 10 }, (_, i) => b2[i] + h.reduce((s, v, k) => s + W2[i * 128 + k] * v, 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const total = e.reduce((a, b) => a + b, 0);
    // d loss / d b2 = d loss / d z, since z = ... + b2
    const dz = got.grads.b2 as Float64Array;
    for (let i = 0; i < 10; i++) expect(Math.abs(dz[i] - (e[i] / total - y[i]))).toBeLessThan(1e-12);
    expect(Math.abs(got.loss - (m + Math.log(total) - z[3]))).toBeLessThan(1e-12);
  });
});
