import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assemble, kernelModule, scratchBytes, takesRows, type MatmulKernel } from "../src/emit/wasm/kernels.js";
import { rowStrides } from "../src/emit/wasm/spec.js";
import { compile } from "../src/index.js";
import { centralDifference, copyValues, loadModule, relErr, rng, size, type Values } from "./helpers/module.js";
import { corpus } from "./programs.js";
import { examples } from "../scripts/examples.js";
import { smallExamples } from "./helpers/examples.js";
import { expectBatchIsMean } from "./helpers/batch.js";

/** --target wasm: the batched chunk's matrix products run as WebAssembly SIMD kernels. */
/** A kernel's operand shapes: A [rows, cols] and B [rows, cols] as its form reads them. */
function operands(k: MatmulKernel): { a: [number, number]; b: [number, number] } {
  return { a: k.form === "tn" ? [k.n, k.m] : [k.m, k.n], b: k.form === "nt" ? [k.c, k.n] : [k.n, k.c] };
}

/** C[i, j] as a plain triple loop would compute it (rows `rowStrides` apart), added to `c0` when the kernel accumulates. */
function reference(
  k: MatmulKernel,
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  i: number,
  j: number,
  c0: number,
): number {
  const ld = rowStrides(k);
  let s = k.accumulate ? c0 : 0;
  for (let t = 0; t < k.n; t++)
    s += (k.form === "tn" ? A[t * ld.a + i] : A[i * ld.a + t]) * (k.form === "nt" ? B[j * ld.b + t] : B[t * ld.b + j]);
  return s;
}

describe("WebAssembly kernels", () => {
  // odd sizes everywhere, so every tail (rows, columns, lanes, the four-row passes) runs; rows of
  // B in more than one L1 column block; accumulation into C
  const cases: MatmulKernel[] = [
    { name: "nt", form: "nt", m: 5, n: 9, c: 7 },
    { name: "nt_even", form: "nt", m: 4, n: 16, c: 8 },
    { name: "nt_wide", form: "nt", m: 7, n: 3, c: 13 },
    { name: "tn", form: "tn", m: 5, n: 6, c: 7 },
    { name: "tn_blocks", form: "tn", m: 3, n: 9, c: 2001, accumulate: true },
    { name: "nn", form: "nn", m: 3, n: 9, c: 5 },
    { name: "nn_acc", form: "nn", m: 6, n: 11, c: 9, accumulate: true },
  ];
  const [A0, B0, C0, S0] = [0, 65536, 4 * 65536, 6 * 65536];
  for (const bytes of [8, 4] as const) {
    it(`compute A Bᵀ, Aᵀ B and A B exactly, dense (register tiles) and with zero factors skipped (${bytes === 8 ? "f64x2" : "f32x4"})`, async () => {
      expect(scratchBytes({ bytes }, cases)).toBeLessThan(65536);
      const wasm = await assemble(kernelModule({ bytes }, cases, 8, S0));
      const memory = new WebAssembly.Memory({ initial: 8 });
      const k = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), { gradc: { memory } })
        .exports as Record<string, (a: number, b: number, o: number) => void>;
      const T = (bytes === 8 ? Float64Array : Float32Array) as Float64ArrayConstructor;
      const next = rng(bytes);
      // small integers, a third of B's rows zero and none or a third of A (below the share of
      // nonzero factors where tn and nn switch from register tiles to adding rows): every product
      // and sum is exact in both precisions
      for (const [c, zeros] of cases.flatMap((c) => [0, 1 / 3].map((z) => [c, z] as const))) {
        const {
          a: [ar, ac],
          b: [br, bc],
        } = operands(c);
        const A = T.from({ length: ar * ac }, () => (next() < zeros ? 0 : Math.round(next() * 10 - 5) || 1));
        const B = T.from({ length: br * bc }, () => Math.round(next() * 10 - 5));
        for (let r = 0; r < br; r++) if (next() < 1 / 3) B.fill(0, r * bc, (r + 1) * bc);
        new T(memory.buffer, A0, A.length).set(A);
        new T(memory.buffer, B0, B.length).set(B);
        new T(memory.buffer, C0, c.m * c.c).fill(99);
        k[c.name](A0, B0, C0);
        const got = [...new T(memory.buffer, C0, c.m * c.c)];
        const want = Array.from({ length: c.m * c.c }, (_, q) => reference(c, A, B, Math.floor(q / c.c), q % c.c, 99));
        expect(got, `${c.name}, zeros ${zeros}`).toEqual(want);
      }
    });

    it(`scale multiplies in place, whole vectors and the tail (${bytes === 8 ? "f64x2" : "f32x4"})`, async () => {
      const wasm = await assemble(kernelModule({ bytes }, [], 1, 0));
      const memory = new WebAssembly.Memory({ initial: 1 });
      const k = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), { gradc: { memory } })
        .exports as Record<string, (p: number, n: number, s: number) => void>;
      const T = (bytes === 8 ? Float64Array : Float32Array) as Float64ArrayConstructor;
      const x = new T(memory.buffer, 0, 12);
      x.set(Array.from({ length: 12 }, (_, i) => i + 1));
      k.scale(16, 7, 0.5); // elements 16 / bytes .. + 7
      const from = 16 / bytes;
      expect([...x]).toEqual(Array.from({ length: 12 }, (_, i) => (i >= from && i < from + 7 ? (i + 1) / 2 : i + 1)));
    });
  }
});

describe("WebAssembly kernels on random shapes (fast-check)", () => {
  // every tile, tail and L1 block boundary, dense and sparse factors, overwrite and accumulate
  const spec = fc.record({
    form: fc.constantFrom("nt" as const, "tn" as const, "nn" as const),
    m: fc.integer({ min: 1, max: 19 }),
    n: fc.integer({ min: 1, max: 40 }),
    c: fc.integer({ min: 1, max: 300 }),
    accumulate: fc.boolean(),
    zeros: fc.constantFrom(0, 0.2, 0.5, 1),
    // rows of B that are all zeros (a padded chunk's rows of a gradient): the kernels skip them
    zeroRowsOfB: fc.constantFrom(0, 0.5, 1),
    bytes: fc.constantFrom(4 as const, 8 as const),
    seed: fc.nat(),
    // nt and nn: how many rows of A are real; the rest repeat the last one (a padded chunk)
    rows: fc.integer({ min: 1, max: 19 }),
    // elements past each row of A, B and C (a head's matrix inside [t, h, d]): 0 is contiguous
    gaps: fc.tuple(fc.constantFrom(0, 0, 1, 3, 8), fc.constantFrom(0, 0, 1, 5), fc.constantFrom(0, 0, 2, 4)),
  });
  it("equal a plain triple loop", async () => {
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const plain: MatmulKernel = { name: "k", form: s.form, m: s.m, n: s.n, c: s.c };
        const natural = rowStrides(plain);
        const [ga, gb, gc] = s.gaps;
        const k: MatmulKernel = {
          ...plain,
          ...(s.accumulate && s.form !== "nt" ? { accumulate: true } : {}),
          ...(ga ? { lda: natural.a + ga } : {}),
          ...(gb ? { ldb: natural.b + gb } : {}),
          ...(gc ? { ldc: natural.c + gc } : {}),
        };
        const ld = rowStrides(k);
        const T = (s.bytes === 8 ? Float64Array : Float32Array) as Float64ArrayConstructor;
        const {
          a: [ar, ac],
          b: [br],
        } = operands(k);
        const [sizeA, sizeB, sizeC] = [ar * ld.a, br * ld.b, s.m * ld.c];
        const [A0, B0, C0] = [0, sizeA * s.bytes, (sizeA + sizeB) * s.bytes];
        const S0 = C0 + sizeC * s.bytes;
        const pages = Math.ceil((S0 + scratchBytes({ bytes: s.bytes }, [k])) / 65536) + 1;
        const wasm = await assemble(kernelModule({ bytes: s.bytes }, [k], pages, S0));
        const memory = new WebAssembly.Memory({ initial: pages });
        const run = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), {
          gradc: { memory },
        }).exports.k as (a: number, b: number, o: number, rows?: number) => void;
        const next = rng(s.seed);
        // small integers: exact in both precisions, so any misplaced element shows
        // the elements between rows (another head's) are random too: a kernel must not read them as its own
        const A = T.from({ length: sizeA }, () => (next() < s.zeros ? 0 : Math.round(next() * 10 - 5)));
        const rows = Math.min(s.rows, s.m);
        if (takesRows(k))
          for (let i = rows; i < s.m; i++) A.copyWithin(i * ld.a, (rows - 1) * ld.a, (rows - 1) * ld.a + ac);
        const B = T.from({ length: sizeB }, () => Math.round(next() * 10 - 5));
        for (let r = 0; r < br; r++) if (next() < s.zeroRowsOfB) B.fill(0, r * ld.b, r * ld.b + operands(k).b[1]);
        new T(memory.buffer, A0, A.length).set(A);
        new T(memory.buffer, B0, B.length).set(B);
        new T(memory.buffer, C0, sizeC).fill(7);
        run(A0, B0, C0, rows);
        const got = new T(memory.buffer, C0, sizeC);
        for (let i = 0; i < s.m; i++)
          for (let j = 0; j < ld.c; j++) {
            // past a row's c columns, C is another matrix's: left as it was
            const want = j < s.c ? reference(k, A, B, i, j, 7) : 7;
            if (got[i * ld.c + j] !== want)
              expect.fail(`${JSON.stringify(s)}: C[${i}, ${j}] = ${got[i * ld.c + j]}, want ${want}`);
          }
      }),
      // npm run fuzz (GRADC_FUZZ=long): ten times the runs and a fresh seed
      process.env.GRADC_FUZZ === "long" ? { seed: Date.now(), numRuns: 3000 } : { seed: 20261126, numRuns: 300 },
    );
  }, 120_000);
});

describe("--target wasm: batchGradients equals the mean of per-sample gradients", () => {
  const programs = [
    ...corpus,
    ...examples().map((e) => ({ name: `example ${e.name}`, source: readFileSync(e.source, "utf8") })),
  ];
  for (const [k, p] of programs.entries()) {
    it(p.name, () => expectBatchIsMean(p.source, 900 + k, "wasm"), 60_000);
  }

  it("pads a last, partial chunk with weight-0 samples: any n, and n below one chunk", async () => {
    // forced on (the cost model turns it on for large programs only)
    // odd and even remainders: a tile of two rows holds a real and a padding row, or two real ones
    // (every size for every small program: the big networks pad the same way, at seconds a compile)
    // and a small CNN: its convolution is a batched product whose filters every call shares
    const cnn = {
      source:
        "param K[3, 2, 3, 3], k[3], W[4, 12], c[4]\ninput img[2, 6, 6], y: int\nh = max_pool2d(relu(conv2d(img, K, bias=k, padding=1)), 3)\nloss = cross_entropy(W @ flatten(h) + c, y)\n",
    };
    const small = [...corpus, ...smallExamples(), cnn];
    for (const [k, p] of small.entries()) {
      for (const n of [1, 2, 6, 16, 21]) await expectBatchIsMean(p.source, 700 + k, "wasm", n, { paddedTailFrom: 1 });
    }
  }, 300_000);

  it("computes only a padded chunk's real rows where padding rows repeat them, not where weights made them zero", async () => {
    // y @ W: its backward dy = dz Wᵀ is an A Bᵀ product whose padding rows are 0, not copies
    const src = "param V[4, 5], W[5, 6]\ninput x[4], t[6]\ny = tanh(x @ V)\nz = y @ W\nloss = sum((z - t)^2)\n";
    // (its forward products x @ V and y @ W, A B over sample rows, do)
    expect(
      (await compile(src, { target: "wasm", paddedTailFrom: 1 })).typescript.match(/kernels\.k\d\([^)]*, rows\)/g),
    ).toHaveLength(2);
    // the MLP's forward products do take the count of real rows
    const mlp = (await compile(readFileSync("examples/mlp.grad", "utf8"), { target: "wasm", paddedTailFrom: 1 }))
      .typescript;
    expect(mlp.match(/kernels\.k\d\([^)]*, rows\)/g)).toHaveLength(2);
    for (const n of [1, 2, 6, 18]) await expectBatchIsMean(src, 3, "wasm", n, { paddedTailFrom: 1 });
    // Mᵀ-shaped values that depend on the samples have rows of features, not samples: t2' @ M
    const features = "param M[3, 3]\ninput x[3]\nt2 = x @ M\nt8 = t2' @ M\nloss = sum(tanh(t8)) + sum(t8)\n";
    for (const n of [2, 18]) await expectBatchIsMean(features, 4, "wasm", n, { paddedTailFrom: 1 });
  });

  it("gives a program whose one sample is a batch of 16 rows or more a chunk of one sample: gradients() runs the kernels", async () => {
    // X[16, 6] @ W: every product already has 16 rows; a chunk of sixteen such samples adds nothing
    const src = "param W[6, 5], V[5, 3]\ninput X[16, 6], T[16, 3]\nH = tanh(X @ W)\nloss = sum((H @ V - T)^2)\n";
    const code = (await compile(src, { target: "wasm" })).typescript;
    expect(code).toContain("return batchGradients(params, inputs, 1, out);");
    expect(code).toMatch(/kernels\.k\d\(/);
    for (const n of [1, 3]) await expectBatchIsMean(src, 6, "wasm", n);
    // eight rows per sample: sixteen samples make the products taller, so the chunk stays sixteen
    const short = (await compile(src.replaceAll("16", "8"), { target: "wasm" })).typescript;
    expect(short).not.toContain("return batchGradients(params, inputs, 1, out);");
  });

  it("keeps user names apart from its own (weights, tailBatch, chunkWeights, first, rest, tail)", async () => {
    const src =
      "param weights[6, 5], tail[6], rest\ninput chunkWeights[5], tailBatch, first[6]\nh = relu(weights @ chunkWeights + tail)\nloss = sum((h - first)^2) * rest + tailBatch\n";
    for (const n of [1, 3, 17, 40]) await expectBatchIsMean(src, 5, "wasm", n, { paddedTailFrom: 1 });
  });

  it("the cost model pads the MLP's remainder from two samples in either layout (one runs its own chunk), matrix samples' from three, never a tiny program's", async () => {
    for (const file of ["examples/mlp.grad", "examples/mlp-xw.grad"])
      for (const dtype of ["f32", "f64"] as const) {
        const code = (await compile(readFileSync(file, "utf8"), { target: "wasm", dtype })).typescript;
        expect(code).toMatch(/if \(n - start_\d+ >= 2\) \{/);
        expect(code).toContain("return batchGradients(params, inputs, 1, out);"); // gradients(): a batch of one
      }
    // a padded chunk of samples that are themselves matrices (X[32, 784] @ W1, chunks of 16 forced)
    // would run their forward product over sixteen samples for one: padded from three
    const matrix = (
      await compile(readFileSync("examples/batch-mlp.grad", "utf8"), { target: "wasm", dtype: "f32", chunkSize: 16 })
    ).typescript;
    expect(matrix).toMatch(/if \(n - start_\d+ >= 3\) \{/);
    expect(matrix).not.toContain("return batchGradients(params, inputs, 1, out);");
    // a tiny program: its remainder runs sample by sample, and its chunks have no weights
    const tiny = (await compile("param W[3, 2]\ninput x[2]\nloss = sum(tanh(W @ x))\n", { target: "wasm" })).typescript;
    expect(tiny).toContain("kernels.k0(");
    expect(tiny).not.toContain("weights");
  });

  it("runs one sample's vector products as one-row kernels: gradients() and a last lone sample go through sampleChunk", async () => {
    for (const file of ["examples/mlp.grad", "examples/mlp-xw.grad"]) {
      const code = (await compile(readFileSync(file, "utf8"), { target: "wasm", dtype: "f32" })).typescript;
      // x @ W1 (784 × 128) on one sample: a one-row kernel of its own, beside the chunk's
      expect(code).toContain("function sampleChunk(params: Params, batch: Batch, first: number, out: Result): void {");
      expect(code).toMatch(/kernels\.s\d\(/);
      expect(code).toMatch(
        /for \(; start_\d+ \+ 1 <= n; start_\d+ \+= 1\) \{\n\s*sampleChunk\(params, batch, start_\d+, out\);/,
      );
    }
    // f32: gradients() and a lone last sample through the one-row kernels, at f32 precision
    const xw = readFileSync("examples/mlp-xw.grad", "utf8");
    const [m32, m64] = await Promise.all(
      [compile(xw, { target: "wasm", dtype: "f32" }), compile(xw)].map(async (r) => loadModule((await r).typescript)),
    );
    const next = rng(47);
    const params: Values = {};
    for (const [name, shape] of Object.entries(m64.shapes.params))
      params[name] = Float32Array.from({ length: size(shape) }, () => (next() - 0.5) * 0.2);
    const samples = Float32Array.from({ length: 17 * 784 }, () => next());
    const labels = Float32Array.from({ length: 17 * 10 }, (_, i) => (i % 10 === (i / 10) % 7 ? 1 : 0));
    const f64 = (v: Values) =>
      Object.fromEntries(Object.entries(v).map(([k, x]) => [k, Float64Array.from(x as Float32Array)]));
    const one = { x: samples.subarray(0, 784), y: labels.subarray(0, 10) };
    const [g32, g64] = [m32.gradients(params, one), m64.gradients(f64(params), f64(one))];
    const [b32, b64] = [
      m32.batchGradients(params, { x: samples, y: labels }, 17),
      m64.batchGradients(f64(params), f64({ x: samples, y: labels }), 17),
    ];
    for (const [a, b] of [
      [g32, g64],
      [b32, b64],
    ]) {
      expect(relErr(a.loss, b.loss, 1e-2)).toBeLessThan(1e-5);
      for (const name of Object.keys(m64.shapes.params)) {
        const [x, y] = [a.grads[name] as Float32Array, b.grads[name] as Float64Array];
        for (let i = 0; i < x.length; i += 97) expect(relErr(x[i], y[i], 1e-2)).toBeLessThan(1e-4);
      }
    }
    // either layout, of random widths past the size that pays: gradients(), a lone
    // last sample (17 = 16 + 1), a padded pair (18) and one sample below a chunk, all equal to the
    // TypeScript target's per-sample gradients
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          inputs: fc.integer({ min: 260, max: 300 }),
          hidden: fc.integer({ min: 250, max: 270 }),
          xw: fc.boolean(),
        }),
        async ({ inputs, hidden, xw }) => {
          const layer = xw ? `x @ W` : `W @ x`;
          const W = xw ? `W[${inputs}, ${hidden}]` : `W[${hidden}, ${inputs}]`;
          const src = `param ${W}, b[${hidden}], V[3, ${hidden}]\ninput x[${inputs}], t[3]\nh = tanh(${layer} + b)\nloss = sum((V @ h - t)^2)\n`;
          const code = (await compile(src, { target: "wasm", prettier: false })).typescript;
          expect(code).toContain("function sampleChunk(");
          for (const n of [1, 17, 18]) await expectBatchIsMean(src, inputs + hidden, "wasm", n);
        },
      ),
      { numRuns: 3, seed: 46 },
    );
    // small products: a call per sample would cost more than the chunk saves, so there is no sample chunk
    const tiny = (await compile("param W[30, 20]\ninput x[20]\nloss = sum(tanh(W @ x))\n", { target: "wasm" }))
      .typescript;
    expect(tiny).not.toContain("sampleChunk");
  }, 300_000);

  it("uses WebAssembly for the MLP's products, and is the TypeScript target where there are none", async () => {
    const mlp = (await compile(readFileSync("examples/mlp.grad", "utf8"), { target: "wasm" })).typescript;
    expect(mlp).toContain("export async function init(): Promise<void>");
    expect(mlp).toMatch(/kernels\.k\d\(/);
    const lecture = readFileSync("examples/lecture.grad", "utf8");
    const [ts, wasm] = await Promise.all([compile(lecture), compile(lecture, { target: "wasm" })]);
    // no products: the wasm target falls back to TypeScript; only the header's options say which was asked for
    expect(wasm.typescript).toBe(
      ts.typescript.replace("// gradc options: dtype=f64\n", "// gradc options: dtype=f64 target=wasm\n"),
    );
    expect(wasm.typescript).not.toContain("WebAssembly");
  });

  it("says to call init() when synchronous compilation is refused (as browsers do), and works after it", async () => {
    const source = "param W[6, 5]\ninput x[5]\nloss = sum(tanh(W @ x))\n";
    const mod = await loadModule((await compile(source, { target: "wasm" })).typescript);
    const params = { W: Float64Array.from({ length: 30 }, (_, i) => Math.sin(i)) };
    const batch = { x: Float64Array.from({ length: 5 * 20 }, (_, i) => Math.cos(i)) };
    const wasmApi = (globalThis as unknown as { WebAssembly: { Module: unknown } }).WebAssembly;
    const Module = wasmApi.Module;
    wasmApi.Module = function refuse() {
      throw new RangeError("WebAssembly.Module(): Buffer size is too large for sync compile");
    };
    try {
      expect(() => mod.batchGradients(params, batch, 20)).toThrow(
        "gradc: the WebAssembly kernels could not be compiled synchronously (RangeError: WebAssembly.Module(): Buffer size is too large for sync compile); in a browser, call await init() once before batchGradients",
      );
      await (mod as unknown as { init(): Promise<void> }).init();
    } finally {
      wasmApi.Module = Module;
    }
    const plain = await loadModule((await compile(source)).typescript);
    expect(
      relErr(mod.batchGradients(params, batch, 20).loss, plain.batchGradients(params, batch, 20).loss),
    ).toBeLessThan(1e-12);
  });

  it.each([
    ["", {}],
    [", the 4 past the chunk padded", { paddedTailFrom: 1 }],
  ])("f32 kernels agree with float64 finite differences at f32 precision%s", async (_, options) => {
    const source =
      "param W1[9, 6], b1[9], W2[3, 9], b2[3]\ninput x[6], y[3]\nh = tanh(W1 @ x + b1)\nloss = softmax_cross_entropy(W2 @ h + b2, y)\n";
    const m32 = await loadModule((await compile(source, { dtype: "f32", target: "wasm", ...options })).typescript);
    const m64 = await loadModule((await compile(source)).typescript);
    const next = rng(77);
    const params: Values = {};
    for (const [name, shape] of Object.entries(m32.shapes.params))
      params[name] = Float32Array.from({ length: size(shape) }, () => next() - 0.5);
    const n = 20;
    const x = Float32Array.from({ length: n * 6 }, () => next());
    const y = new Float32Array(n * 3);
    for (let s = 0; s < n; s++) y[s * 3 + (s % 3)] = 1;
    const g = m32.batchGradients(params, { x, y }, n);
    const p64: Values = {};
    for (const [k, v] of Object.entries(params)) p64[k] = Float64Array.from(v as Float32Array);
    const loss = (p: Values) => m64.batchGradients(p, { x: Float64Array.from(x), y: Float64Array.from(y) }, n).loss;
    for (const [name, shape] of Object.entries(m32.shapes.params)) {
      for (let i = 0; i < size(shape); i++)
        expect(
          relErr((g.grads[name] as Float32Array)[i], centralDifference(loss, copyValues(p64), name, i), 1e-2),
        ).toBeLessThan(1e-4);
    }
  });
});
