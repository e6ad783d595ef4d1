/**
 * The course's layers (src/lang/layers.ts): convolutions, pooling and normalization against
 * references written from PyTorch's definitions (plain loops, below), their gradients against
 * finite differences through both targets' modules, max-pooling's ties, and their errors.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyze, compile, CompileError, evaluate } from "../src/index.js";
import { expectBatchIsMean } from "./helpers/batch.js";
import { checkProgram } from "./helpers/check.js";
import { relErr, rng } from "./helpers/module.js";
import { convCall, convCase, list, type ConvCase } from "./helpers/conv.js";

const random = (n: number, next: () => number) => Float64Array.from({ length: n }, () => next() * 2 - 1);
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** F.conv2d (and conv1d, one spatial axis) as PyTorch defines it: a cross-correlation, output sizes rounded down. */
function referenceConv(c: ConvCase, x: Float64Array, W: Float64Array, bias: Float64Array): Float64Array {
  const n = c.W.length - 2;
  const batched = c.x.length === n + 2;
  const N = batched ? c.x[0] : 1;
  const [C, ...size] = c.x.slice(batched ? 1 : 0);
  const [F, Cg, ...kernel] = c.W;
  const out = size.map(
    (d, i) => Math.floor((d + 2 * c.padding[i] - c.dilation[i] * (kernel[i] - 1) - 1) / c.stride[i]) + 1,
  );
  const y = new Float64Array(N * F * prod(out));
  const fPerGroup = F / c.groups;
  const outIdx = (o: number) => out.map((_, i) => Math.floor(o / prod(out.slice(i + 1))) % out[i]);
  const kIdx = (k: number) => kernel.map((_, i) => Math.floor(k / prod(kernel.slice(i + 1))) % kernel[i]);
  for (let s = 0; s < N; s++)
    for (let f = 0; f < F; f++)
      for (let o = 0; o < prod(out); o++) {
        const at = outIdx(o);
        let acc = bias[f];
        const g = Math.floor(f / fPerGroup);
        for (let cc = 0; cc < Cg; cc++)
          for (let k = 0; k < prod(kernel); k++) {
            const kk = kIdx(k);
            const pos = at.map((a, i) => a * c.stride[i] - c.padding[i] + kk[i] * c.dilation[i]);
            if (pos.some((p, i) => p < 0 || p >= size[i])) continue;
            const ch = g * Cg + cc;
            const xi = ((s * C + ch) * prod(size)) / 1 + pos.reduce((a, p, i) => a + p * prod(size.slice(i + 1)), 0);
            const wi = (f * Cg + cc) * prod(kernel) + k;
            acc += x[xi] * W[wi];
          }
        y[(s * F + f) * prod(out) + o] = acc;
      }
  return y;
}

/** loss = sum(layer(...) * M) through the evaluator: M's random weights make it depend on every element */
function weightedSum(source: string, values: Record<string, Float64Array | number>): number {
  const a = analyze(source);
  const params = Object.fromEntries(a.forward.params.map((l) => [l.name, values[l.name]]));
  const inputs = Object.fromEntries(a.forward.inputs.map((l) => [l.name, values[l.name]]));
  return evaluate(a.differentiated, params as never, inputs as never).loss;
}

describe("conv2d and conv1d compute PyTorch's F.conv2d / F.conv1d", () => {
  const cases: ConvCase[] = [
    { x: [3, 5, 5], W: [2, 3, 2, 2], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 },
    { x: [2, 3, 6, 5], W: [4, 3, 3, 2], stride: [2, 1], padding: [1, 2], dilation: [1, 1], groups: 1 },
    { x: [4, 7, 7], W: [6, 2, 3, 3], stride: [2, 2], padding: [1, 1], dilation: [2, 1], groups: 2 },
    { x: [1, 28, 28], W: [6, 1, 5, 5], stride: [1, 1], padding: [2, 2], dilation: [1, 1], groups: 1 },
    { x: [2, 4, 9], W: [4, 1, 3], stride: [2], padding: [1], dilation: [2], groups: 4 },
    { x: [3, 6], W: [2, 3, 3], stride: [1], padding: [0], dilation: [1], groups: 1 },
  ];
  for (const [k, c] of cases.entries()) {
    const conv = c.W.length === 4 ? "conv2d" : "conv1d";
    it(`${conv} x ${list(c.x)}, W ${list(c.W)}, stride ${list(c.stride)}, padding ${list(c.padding)}, dilation ${list(c.dilation)}, groups ${c.groups}`, () => {
      const next = rng(40 + k);
      const x = random(prod(c.x), next);
      const W = random(prod(c.W), next);
      const bias = random(c.W[0], next);
      const y = referenceConv(c, x, W, bias);
      const M = random(y.length, next);
      const call = `${conv}(x, W, bias=b, stride=${list(c.stride)}, padding=${list(c.padding)}, dilation=${list(c.dilation)}, groups=${c.groups})`;
      const n = c.W.length - 2;
      const spatial = c.x.slice(c.x.length - n);
      const out = spatial.map(
        (d, i) => Math.floor((d + 2 * c.padding[i] - c.dilation[i] * (c.W[2 + i] - 1) - 1) / c.stride[i]) + 1,
      );
      const outShape = [...(c.x.length === n + 2 ? [c.x[0]] : []), c.W[0], ...out];
      const source = `param W${list(c.W)}, b[${c.W[0]}]\ninput x${list(c.x)}, M${list(outShape)}\nloss = sum(${call} * M)\n`;
      const want = y.reduce((acc, v, i) => acc + v * M[i], 0);
      expect(relErr(weightedSum(source, { x, W, b: bias, M }), want, 1e-9)).toBeLessThan(1e-12);
    });
  }
});

describe("random convolutions (fast-check)", () => {
  it("compute F.conv2d / F.conv1d in the evaluator", () => {
    fc.assert(
      fc.property(convCase, fc.integer({ min: 0, max: 1e6 }), (c, seed) => {
        const next = rng(seed);
        const [x, W, bias] = [random(prod(c.x), next), random(prod(c.W), next), random(c.W[0], next)];
        const y = referenceConv(c, x, W, bias);
        const M = random(y.length, next);
        const source = `param W${list(c.W)}, b[${c.W[0]}]\ninput x${list(c.x)}, M[${y.length}]\nloss = sum(flatten(${convCall(c)}) * M)\n`;
        const want = y.reduce((acc, v, i) => acc + v * M[i], 0);
        expect(relErr(weightedSum(source, { x, W, b: bias, M }), want, 1e-9)).toBeLessThan(1e-12);
      }),
      { numRuns: 40, seed: 14 },
    );
  });

  it("differentiate to finite differences and the evaluator, the input's gradient (fold) too", async () => {
    const cases = fc.sample(convCase, { numRuns: 6, seed: 15 });
    for (const [k, c] of cases.entries()) {
      const source = `param W${list(c.W)}, b[${c.W[0]}], x${list(c.x)}\nloss = sum(tanh(${convCall(c)}) ^ 2)\n`;
      await checkProgram(`conv-${k}`, source, 600 + k);
    }
  });
});

describe("the layers' gradients agree with finite differences and the evaluator", () => {
  const programs: [string, string][] = [
    [
      "conv2d",
      "param W[2, 3, 2, 2], b[2]\ninput x[3, 5, 5]\nloss = sum(tanh(conv2d(x, W, bias=b, padding=1, stride=2)))\n",
    ],
    [
      "conv2d-groups-dilation",
      "param W[4, 1, 2, 2]\ninput x[2, 2, 6, 6]\nloss = sum(sin(conv2d(x, W, groups=2, dilation=2)))\n",
    ],
    ["conv1d", "param W[3, 2, 3], b[3]\ninput x[2, 8]\nloss = sum(tanh(conv1d(x, W, bias=b, padding=1)) ^ 2)\n"],
    ["max-pool", "param x[2, 4, 6]\nloss = sum(sin(max_pool2d(x, 2)))\n"],
    ["max-pool-padded", "param x[1, 5, 5]\nloss = sum(sin(max_pool2d(x, 3, stride=2, padding=1)))\n"],
    ["avg-pool", "param x[2, 5, 4]\nloss = sum(tanh(avg_pool2d(x, [2, 3], stride=1, padding=1)))\n"],
    ["batch-norm-2d", "param x[3, 2, 2, 2], g[2], b[2]\nloss = sum(tanh(batch_norm(x, g, b)) * x)\n"],
    ["batch-norm-1d", "param x[4, 3], g[3], b[3]\nloss = sum(sin(batch_norm(x, g, b, eps=0.01)))\n"],
    ["layer-norm", "param x[3, 5], g[5], b[5]\nloss = sum(tanh(layer_norm(x, g, b)) * x)\n"],
    [
      "conv-relu-pool-dense",
      "param K[3, 1, 3, 3], k[3], W[4, 12], c[4]\ninput img[1, 6, 6], y: int\nh = max_pool2d(relu(conv2d(img, K, bias=k, padding=1)), 3)\nloss = cross_entropy(W @ flatten(h) + c, y)\n",
    ],
  ];
  for (const [i, [name, source]] of programs.entries())
    it(name, async () => {
      await checkProgram(name, source, 900 + i);
    });

  it("a network too long for one optimized V8 function runs as parts, with the same gradients (split.ts)", async () => {
    const source =
      // a 7 × 7 max-pool folds 49 windows, forward and back
      "param K[4, 1, 5, 5], k[4], W[3, 16], c[3], s\ninput img[1, 12, 12], y: int\nscale = exp(s)\nh = max_pool2d(relu(conv2d(img, K, bias=k, padding=2) * scale), 7, stride=3)\nloss = cross_entropy(W @ flatten(h) + c, y) + s^2\n";
    const { typescript } = await compile(source, { prettier: false });
    expect(typescript).toMatch(/function gradients_part2\(/);
    expect(typescript).toMatch(/gradients_spill\[0\] = /); // a scalar one part computes and a later one reads
    await checkProgram("split", source, 77);
  });

  it("a small CNN through batchGradients, both targets (its batched form at rank 4)", async () => {
    const source =
      "param K[2, 1, 3, 3], k[2], W[3, 8], c[3]\ninput img[1, 6, 6], y: int\nh = avg_pool2d(tanh(conv2d(img, K, bias=k)), 2)\nloss = cross_entropy(W @ flatten(h) + c, y)\n";
    await expectBatchIsMean(source, 31, "ts", 19);
    await expectBatchIsMean(source, 32, "wasm", 19);
  });
});

describe("pooling and normalization follow PyTorch", () => {
  it("max-pooling gives a window's gradient to its first maximum, in row-major order", () => {
    const a = analyze("param x[1, 2, 4]\nloss = sum(max_pool2d(x, 2))\n");
    const x = Float64Array.of(5, 5, 1, 7, 5, 5, 7, 7);
    const g = evaluate(a.differentiated, { x } as never, {} as never).grads.x as Float64Array;
    expect([...g]).toEqual([1, 0, 0, 1, 0, 0, 0, 0]);
  });

  it("max-pooling pads with -inf and average pooling counts the padding as zeros", () => {
    const x = Float64Array.of(-1, -2, -3, -4);
    const value = (fn: string) =>
      weightedSum(`param x[1, 2, 2]\ninput M[1, 3, 3]\nloss = sum(${fn}(x, 2, stride=1, padding=1) * M)\n`, {
        x,
        M: Float64Array.from({ length: 9 }, (_, i) => i + 1),
      });
    // each 2 x 2 window of the padded input: max [[-1, -1, -2], [-1, -1, -2], [-3, -3, -4]] (the
    // padding never wins), sums [[-1, -3, -2], [-4, -10, -6], [-3, -7, -4]] over 4 cells
    expect(value("max_pool2d")).toBe(-111);
    expect(value("avg_pool2d")).toBeCloseTo(-228 / 4, 12);
  });

  it("batch_norm uses the batch statistics per channel with the biased variance; layer_norm the last axis", () => {
    const next = rng(5);
    const x = random(2 * 3 * 4, next);
    const norm = (fn: string, shape: string, p: string) =>
      weightedSum(`param x${shape}, g[${p}], b[${p}]\ninput M${shape}\nloss = sum(${fn}(x, g, b) * M)\n`, {
        x,
        g: Float64Array.from({ length: Number(p) }, (_, i) => 1 + i),
        b: Float64Array.from({ length: Number(p) }, (_, i) => i / 10),
        M: Float64Array.from({ length: 24 }, (_, i) => i % 5),
      });
    // batch norm of [2, 3, 4]: channel c over its 2 x 4 values
    let want = 0;
    for (let ch = 0; ch < 3; ch++) {
      const idx = [0, 1].flatMap((n) => [0, 1, 2, 3].map((l) => n * 12 + ch * 4 + l));
      const mu = idx.reduce((s, i) => s + x[i], 0) / 8;
      const v = idx.reduce((s, i) => s + (x[i] - mu) ** 2, 0) / 8;
      for (const i of idx) want += (((x[i] - mu) / Math.sqrt(v + 1e-5)) * (1 + ch) + ch / 10) * (i % 5);
    }
    expect(relErr(norm("batch_norm", "[2, 3, 4]", "3"), want, 1e-9)).toBeLessThan(1e-12);
    // layer norm of [6, 4]: each row over its 4 values
    want = 0;
    for (let r = 0; r < 6; r++) {
      const row = [0, 1, 2, 3].map((j) => r * 4 + j);
      const mu = row.reduce((s, i) => s + x[i], 0) / 4;
      const v = row.reduce((s, i) => s + (x[i] - mu) ** 2, 0) / 4;
      row.forEach((i, j) => (want += (((x[i] - mu) / Math.sqrt(v + 1e-5)) * (1 + j) + j / 10) * (i % 5)));
    }
    expect(relErr(norm("layer_norm", "[6, 4]", "4"), want, 1e-9)).toBeLessThan(1e-12);
  });
});

describe("the layers' errors", () => {
  const message = (source: string) => {
    try {
      analyze(source);
    } catch (e) {
      if (e instanceof CompileError) return e.message;
      throw e;
    }
    return "";
  };
  it("name the shapes a layer expects and the compile-time arguments it takes", () => {
    expect(message("param W[2, 4, 3, 3]\ninput x[3, 8, 8]\nloss = sum(conv2d(x, W))\n")).toMatch(
      /error\[E203\]: 'conv2d' expects W shaped \[F, C\/groups, KH, KW\] with C = 3 channels/,
    );
    expect(message("param W[2, 3, 3, 3]\ninput x[3, 8, 8]\nloss = sum(conv2d(x, W, stride=[1, 2, 3]))\n")).toMatch(
      /error\[E113\]: 'stride' of 'conv2d' must be a positive integer or a list of 2, found \[1, 2, 3\]/,
    );
    expect(message("param W[2, 3, 5, 5]\ninput x[3, 4, 4]\nloss = sum(conv2d(x, W))\n")).toMatch(
      /an input at least as large as its window/,
    );
    expect(message("input x[1, 4, 4]\nparam w\nloss = w * sum(max_pool2d(x, 2, padding=2))\n")).toMatch(
      /'padding' of 'max_pool2d' must be at most half the kernel/,
    );
    expect(message("param x[4, 3], g[4], b[3]\nloss = sum(batch_norm(x, g, b))\n")).toMatch(
      /'batch_norm' expects gamma and beta shaped \[3\] \(one per channel\), found shape \[4\]/,
    );
  });
});
