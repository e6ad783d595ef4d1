import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyze, compile, CompileError, explain } from "../src/index.js";
import { expectBatchIsMean } from "./helpers/batch.js";
import { checkProgram } from "./helpers/check.js";
import { loadModule } from "./helpers/module.js";
import { asBatchedProduct } from "../src/shape/contract.js";
import { rankPrograms } from "./rankn-programs.js";

/** `npm run fuzz` sets GRADC_FUZZ=long: more runs and a fresh seed (printed on failure). */
const long = process.env.GRADC_FUZZ === "long";
const seed = long ? Date.now() : 20261201;
const runs = (n: number): fc.Parameters<unknown> => ({ seed, numRuns: long ? n * 10 : n, endOnFailure: true });

describe("rank-N programs agree with central finite differences and the reference evaluator", () => {
  for (const [i, p] of rankPrograms.entries()) {
    it(p.name, async () => {
      await checkProgram(p.name, p.source, 3000 + i);
      await checkProgram(p.name, p.source, 4000 + i);
    });
  }
});

describe("broadcasts in flat loops", () => {
  // a broadcast whose kept axes are one block is read at ⌊i / inner⌋ % block in a flat loop; two
  // blocks or more fall back to one loop per axis. Every pattern agrees with the evaluator and
  // finite differences.
  const dims = (s: readonly number[]) => (s.length ? `[${s.join(", ")}]` : "");
  it("agree with finite differences and the evaluator for any source axes (fast-check)", async () => {
    const shape = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(
        shape,
        fc.nat(),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        async (t, drop, ones) => {
          const lead = drop % (t.length + 1);
          const source = t.slice(lead).map((d, k) => (ones[k] ? 1 : d));
          const src = `param a${dims(t)}, b${dims(source)}\nloss = sum(tanh(a * b + b) * a)\n`;
          await checkProgram(`a${dims(t)} * b${dims(source)}`, src, 7000 + drop);
        },
      ),
      runs(40),
    );
  }, 120_000);

  it("reads a bias, a channel and a row statistic by the flat index, without a nest", async () => {
    const src = "param x[4, 8, 2, 8], g[8, 1, 1], c[8], r[4, 8, 2, 1]\nloss = sum(tanh(x * g + c + r))\n";
    const { typescript } = await compile(src, { prettier: false });
    expect(typescript).not.toMatch(/for \(let i0/);
    expect(typescript).toContain("g[((i / 16) | 0) % 8]");
    expect(typescript).toContain("c[i % 8]");
    expect(typescript).toContain("r[(i / 8) | 0]");
  });
});

describe("products beyond rank 2 reach the matrix schedules", () => {
  it("recognizes an einsum that is a matrix product per batch element, in any axis order", () => {
    expect(asBatchedProduct("abxy,abyz->abxz")).toEqual({ batch: ["a", "b"], i: "x", j: "y", k: "z" });
    expect(asBatchedProduct("ij,jk->ik")).toEqual({ batch: [], i: "i", j: "j", k: "k" });
    expect(asBatchedProduct("ibj,bkj->kbi")).toEqual({ batch: ["b"], i: "i", j: "j", k: "k" });
    // a batch letter of one operand only (shared weights per head, samples of a chunk)
    expect(asBatchedProduct("Zaxy,ayk->Zaxk")).toEqual({ batch: ["Z", "a"], i: "x", j: "y", k: "k" });
    for (const other of ["ij,j->i", "bij,bjk->ik", "ii,ij->ij", "ij,jk->ikl", "ij,kl->ijkl", "ij->ji", "ij,jk->i"])
      expect(asBatchedProduct(other), other).toBeUndefined();
  });

  it("runs a batched Q Kᵀ in 2 × 2 register tiles per head, and X @ W (W shared) as one matrix product", async () => {
    const src =
      "param Q[2, 3, 4], K[2, 3, 4], W[4, 5]\ninput X[2, 3, 4]\nloss = sum(softmax(Q @ transpose(K, [0, 2, 1]))) + sum(tanh(X @ W))\n";
    const a = analyze(src);
    expect(a.forward.nodes.some((n) => n.op === "matmul" && n.shape.join() === "6,5")).toBe(true);
    const { typescript } = await compile(src, { prettier: false });
    const scores = typescript.slice(typescript.indexOf("Q @ transpose(K"));
    expect(scores.slice(0, scores.indexOf("}\n  }\n"))).toMatch(/s0 \+= a0 \* a2/);
  });
});

describe("rank-N programs through batchGradients, both targets", () => {
  const batched = [
    "param W[3, 4], g[4]\ninput x[3]\nh = tanh(x @ W)\nloss = sum(g * (h - mean(h, keepdims=true)) / sqrt(var(h) + 0.001))\n",
    'param W[4, 4]\ninput x[4], y[4]\nS = einsum("i,j->ij", x, x) * W\nloss = sum(softmax(S, axis=0) * y)\n',
    "param T[2, 3, 2]\ninput x[2]\nloss = sum(max(T * x, axis=[0, 2])^2) + sum(T[1, :, ::-1] * x)\n",
    "param a[3], b[2]\ninput x[5]\nloss = huber(concat(a, b) * x, x, delta=0.3) + bce_with_logits(x, sigmoid(x))\n",
    "param E[7, 3], W[4, 3]\ninput ids[3]: int, y: int\nloss = cross_entropy(W @ sum(E[ids], axis=0), y)\n",
    // per-sample heads: Q Kᵀ of two per-sample values (wasm kernels, one call per head and sample)
    "param Wq[4, 4], Wk[4, 4]\ninput X[2, 3, 4]\nS = (X @ Wq) @ transpose(X @ Wk, [0, 2, 1])\nloss = sum(tanh(S)) + sum(softmax(S) * S)\n",
    // a per-sample value times shared per-head weights
    "param A[2, 4, 3]\ninput X[2, 5, 4]\nloss = sum(tanh(X @ A))\n",
    // per-head attention in the [t, h, d] layout: each head's matrices are rows h·d apart (wasm
    // kernels with row strides, one call per sample and head)
    'param Wq[4, 6], Wk[4, 6], Wv[4, 6]\ninput X[3, 4]\nQ = reshape(X @ Wq, [3, 2, 3])\nK = reshape(X @ Wk, [3, 2, 3])\nV = reshape(X @ Wv, [3, 2, 3])\nP = softmax(einsum("thd,shd->hts", Q, K))\nloss = sum(tanh(einsum("hts,shd->thd", P, V)))\n',
    // the same product with C's rows apart and A transposed: Σ_t Q[t, h, d] K[t, h, e] per head
    'param Wq[4, 6], Wk[4, 6]\ninput X[3, 4]\nQ = reshape(X @ Wq, [3, 2, 3])\nK = reshape(X @ Wk, [3, 2, 3])\nloss = sum(sin(einsum("thd,the->dhe", Q, K)))\n',
  ];
  for (const [i, source] of batched.entries()) {
    for (const target of ["ts", "wasm"] as const) {
      it(`${i} (${target})`, async () => {
        await expectBatchIsMean(source, 70 + i, target, 21);
      });
    }
  }
});

/**
 * Random programs over the axis-generic ops: a random shape of rank 1 to 4, then a chain of
 * random reductions (axes, keepdims), permutations, slices (start, stop, negative steps),
 * reshapes, concatenations and einsum contractions, each applied where the current shape allows,
 * every other one inside a `def`.
 */
const dims = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });
type Step = { kind: "reduce" | "permute" | "slice" | "reshape" | "concat" | "einsum" | "softmax"; pick: number[] };
const step: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom("reduce", "permute", "slice", "reshape", "concat", "einsum", "softmax"),
  pick: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
});

/** One source line per step; returns the program and whether it compiled (every step is valid by construction). */
function program(shape: number[], steps: Step[]): string {
  const lines = [`param X[${shape.join(", ")}], w`, `input Z[${shape.join(", ")}]`, "A = X * (1 + Z)"];
  let s = [...shape];
  let cur = "A";
  steps.forEach((st, k) => {
    const p = st.pick;
    const rank = s.length;
    const name = `h${k}`;
    // every other step is a user function of its input, inlined at its call
    const viaDef = p[7] % 2 === 0;
    const input = cur;
    if (viaDef) cur = "v";
    let expr: string;
    let next: number[];
    switch (st.kind) {
      case "reduce": {
        if (rank === 1) {
          cur = input;
          return;
        }
        const axes = [...new Set([p[0] % rank, p[1] % rank])].sort((a, b) => a - b);
        const keep = p[2] % 2 === 0;
        const fn = ["sum", "mean", "max", "min", "var"][p[3] % 5];
        const axisText = axes.length === 1 ? String(p[4] % 2 ? axes[0] - rank : axes[0]) : `[${axes.join(", ")}]`;
        expr = `${fn}(${cur}, axis=${axisText}${keep ? ", keepdims=true" : ""})`;
        next = keep ? s.map((d, a) => (axes.includes(a) ? 1 : d)) : s.filter((_, a) => !axes.includes(a));
        break;
      }
      case "permute": {
        const perm = [...s.keys()].sort((a, b) => ((p[a % 8] * 7 + a) % 11) - ((p[b % 8] * 7 + b) % 11));
        expr = `transpose(${cur}, [${perm.join(", ")}])`;
        next = perm.map((a) => s[a]);
        break;
      }
      case "slice": {
        const parts = s.map((d, a) => {
          const start = p[a] % d;
          const step = p[a + 4] % 3 === 2 ? -1 : 1 + (p[a + 4] % 2);
          return step > 0
            ? { text: `${start}::${step}`, n: Math.ceil((d - start) / step) }
            : { text: `${start}::-1`, n: start + 1 };
        });
        expr = `${cur}[${parts.map((x) => x.text).join(", ")}]`;
        next = parts.map((x) => x.n);
        break;
      }
      case "reshape": {
        const n = s.reduce((a, b) => a * b, 1);
        expr = p[0] % 2 ? `flatten(${cur})` : `reshape(${cur}, [-1, 1])`;
        next = p[0] % 2 ? [n] : [n, 1];
        break;
      }
      case "concat": {
        const axis = p[0] % rank;
        expr = `concat(${cur}, tanh(${cur}), axis=${axis})`;
        next = s.map((d, a) => (a === axis ? 2 * d : d));
        break;
      }
      case "einsum": {
        const letters = "abcd".slice(0, rank);
        const out = [...letters].filter((_, a) => p[a] % 2 === 0).join("");
        expr = `einsum("${letters},${letters}->${out}", ${cur}, sin(${cur}))`;
        next = [...out].map((ch) => s[letters.indexOf(ch)]);
        break;
      }
      case "softmax": {
        const axis = p[0] % rank;
        expr = `softmax(${cur}, axis=${axis})`;
        next = s;
        break;
      }
    }
    if (next.length === 0) {
      cur = input;
      return;
    }
    if (viaDef) lines.push(`def step${k}(v) = ${expr}`, `${name} = step${k}(${input})`);
    else lines.push(`${name} = ${expr}`);
    cur = name;
    s = next;
  });
  lines.push(`loss = sum(tanh(w * ${cur}) * ${cur})`);
  return lines.join("\n") + "\n";
}

describe("random rank-N programs (fast-check)", () => {
  it("compile, their gradients agree with finite differences and the evaluator, and batchGradients (both targets) is the mean", async () => {
    await fc.assert(
      fc.asyncProperty(dims, fc.array(step, { minLength: 1, maxLength: 4 }), fc.nat(), async (shape, steps, s) => {
        const source = program(shape, steps);
        await checkProgram("random", source, s);
        // one in four also through batchGradients (a batch of 5), alternating targets
        if (s % 4 === 0) await expectBatchIsMean(source, s, s % 8 === 0 ? "wasm" : "ts", 5);
      }),
      runs(60),
    );
  }, 240_000);

  it("generated modules are deterministic", async () => {
    const source = program(
      [2, 3, 4],
      [
        { kind: "reduce", pick: [1, 1, 0, 0, 0, 0, 0, 0] },
        { kind: "einsum", pick: [0, 1, 0, 0, 0, 0, 0, 0] },
      ],
    );
    const a = await compile(source);
    const b = await compile(source);
    expect(a.typescript).toBe(b.typescript);
  });
});

/**
 * Edge values of the new constructs, as a careless or hostile user writes them: each compiles
 * or gives exactly these diagnostics, never an exception.
 */
const edges: readonly [string, readonly string[]][] = [
  ["loss = sum(eye(0))", ["E113"]],
  ["loss = sum(arange(-1))", ["E113"]],
  ["loss = sum(eye(2.5))", ["E113"]],
  ["param w\nloss = sum(zeros([-1]) + w)", ["E113"]],
  ["param x[3, 3]\nloss = sum(tril(x, k=100))", []],
  ["param x[6]\nloss = sum(reshape(x, [0, -1]))", ["E208"]],
  ["param x[6]\nloss = sum(reshape(x, [-1, -1]))", ["E208"]],
  ['param x[2, 3]\nloss = sum(einsum("", x))', ["E209"]],
  ['param x[3]\nloss = sum(einsum("i->j", x))', ["E209"]],
  ['param x[3]\nloss = sum(einsum("i,i->i", x))', ["E209"]],
  ['param x[3]\nloss = sum(einsum("i->ii", x))', ["E209"]],
  ["param x[3]\nloss = sum(x[1:1])", ["E215"]],
  ["param x[3]\nloss = sum(x[::0])", ["E214"]],
  ["param x[3]\nloss = sum(x[1.5])", ["E207"]],
  ["param x[3]\nloss = x[-4]", ["E207"]],
  ["param x\nloss = x[0]", ["E203"]],
  ["param x[2, 3]\nloss = sum(transpose(x, [0, 0]))", ["E113"]],
  ["param x[2, 3]\nloss = sum(softmax(x, axis=5))", ["E206"]],
  ["param x[3]\nloss = sum(stack(x, x, axis=5))", ["E206"]],
  ["param x[2, 3]\nloss = sum(flatten(x, start=5))", ["E206"]],
  ["param W[2], w\nloss = sum(full([2], W) + w)", ["E203"]],
  ["param x[2, 3]\nloss = sum(max(x, axis=[]))", []],
  ["param x[2, 3]\nloss = sum(mean(x, axis=[0, 0, 1]))", []],
  ["param x[2, 3]\nloss = sum(max(x, x, axis=1))", ["E113"]],
  ["param x[2, 3]\nloss = sum(sum(x, axis=[[0]]))", ["E113"]],
  ["param x[2]\nloss = sum(where(x))", ["E112", "E112"]],
  ["param x[2]\nloss = sum(x < x < x)", ["E002"]],
  ["param x[2]\nloss = sum(leaky_relu(x, slope=x))", ["E107"]],
  ["param x[2]\nloss = huber(x, x, delta=-1)", ["E113"]],
  ["param x[2]\nloss = sum(ones(2, 3))", ["E105"]],
  ["param x[1, 1, 1, 1, 1, 1, 1, 1, 1]\nloss = sum(x)", ["E213"]],
  ["param A[2, 3, 4], B[5, 4, 2]\nloss = sum(A @ B)", ["E202"]],
  ["param A[1, 3, 4], B[5, 4, 2]\nloss = sum(A @ B)", []],
  ["param x[2, 2]\nloss = sum(x[:, :, :])", ["E203"]],
  ["param x[4]\nloss = sum(x[-10:10:3]) + sum(x[10:-10:-1])", []],
  ["param E[4, 2]\ninput f[3]\nloss = sum(take(E, f))", ["E113"]],
  ["param p: int\nloss = p", ["E120"]],
  ["param W[3]\ninput y: float\nloss = sum(W) * y", ["E002"]],
  ["param Z[4, 3]\ninput labels[3]: int\nloss = cross_entropy(Z, labels)", ["E203"]],
  ["param E[4, 2]\ninput ids[3]: int\nloss = sum(take(E, ids, axis=2))", ["E206"]],
];

describe("edge values of the rank-N constructs", () => {
  for (const [source, codes] of edges) {
    it(JSON.stringify(source), () => {
      let got: string[] = [];
      try {
        analyze(`${source}\n`);
      } catch (e) {
        if (!(e instanceof CompileError)) throw e;
        got = e.diagnostics.map((d) => d.code);
      }
      expect(got).toEqual(codes);
    });
  }
});

describe("integer data at run time", () => {
  it("an index out of range is a RangeError naming the expression, never a silent NaN", async () => {
    const src = "param E[5, 2]\ninput ids[3]: int\nloss = sum(E[ids]^2)\n";
    const mod = await loadModule((await compile(src)).typescript);
    expect(mod.integers).toEqual({ ids: 5 });
    const params = { E: new Float64Array(10).fill(0.5) };
    expect(mod.loss(params, { ids: Int32Array.of(0, 4, 4) as never })).toBeCloseTo(1.5, 12);
    for (const bad of [5, -1])
      expect(() => mod.loss(params, { ids: Int32Array.of(0, bad, 1) as never })).toThrow(
        new RangeError(`gradc: E[ids]: index ${bad} is out of range 0..4`),
      );
    // the argument checks: integer data is an Int32Array
    expect(() => mod.gradients(params, { ids: Float64Array.of(0, 1.5, 1) as never })).toThrow(
      new TypeError("gradc: inputs.ids must be an Int32Array of 3 numbers ([3], row-major); got a Float64Array of 3"),
    );
  });
  it("the labels of cross_entropy are checked too", async () => {
    const mod = await loadModule(
      (await compile("param W[3, 2]\ninput x[2], y: int\nloss = cross_entropy(W @ x, y)\n")).typescript,
    );
    expect(mod.integers).toEqual({ y: 3 });
    const p = { W: new Float64Array(6).fill(0.1) };
    expect(() => mod.loss(p, { x: Float64Array.of(1, 2), y: 3 })).toThrow(/out of range 0..2/);
    // log 3: uniform logits
    expect(mod.loss({ W: new Float64Array(6) }, { x: Float64Array.of(1, 2), y: 2 })).toBeCloseTo(Math.log(3), 12);
  });
});

describe("explain --at with integer inputs", () => {
  const source =
    "param E[6, 2], W[3, 2]\ninput ids[4]: int, y: int\nloss = cross_entropy(W @ mean(E[ids], axis=0), y)\n";
  it("--at random draws each integer input from its valid range", () => {
    for (const seed of [1, 2, 3, 4]) {
      const table = explain(source, { at: `random:${seed}` }).derivation.table!;
      const row = (tex: string) => [...table.find((r) => r.symbol.includes(tex))!.value];
      for (const v of row("ids")) expect(Number.isInteger(v) && v >= 0 && v < 6, `ids = ${v}`).toBe(true);
      const [y] = row("y");
      expect(Number.isInteger(y) && y >= 0 && y < 3, `y = ${y}`).toBe(true);
    }
  });
  it("a given integer input must hold whole numbers in range", () => {
    const at = "E=[1,2,3,4,5,6,7,8,9,10,11,12],W=[1,2,3,4,5,6],ids=[0,1,2,6],y=1";
    expect(() => explain(source, { at })).toThrow(
      "--at: 'ids' is integer data: its values are whole numbers from 0 to 5",
    );
    expect(() => explain(source, { at: at.replace("ids=[0,1,2,6]", "ids=[0,1,2,0.5]") })).toThrow(
      /'ids' is integer data/,
    );
    expect(explain(source, { at: at.replace("ids=[0,1,2,6]", "ids=[0,1,2,5]") }).text).toContain("ids");
  });
});
