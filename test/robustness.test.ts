import { describe, expect, it } from "vitest";
import { Project, ts } from "ts-morph";
import { compile } from "../src/index.js";
import { centralDifference, loadModule, relErr } from "./helpers/module.js";

function typeErrors(text: string): string[] {
  const project = new Project({
    useInMemoryFileSystem: true,
    compilerOptions: { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, lib: ["lib.es2022.d.ts"] },
  });
  project.createSourceFile("m.ts", text);
  return project.getPreEmitDiagnostics().map((d) => String(d.getMessageText()));
}

describe("generated-code safety", () => {
  const hostile =
    "param α, class, constructor, __proto__, default, 重量\ninput delete, x, this_\nloss = (α * x - delete)^2 + class * constructor + __proto__ * default + 重量 * this_\n";
  const plain = "param a, b, c, d, e, f\ninput g, x, h\nloss = (a * x - g)^2 + b * c + d * e + f * h\n";

  it("compiles keywords, __proto__ and non-ASCII names to valid, equivalent code", async () => {
    const r = await compile(hostile);
    expect(typeErrors(r.typescript)).toEqual([]);
    const mod = await loadModule(r.typescript);
    const ref = await loadModule((await compile(plain)).typescript);
    const names = ["α", "class", "constructor", "__proto__", "default", "重量"];
    const p: Record<string, number> = {};
    const q: Record<string, number> = {};
    names.forEach((n, i) => {
      Object.defineProperty(p, n, { value: 0.1 * (i + 1), enumerable: true, writable: true });
      q["abcdef"[i]] = 0.1 * (i + 1);
    });
    const inputs: Record<string, number> = { delete: 0.7, x: -1.3, this_: 2 };
    const got = mod.gradients(p, inputs);
    const want = ref.gradients(q, { g: 0.7, x: -1.3, h: 2 });
    expect(got.loss).toBe(want.loss);
    names.forEach((n, i) =>
      expect(Object.getOwnPropertyDescriptor(got.grads, n)?.value, n).toBe(want.grads["abcdef"[i]]),
    );
    // "__proto__" is an own property of the result, not its prototype
    expect(Object.getOwnPropertyNames(got.grads)).toContain("__proto__");
    expect(Object.getPrototypeOf(Object.getPrototypeOf(got.grads))).toBe(Object.prototype);
    expect(Object.keys(mod.shapes.params)).toEqual(names);
  });

  it("keeps comments and file names from injecting code", async () => {
    const source =
      "# */ throw new Error('comment') /*\nparam w # \u2028 throw new Error('separator')\ninput x\nloss = (w * x)^2 # `${process.exit(1)}`\n";
    const r = await compile(source, { filename: "evil\nthrow new Error('file name');//.grad" });
    expect(typeErrors(r.typescript)).toEqual([]);
    expect(r.typescript).not.toMatch(/^throw/m);
    expect(r.typescript).not.toContain("separator");
    const mod = await loadModule(r.typescript);
    expect(mod.gradients({ w: 2 }, { x: 3 }).grads.w).toBe(2 * 2 * 9);
  });
});

describe("numerical robustness at |z| = 1000", () => {
  const cases: [string, string, (z: number) => number][] = [
    ["sigmoid", "loss = sigmoid(z)", (z) => (z > 0 ? 0 : 0)],
    ["softplus", "loss = softplus(z)", (z) => (z > 0 ? 1 : 0)],
    ["tanh", "loss = tanh(z)", () => 0],
  ];
  for (const [name, body, want] of cases) {
    it(name, async () => {
      const mod = await loadModule((await compile(`param z\n${body}\n`)).typescript);
      for (const z of [1000, -1000]) {
        const g = mod.gradients({ z }, {});
        expect(Number.isFinite(g.loss), `${name}(${z})`).toBe(true);
        expect(g.grads.z).toBeCloseTo(want(z), 12);
      }
    });
  }

  const vectorCases: [string, string][] = [
    ["logsumexp", "loss = logsumexp(z)"],
    ["log_softmax", "loss = -sum(y * log_softmax(z))"],
    ["softmax_cross_entropy", "loss = softmax_cross_entropy(z, y)"],
    ["composed -sum(y * log(softmax(z)))", "loss = -sum(y * log(softmax(z)))"],
  ];
  for (const [name, body] of vectorCases) {
    it(name, async () => {
      const mod = await loadModule((await compile(`param z[3]\ninput y[3]\n${body}\n`)).typescript);
      const z = Float64Array.of(1000, -1000, 0);
      const y = Float64Array.of(0, 1, 0);
      const g = mod.gradients({ z }, { y });
      expect(Number.isFinite(g.loss), `${name} loss ${g.loss}`).toBe(true);
      const dz = g.grads.z as Float64Array;
      // softmax(z) = (1, 0, 0) to double precision; the gradient is softmax(z) - y (or softmax for logsumexp)
      const expected = name === "logsumexp" ? [1, 0, 0] : [1, -1, 0];
      expected.forEach((v, i) => expect(dz[i]).toBeCloseTo(v, 12));
    });
  }
});

describe("untaken branches do not poison gradients", () => {
  it("sqrt(relu(x)) for x < 0 has gradient 0, not NaN", async () => {
    const mod = await loadModule((await compile("param x\nloss = sqrt(relu(x)) + x\n")).typescript);
    expect(mod.gradients({ x: -2 }, {}).grads.x).toBe(1);
  });
  it("max(sqrt(abs(x)), 0.5) at x = 0 has gradient 0, not NaN", async () => {
    const mod = await loadModule((await compile("param x\nloss = max(sqrt(abs(x)), 0.5)\n")).typescript);
    expect(mod.gradients({ x: 0 }, {}).grads.x).toBe(0);
  });
  it("a masked division by zero stays out of the gradient", async () => {
    const mod = await loadModule((await compile("param v[3]\ninput d[3]\nloss = sum(min(v / d, 1))\n")).typescript);
    const g = mod.gradients({ v: Float64Array.of(1, 2, 3) }, { d: Float64Array.of(0, 4, 0) }).grads.v as Float64Array;
    expect([...g]).toEqual([0, 0.25, 0]);
  });
  it("the guarded rules still agree with finite differences away from the poles", async () => {
    const mod = await loadModule((await compile("param a, b\nloss = log(a) + sqrt(b) + a / b + a ^ b\n")).typescript);
    const p = { a: 1.7, b: 0.6 };
    const g = mod.gradients(p, {});
    for (const k of ["a", "b"])
      expect(
        relErr(
          g.grads[k] as number,
          centralDifference((q) => mod.loss(q, {}), p, k, 0),
        ),
      ).toBeLessThan(1e-7);
  });
});

describe("--debug", () => {
  const source = "param w[3]\ninput x[3]\nh = log(w * x)\nloss = sum(h)\n";
  it("throws at the first NaN/Inf, naming the node and its source line", async () => {
    const mod = await loadModule((await compile(source, { filename: "m.grad", debug: true })).typescript);
    expect(() => mod.gradients({ w: Float64Array.of(1, -1, 1) }, { x: Float64Array.of(1, 1, 1) })).toThrow(
      "gradc --debug: h[1] = NaN is not finite; it computes log(w * x) (m.grad:3:5)",
    );
    expect(mod.gradients({ w: Float64Array.of(1, 2, 3) }, { x: Float64Array.of(1, 1, 1) }).loss).toBeCloseTo(
      Math.log(6),
      14,
    );
  });
  it("works with --target wasm: a NaN in a batch stops at the first product that reads it", async () => {
    const net =
      "param W1[12, 20], b1[12], W2[3, 12], b2[3]\ninput x[20], y[3]\nh = relu(W1 @ x + b1)\nloss = softmax_cross_entropy(W2 @ h + b2, y)\n";
    const r = await compile(net, { filename: "net.grad", debug: true, target: "wasm" });
    expect(r.typescript).toContain("kernels.k");
    const mod = await loadModule(r.typescript);
    const fill = (n: number) => Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 0.3);
    const params = { W1: fill(240), b1: fill(12), W2: fill(36), b2: fill(3) };
    const x = fill(20 * 40);
    const plain = await loadModule((await compile(net)).typescript);
    expect(mod.batchGradients(params, { x, y: fill(120) }, 40).loss).toBeCloseTo(
      plain.batchGradients(params, { x, y: fill(120) }, 40).loss,
      12,
    );
    x[25] = NaN; // sample 1, in the first chunk
    expect(() => mod.batchGradients(params, { x, y: fill(120) }, 40)).toThrow(
      /^gradc --debug: u\w+\[12\] = NaN is not finite; it computes W1 @ x \(net.grad:3:10\)$/,
    ); // row 1 of [16, 12]
  });
  it("costs nothing when off", async () => {
    const { typescript } = await compile(source);
    expect(typescript).not.toContain("isFinite");
    expect(typescript).not.toContain("nonFinite");
  });
});
