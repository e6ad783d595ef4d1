/** The rewrite rules (src/optimize/rewrites.ts) as data: each matches what its name says, and the stable forms keep losses finite. */
import { describe, expect, it } from "vitest";
import { analyze, compile, explain } from "../src/index.js";
import { Builder } from "../src/ir/build.js";
import { reachable } from "../src/ir/graph.js";
import { instantiate, match } from "../src/optimize/pattern.js";
import { identities, productIdentities, stableForms } from "../src/optimize/rewrites.js";
import { loadModule } from "./helpers/module.js";
import { apply, sym, tidy, toTex } from "../src/explain/math.js";

const opsOf = (src: string) => {
  const g = analyze(src).canonical;
  const live = reachable(g, [g.loss]);
  return g.nodes.filter((n) => live[n.id]).map((n) => n.op);
};

describe("rewrite rules as data", () => {
  it("every rule has a name 'pattern -> replacement', and names are unique", () => {
    const names = [...identities, ...stableForms].map((r) => r.name);
    for (const n of names) expect(n).toMatch(/^.+ -> .+$/);
    expect(new Set(names).size).toBe(names.length);
  });

  it("a pattern of a commutative op matches its operands in either order, once written", () => {
    const b = new Builder();
    const x = b.leaf("param", "x", []);
    const one = b.constant(1);
    const rule = identities.find((r) => r.name === "x*1 -> x")!;
    for (const id of [b.node("mul", [x, one]), b.node("mul", [one, x])]) {
      const m = match(b, rule.from, id);
      expect(m?.get("x")).toBe(x);
      expect(instantiate(b, rule.to, m!)).toBe(x);
    }
    // not commutative: 0 - x is not x - 0
    const sub = identities.find((r) => r.name === "x-0 -> x")!;
    expect(match(b, sub.from, b.node("sub", [b.constant(0), x]))).toBeUndefined();
  });

  it("a variable used twice matches the same node only", () => {
    const b = new Builder();
    const x = b.leaf("param", "x", []);
    const y = b.leaf("param", "y", []);
    const rule = identities.find((r) => r.name === "select(c, x, x) -> x")!;
    expect(match(b, rule.from, b.node("select", [y, x, x]))?.get("x")).toBe(x);
    expect(match(b, rule.from, b.node("select", [y, x, y]))).toBeUndefined();
  });

  it("the product identities are written once, for the IR and for derivations", () => {
    // the IR applies those not marked display, and no copy of them
    const shared = identities.filter((r) => productIdentities.includes(r));
    expect(shared).toEqual(productIdentities.filter((r) => r.only !== "display"));
    expect(identities.filter((r) => r.from.op === "transpose" && !shared.includes(r))).toEqual([]);
    // a derivation's display algebra applies the display ones: (a bᵀ)ᵀ = b aᵀ, Aᵀx = xᵀA, xᵀBᵀ = B x
    const tex = (n: Parameters<typeof toTex>[0]) => toTex(tidy(n), (key) => key);
    const [a, b2, A] = [sym("a", [3]), sym("b", [2]), sym("A", [3, 2])];
    expect(tex(apply("transpose", [apply("outer", [a, b2])]))).toBe(tex(apply("outer", [b2, a])));
    expect(tex(apply("matvec", [apply("transpose", [A]), a]))).toBe(tex(apply("vecmat", [a, A])));
    expect(tex(apply("vecmat", [b2, apply("transpose", [A])]))).toBe(tex(apply("matvec", [A, b2])));
  });

  it("identities fire in programs: x*1, 1*x, x+0, --x leave no node", () => {
    const ops = opsOf("param w\ninput x\nloss = (1 * (w * 1) + 0 - -(-x))^2\n");
    expect(ops.filter((o) => o === "mul" || o === "neg" || o === "add")).toEqual([]);
  });
});

describe("stable forms (#16 numerics)", () => {
  const cases: [string, string, string][] = [
    ["log(1 - sigmoid(z))", "param z\nloss = -log(1 - sigmoid(z))\n", "softplus"],
    ["log(1 + exp(z))", "param z\nloss = log(1 + exp(z))\n", "softplus"],
    ["log(exp(z) + 1)", "param z\nloss = log(exp(z) + 1)\n", "softplus"],
    ["log1p(exp(z))", "param z\nloss = log1p(exp(z))\n", "softplus"],
    ["log(sigmoid(z))", "param z\nloss = -log(sigmoid(-z))\n", "softplus"],
  ];
  for (const [what, src, op] of cases)
    it(`${what} is rewritten and stays finite at z = ±1000`, async () => {
      expect(opsOf(src)).toContain(op);
      const mod = await loadModule((await compile(src)).typescript);
      for (const z of [1000, -1000, 0.5]) {
        const r = mod.gradients({ z }, {});
        expect(Number.isFinite(r.loss), `${what} at ${z}`).toBe(true);
        expect(Number.isFinite(r.grads.z as number), `${what}' at ${z}`).toBe(true);
      }
    });

  it("sqrt(x^2) and sqrt(square(x)) are |x|, with derivative 0 (not NaN) at 0", async () => {
    for (const src of ["param x\nloss = sqrt(x^2)\n", "param x\nloss = sqrt(square(x))\n"]) {
      expect(opsOf(src)).toContain("abs");
      const mod = await loadModule((await compile(src)).typescript);
      expect(mod.gradients({ x: 0 }, {}).grads.x).toBe(0);
      expect(mod.gradients({ x: -2 }, {})).toMatchObject({ loss: 2, grads: { x: -1 } });
    }
  });
});

describe("the pow rule at 0 (#16 numerics)", () => {
  it("x^y has finite derivatives at x = 0, as JAX's: 0 for y where x = 0, 0 for x where y = 0", async () => {
    const mod = await loadModule((await compile("param a, b\nloss = a^b\n")).typescript);
    expect(mod.gradients({ a: 0, b: 2 }, {})).toMatchObject({ loss: 0, grads: { a: 0, b: 0 } });
    expect(mod.gradients({ a: 0, b: 0 }, {})).toMatchObject({ loss: 1, grads: { a: 0, b: 0 } });
    const r = mod.gradients({ a: 2, b: 3 }, {});
    expect(r.loss).toBe(8);
    expect(r.grads.a).toBeCloseTo(12, 12);
    expect(r.grads.b).toBeCloseTo(8 * Math.log(2), 12);
    // a negative base with a real exponent has no real derivative in b: NaN, not a made-up number
    expect(mod.gradients({ a: -2, b: 2 }, {}).grads.b).toBeNaN();
  });

  it("a constant exponent compiles to the plain rule (the guards fold away), and derivations print the textbook form", async () => {
    const ir = analyze("param w\nloss = w^3\n").ir;
    expect(ir.nodes.map((n) => n.op)).not.toContain("select");
    const d = explain("param a, b\nloss = a^b\n").text;
    expect(d).toContain("\\log");
    expect(d).not.toContain("select");
  });
});

describe("the batched chunk only where it pays (#17)", () => {
  it("a tiny or a very long scalar program runs batchGradients sample by sample; a product or a mid-sized chain gets the chunk", async () => {
    const tiny = await compile("param w, b\ninput x, y\nloss = (w * x + b - y)^2\n");
    expect(tiny.chunk).toBeUndefined();
    expect(tiny.typescript).not.toContain("function batchChunk");
    const chain = (L: number) =>
      `const L = ${L}\ninput x, y\nh{0} = x\nfor k in 1..L {\n  param w{k}, b{k}\n  h{k} = sigmoid(w{k} * h{k-1} + b{k})\n}\nloss = (h{L} - y)^2\n`;
    expect((await compile(chain(3))).chunk).toBeUndefined(); // 37 nodes: the chunk's loops cost more
    expect((await compile(chain(10))).chunk).toBeDefined();
    expect((await compile(chain(50))).chunk).toBeUndefined(); // a chunk function V8 compiles slowly
    expect((await compile("param W[4, 3]\ninput x[3]\nloss = sum(W @ x)\n")).chunk).toBeDefined();
    // the tiny module's batchGradients is still the mean of per-sample gradients
    const mod = await loadModule(tiny.typescript);
    const batch = { x: Float64Array.of(1, 2, 3), y: Float64Array.of(0.5, -1, 2) };
    const mean = [0, 1, 2].map((i) => mod.gradients({ w: 0.3, b: -0.2 }, { x: batch.x[i], y: batch.y[i] }));
    const r = mod.batchGradients({ w: 0.3, b: -0.2 }, batch, 3);
    expect(r.loss).toBeCloseTo(mean.reduce((a, m) => a + m.loss, 0) / 3, 12);
    expect(r.grads.w as number).toBeCloseTo(mean.reduce((a, m) => a + (m.grads.w as number), 0) / 3, 12);
  });
});
