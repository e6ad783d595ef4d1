/**
 * The layers' backward passes by hand (#14): the derivation writes each conv2d/conv1d in index
 * form — the filters' gradient as the input correlated with δ, the bias's as δ summed, the
 * input's as a full convolution of δ with the flipped kernel — and each batch or layer norm in
 * the closed form a course derives, and checks every line against the sweep's numbers with
 * loops of its own (src/explain/layers.ts, src/explain/norms.ts).
 */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import katex from "katex";
import { describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { derive } from "../src/explain/derive.js";
import { checkConv, convLayers } from "../src/explain/layers.js";
import { checkNorm, normLayers } from "../src/explain/norms.js";
import { evaluateNodes } from "../src/eval/evaluate.js";
import { differentiate } from "../src/autodiff/differentiate.js";
import { parsePoint } from "../src/explain/point.js";
import { mathFragments } from "../src/explain/render.js";
import { convCall, convCase, list } from "./helpers/conv.js";

describe("convolutions, by hand", () => {
  it("LeNet-5: both layers, the second with the gradient of its input h1 as a full convolution", () => {
    const d = derive(analyze(readFileSync("examples/lenet.grad", "utf8")));
    expect(d.layers).toHaveLength(2);
    const [first, second] = d.layers.map((block) => block.map((e) => `${e.lhs} = ${e.steps.join(" = ")}`));
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
    expect(d.layers[1][d.layers[1].length - 1].note).toMatch(/full convolution/);
    for (const m of mathFragments(d)) expect(() => katex.renderToString(m, { throwOnError: true })).not.toThrow();
  });

  it("a wrong number is caught: the check refuses a line the sweep does not agree with", () => {
    const a = analyze(readFileSync("examples/lenet.grad", "utf8"));
    const written = differentiate(a.forward);
    const point = parsePoint("random:3", a.forward);
    const values = evaluateNodes(written.graph, point.params, point.inputs);
    const adjOf = new Map(written.sweep.map((s) => [s.node, s.adjoint]));
    const [conv] = convLayers(a.forward);
    const adjoint = (id: number) => (adjOf.has(id) ? values[adjOf.get(id)!] : undefined);
    expect(() => checkConv(conv, (id) => values[id], adjoint, "random:3", true)).not.toThrow();
    // the filters' gradient off by one part in a million, at one element
    const tampered = (id: number) => {
      const v = adjoint(id);
      if (v === undefined || id !== conv.through.W) return v;
      const w = Float64Array.from(v);
      w[7] *= 1 + 1e-6;
      return w;
    };
    expect(() => checkConv(conv, (id) => values[id], tampered, "random:3", true)).toThrow(
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
    const a = analyze("param g[3], b[3]\ninput x[4, 3, 2]\nloss = sum(tanh(batch_norm(x * 2, g, b)) * x)\n");
    const written = differentiate(a.forward);
    const point = parsePoint("random:3", a.forward);
    const values = evaluateNodes(written.graph, point.params, point.inputs);
    const adjOf = new Map(written.sweep.map((s) => [s.node, s.adjoint]));
    const [norm] = normLayers(a.forward);
    const adjoint = (id: number) => (adjOf.has(id) ? values[adjOf.get(id)!] : undefined);
    expect(() => checkNorm(norm, (id) => values[id], adjoint, "random:3", true)).not.toThrow();
    const tampered = (id: number) => {
      const v = adjoint(id);
      if (v === undefined || id !== norm.through.beta) return v;
      return Float64Array.from(v, (x, i) => (i === 1 ? x * (1 + 1e-6) : x));
    };
    expect(() => checkNorm(norm, (id) => values[id], tampered, "random:3", true)).toThrow(
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
