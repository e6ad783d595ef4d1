/**
 * The layers' backward passes by hand (#14): the derivation writes each conv2d/conv1d in index
 * form — the filters' gradient as the input correlated with δ, the bias's as δ summed, the
 * input's as a full convolution of δ with the flipped kernel — and each batch or layer norm in
 * the closed form a course derives, each pool as gradient routing and each attention per head in
 * matrices (softmax's Jacobian–vector product), and checks every line against the sweep's
 * numbers with loops of its own (src/explain/layers.ts, norms.ts, pooling.ts, attention.ts).
 */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import katex from "katex";
import { describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { derive } from "../src/explain/derive.js";
import { checkConv, convLayers } from "../src/explain/layers.js";
import { checkNorm, normLayers } from "../src/explain/norms.js";
import { checkPool, poolLayers } from "../src/explain/pooling.js";
import { attentionLayers, checkAttention } from "../src/explain/attention.js";
import { evaluateNodes } from "../src/eval/evaluate.js";
import { differentiate } from "../src/autodiff/differentiate.js";
import { parsePoint } from "../src/explain/point.js";
import { mathFragments } from "../src/explain/render.js";
import { convCall, convCase, list } from "./helpers/conv.js";

describe("convolutions, by hand", () => {
  it("LeNet-5: both layers, the second with the gradient of its input h1 as a full convolution", () => {
    const d = derive(analyze(readFileSync("examples/lenet.grad", "utf8")));
    // conv, pool, conv, pool: the convolutions are the first and the third
    expect(d.layers).toHaveLength(4);
    const [first, second] = [d.layers[0], d.layers[2]].map((block) =>
      block.map((e) => `${e.lhs} = ${e.steps.join(" = ")}`),
    );
    // the first reads the input image: no gradient of it
    expect(first).toEqual([
      "\\left(\\mathbf{u}_{8}\\right)_{f,\\,p,\\,q} = \\left(\\mathbf{k}_{1}\\right)_{f} + \\sum_{c,i,j} \\left(\\mathbf{K}_{1}\\right)_{f,\\,c,\\,i,\\,j}\\, \\tilde{X}_{c,\\,p + i,\\,q + j}",
      "\\delta = \\nabla_{\\mathbf{u}_{8}} \\ell",
      "\\left(\\nabla_{\\mathbf{K}_{1}} \\ell\\right)_{f,\\,c,\\,i,\\,j} = \\sum_{p,q} \\delta_{f,\\,p,\\,q}\\, \\tilde{X}_{c,\\,p + i,\\,q + j}",
      "\\left(\\nabla_{\\mathbf{k}_{1}} \\ell\\right)_{f} = \\sum_{p,q} \\delta_{f,\\,p,\\,q}",
    ]);
    expect(second[second.length - 1]).toBe(
      "\\left(\\nabla_{\\mathbf{h}_{1}} \\ell\\right)_{c,\\,u,\\,v} = \\sum_{f,i,j} \\left(\\mathbf{K}_{2}\\right)_{f,\\,c,\\,i,\\,j}\\, \\delta_{f,\\,u - i,\\,v - j}",
    );
    expect(d.layers[2][d.layers[2].length - 1].note).toMatch(/full convolution/);
    for (const m of mathFragments(d)) expect(() => katex.renderToString(m, { throwOnError: true })).not.toThrow();
  });

  it("a wrong number is caught: the check refuses a line the sweep does not agree with", () => {
    const { a, value, adjoint, tampered } = sweepAt(readFileSync("examples/lenet.grad", "utf8"));
    const [conv] = convLayers(a.forward);
    expect(() => checkConv(conv, value, adjoint, "random:3", true)).not.toThrow();
    // the filters' gradient off by one part in a million, at one element
    expect(() => checkConv(conv, value, tampered(conv.through.W, 7), "random:3", true)).toThrow(
      /false convolution line \(∇W, at random:3: element 7/,
    );
  });

  it("any geometry (fast-check): conv2d and conv1d, batched or not, with stride, padding and dilation, checked", () => {
    fc.assert(
      fc.property(
        convCase.filter((c) => c.groups === 1),
        fc.boolean(),
        (c, bias) => {
          // h depends on a param, so the input's gradient is written too
          const source = `param W${list(c.W)}, b[${c.W[0]}], s\ninput x${list(c.x)}\nh = tanh(x * s)\nloss = sum(sin(${convCall(c, "h", bias)}))${bias ? "" : " + s * sum(b)"}\n`;
          const d = derive(analyze(source));
          expect(d.layers).toHaveLength(1);
          const padded = c.padding.some((p) => p > 0);
          // y, δ, ∇W, ∇b, ∇x̃, and ∇x when padded
          expect(d.layers[0]).toHaveLength(3 + (bias ? 1 : 0) + 1 + (padded ? 1 : 0));
        },
      ),
      { numRuns: 30, seed: 41 },
    );
  });
});

describe("normalizations, by hand", () => {
  it("the ResNet block: both batch norms in closed form, beside its convolutions", () => {
    const d = derive(analyze(readFileSync("examples/resnet-block.grad", "utf8")));
    const norms = d.layers.filter((block) => block[0].lhs === "\\hat{X}");
    expect(norms).toHaveLength(2);
    for (const block of norms) {
      expect(block.map((e) => e.lhs).slice(0, 3)).toEqual(["\\hat{X}", expect.stringMatching(/^\\mathbf/), "\\delta"]);
      expect(block.some((e) => /\\overline\{\\delta\}/.test(e.steps[0]))).toBe(true);
    }
  });

  it("a wrong number is caught: the closed form is held to the sweep", () => {
    const { a, value, adjoint, tampered } = sweepAt(
      "param g[3], b[3]\ninput x[4, 3, 2]\nloss = sum(tanh(batch_norm(x * 2, g, b)) * x)\n",
    );
    const [norm] = normLayers(a.forward);
    expect(() => checkNorm(norm, value, adjoint, "random:3", true)).not.toThrow();
    expect(() => checkNorm(norm, value, tampered(norm.through.beta, 1), "random:3", true)).toThrow(
      /false normalization line \(∇β, at random:3: element 1/,
    );
  });

  it("any layout (fast-check): batch norm over [N, C], [N, C, L], [N, C, H, W] and layer norm, checked", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("batch_norm", "layer_norm"),
        fc.array(fc.integer({ min: 2, max: 4 }), { minLength: 2, maxLength: 4 }),
        fc.boolean(),
        (fn, shape, shared) => {
          const C = fn === "batch_norm" ? shape[1] : shape[shape.length - 1];
          // shared: the gain also scales the input, so its printed gradient would not be the layer's alone
          const input = shared ? "x * sum(g)" : "x * s";
          const source = `param g[${C}], b[${C}], s\ninput x${list(shape)}\nloss = sum(sin(${fn}(${input}, g, b)) * x)\n`;
          const d = derive(analyze(source));
          expect(d.layers).toHaveLength(1);
          const lines = d.layers[0].map((e) => e.lhs);
          // x̂, y, δ, ∇γ (unless shared), ∇β, ∇x
          expect(lines).toHaveLength(shared ? 5 : 6);
        },
      ),
      { numRuns: 30, seed: 42 },
    );
  });
});

/** the sweep's values and adjoints of a program at random:3, for a layer's check */
function sweepAt(source: string) {
  const a = analyze(source);
  const written = differentiate(a.forward);
  const point = parsePoint("random:3", a.forward);
  const values = evaluateNodes(written.graph, point.params, point.inputs);
  const adjOf = new Map(written.sweep.map((s) => [s.node, s.adjoint]));
  const adjoint = (id: number) => (adjOf.has(id) ? values[adjOf.get(id)!] : undefined);
  /** the adjoints with one element of one node's off by a part in a million */
  const tampered = (node: number | undefined, at: number) => (id: number) => {
    const v = adjoint(id);
    return v === undefined || id !== node ? v : Float64Array.from(v, (x, i) => (i === at ? x * (1 + 1e-6) : x));
  };
  return { a, value: (id: number) => values[id], adjoint, tampered };
}

const lines = (block: readonly { lhs: string; steps: readonly string[] }[]) =>
  block.map((e) => `${e.lhs} = ${e.steps.join(" = ")}`);

describe("pooling, by hand", () => {
  it("LeNet-5: each max-pool routes δ to its window's first maximum", () => {
    const d = derive(analyze(readFileSync("examples/lenet.grad", "utf8")));
    // in the model's order: conv, pool, conv, pool
    const pools = d.layers.filter((block) => /\\max_\{i,j\}/.test(block[0].steps[0]));
    expect(pools).toHaveLength(2);
    expect(d.layers.indexOf(pools[0])).toBe(1);
    expect(lines(pools[0])).toEqual([
      "\\left(\\mathbf{h}_{1}\\right)_{c,\\,p,\\,q} = \\max_{i,j} \\left(\\mathbf{u}_{9}\\right)_{c,\\,2p + i,\\,2q + j}",
      "\\delta = \\nabla_{\\mathbf{h}_{1}} \\ell",
      "\\left(\\nabla_{\\mathbf{u}_{9}} \\ell\\right)_{c,\\,u,\\,v} = \\sum_{p,q} \\delta_{c,\\,p,\\,q} \\left[(u, v) = m_{p,q}\\right]",
    ]);
    expect(pools[0][2].note).toMatch(/first maximum/);
  });

  it("a wrong number is caught: max routing and the average's spread are held to the sweep", () => {
    for (const fn of ["max_pool2d", "avg_pool2d"]) {
      const { a, value, adjoint, tampered } = sweepAt(
        `param s\ninput x[2, 2, 5, 5]\nloss = sum(sin(${fn}(tanh(x * s), 3, stride=2, padding=1)))\n`,
      );
      const [pool] = poolLayers(a.forward);
      expect(pool.through.x).toBeDefined();
      expect(() => checkPool(pool, value, adjoint, "random:3", true)).not.toThrow();
      // element 6 is x[0, 0, 1, 1], inside a window (routed a gradient by max at random:3 or spread by avg)
      const nonzero = adjoint(pool.through.x!)!.findIndex((v) => v !== 0);
      expect(() => checkPool(pool, value, tampered(pool.through.x, nonzero), "random:3", true)).toThrow(
        new RegExp(`false pooling line \\(∇x, at random:3: element ${nonzero}`),
      );
    }
  });

  it("any geometry (fast-check): max and average, batched or not, stride and padding, checked", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("max_pool2d", "avg_pool2d"),
        fc.boolean(),
        fc.array(
          fc.record({
            kernel: fc.integer({ min: 1, max: 3 }),
            stride: fc.integer({ min: 1, max: 3 }),
            padding: fc.integer({ min: 0, max: 1 }),
            extra: fc.integer({ min: 0, max: 3 }),
          }),
          { minLength: 2, maxLength: 2 },
        ),
        (fn, batch, axes) => {
          fc.pre(axes[0].kernel * axes[1].kernel > 1);
          const padding = axes.map((a) => (2 * a.padding > a.kernel ? 0 : a.padding));
          const x = [...(batch ? [2] : []), 2, ...axes.map((a, i) => Math.max(1, a.kernel - 2 * padding[i] + a.extra))];
          const args = `${list(axes.map((a) => a.kernel))}, stride=${list(axes.map((a) => a.stride))}, padding=${list(padding)}`;
          // ties on purpose: h is ±s, so a window's maximum is repeated and its gradient goes to the first
          const source = `param s\ninput x${list(x)}\nh = sign(x) * s\nloss = sum(sin(${fn}(h, ${args})))\n`;
          const d = derive(analyze(source));
          expect(d.layers).toHaveLength(1);
          // y, δ, ∇h
          expect(d.layers[0]).toHaveLength(3);
        },
      ),
      { numRuns: 40, seed: 43 },
    );
  });
});

describe("attention, by hand", () => {
  it("the transformer block: per head, softmax's Jacobian–vector product under the causal mask", () => {
    const d = derive(analyze(readFileSync("examples/transformer.grad", "utf8")));
    const attention = d.layers.find((block) => block.some((e) => /softmax/.test(e.steps[0])))!;
    expect(lines(attention)).toEqual([
      "\\mathbf{S} = \\frac{1}{4} \\mathbf{Q} \\mathbf{K}^{\\top}",
      "\\mathbf{P} = \\operatorname{softmax}\\left(\\operatorname{where}\\left(M, \\mathbf{S}, -10^{9}\\right)\\right)",
      "\\mathbf{u}_{24} = \\mathbf{P} \\mathbf{V}",
      "\\delta = \\nabla_{\\mathbf{u}_{24}} \\ell",
      "\\nabla_{\\mathbf{V}} \\ell = \\mathbf{P}^{\\top} \\delta",
      "\\nabla_{\\mathbf{P}} \\ell = \\delta \\mathbf{V}^{\\top}",
      "\\nabla_{\\mathbf{S}} \\ell = M \\odot \\mathbf{P} \\odot \\left(\\nabla_{\\mathbf{P}} \\ell - \\operatorname{rowsum}\\left(\\mathbf{P} \\odot \\nabla_{\\mathbf{P}} \\ell\\right)\\right)",
      "\\nabla_{\\mathbf{Q}} \\ell = \\frac{1}{4} \\nabla_{\\mathbf{S}} \\ell\\, \\mathbf{K}",
      "\\nabla_{\\mathbf{K}} \\ell = \\frac{1}{4} \\left(\\nabla_{\\mathbf{S}} \\ell\\right)^{\\top} \\mathbf{Q}",
    ]);
    expect(attention[0].note).toBe("\\text{for each } h");
    // layer norm, attention, layer norm: in the model's order
    expect(d.layers.indexOf(attention)).toBe(1);
    for (const m of mathFragments(d)) expect(() => katex.renderToString(m, { throwOnError: true })).not.toThrow();
  });

  it("a wrong number is caught: every gradient line is held to the sweep", () => {
    const { a, value, adjoint, tampered } = sweepAt(
      "param Wq[6, 4], Wk[6, 4], Wv[6, 3]\ninput X[5, 6]\nQ = X @ Wq\nK = X @ Wk\nV = X @ Wv\nloss = sum(sin(softmax(Q @ K' / 2) @ V))\n",
    );
    const [att] = attentionLayers(a.forward);
    expect(att.scale).toBe(0.5);
    expect(() => checkAttention(att, value, adjoint, "random:3", true)).not.toThrow();
    for (const [line, node] of [
      ["∇V", att.through.V],
      ["∇P", att.through.P],
      ["∇S", att.through.S],
      ["∇Q", att.through.Q],
      ["∇K", att.through.K],
    ] as const) {
      expect(node, line).toBeDefined();
      expect(() => checkAttention(att, value, tampered(node, 2), "random:3", true)).toThrow(
        `false attention line (${line}, at random:3: element 2`,
      );
    }
  });

  it("any layout (fast-check): matrix or einsum forms, heads, a batch, K either way round, a mask, checked", () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.boolean(),
          heads: fc.integer({ min: 1, max: 2 }),
          T: fc.integer({ min: 2, max: 4 }),
          d: fc.integer({ min: 1, max: 3 }),
          e: fc.integer({ min: 1, max: 3 }),
          keysFirst: fc.boolean(),
          masked: fc.boolean(),
          scale: fc.constantFrom("/ 2", "* 0.3", ""),
        }),
        ({ batch, heads, T, d, e, keysFirst, masked, scale }) => {
          const n = batch ? "n" : "";
          const lead = [...(batch ? [2] : []), heads];
          // Q [n, h, t, d]; K [n, h, s, d] or [n, h, d, s]; V [n, h, s, e]
          const k = keysFirst ? `${n}hsd` : `${n}hds`;
          const kShape = keysFirst ? [...lead, T, d] : [...lead, d, T];
          const scores = `einsum("${n}htd,${k}->${n}hts", Q, K) ${scale}`;
          const z = masked ? `where(tril(ones([${T}, ${T}])) > 0, S, -1e9)` : "S";
          const source = [
            `param Q${list([...lead, T, d])}, K${list(kShape)}, V${list([...lead, T, e])}`,
            `S = ${scores}`,
            `P = softmax(${z})`,
            `loss = sum(sin(einsum("${n}hts,${n}hse->${n}hte", P, V)))`,
            "",
          ].join("\n");
          const dv = derive(analyze(source));
          expect(dv.layers).toHaveLength(1);
          const block = dv.layers[0];
          // S, P, O, δ, ∇V, ∇P, ∇S, ∇Q, ∇K
          expect(block).toHaveLength(9);
          expect(block[0].steps[0]).toContain(keysFirst ? "\\mathbf{K}^{\\top}" : "\\mathbf{Q} \\mathbf{K}");
        },
      ),
      { numRuns: 30, seed: 44 },
    );
  });
});
