// npm run bench: gradc's generated code against hand-written loops, TF.js (cpu, wasm), jax-js
// (wasm) and gradc's own reference evaluator, in one process, in alternating rounds.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { init as jaxInit, defaultDevice, jit, lax, nn, numpy as np, valueAndGrad } from "@jax-js/jax";
import { analyze, compile, evaluate, explain, type Graph } from "../src/index.js";
import { loadModule, rng, type GeneratedModule } from "../test/helpers/module.js";
import { assemble } from "../src/emit/wasm/kernels.js";
import { flopCount } from "../src/batch/cost.js";
import * as hand from "./handwritten.js";
import { registerConv2DBackpropFilter } from "./tfjs-kernels.js";

const ROUNDS = 9;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 120);

type Step = () => { loss: number; grads: Record<string, ArrayLike<number>> };
interface Impl {
  readonly name: string;
  /** one forward+backward step that returns its results */
  readonly step: Step;
  /** the same step, timed: without collecting its results into new objects */
  readonly run?: () => unknown;
  /** float32 implementations agree to a looser tolerance */
  readonly f32?: boolean;
}
interface Case {
  readonly name: string;
  readonly flops: number;
  readonly impls: Impl[];
  readonly gradc: string;
}

// ---- helpers ----------------------------------------------------------------------------------
const next = rng(2026);
const uniform = (n: number, scale = 1) => Float64Array.from({ length: n }, () => (next() * 2 - 1) * scale);
const arr = (v: ArrayLike<number> | number) => (typeof v === "number" ? [v] : Array.from(v));
async function generated(
  file: string,
  dtype: "f64" | "f32" = "f64",
  target: "ts" | "wasm" = "ts",
): Promise<GeneratedModule> {
  return loadModule((await compile(readFileSync(file, "utf8"), { filename: file, dtype, target })).typescript);
}

/**
 * The WebAssembly SIMD multiply-add peak (f32x4): eight independent accumulators updated from
 * registers, enough to hide the add latency, so neither memory nor dependency chains limit it.
 */
async function wasmPeakGflops(): Promise<number> {
  const steps = 4096;
  const accs = Array.from({ length: 8 }, (_, k) => `$a${k}`);
  const body = `(func (export "peak") (param $x f32) (result f32) (local $t i32) (local $v v128) (local $w v128) ${accs.map((a) => `(local ${a} v128)`).join(" ")}
    (local.set $v (f32x4.splat (local.get $x))) (local.set $w (f32x4.splat (f32.sub (f32.const 1) (local.get $x))))
    (block $done (loop $next (br_if $done (i32.ge_u (local.get $t) (i32.const ${steps})))
      ${accs.map((a) => `(local.set ${a} (f32x4.add (local.get ${a}) (f32x4.mul (local.get $v) (local.get $w))))`).join("\n      ")}
      (local.set $t (i32.add (local.get $t) (i32.const 1))) (br $next)))
    (f32x4.extract_lane 0 ${accs.reduce((x, y) => `(f32x4.add ${x} (local.get ${y}))`, "(v128.const i32x4 0 0 0 0)")}))`;
  const bytes = await assemble(`(module (import "gradc" "memory" (memory 1)) ${body})`);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const peak = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { gradc: { memory } })
    .exports.peak as (x: number) => number;
  timeSteps(() => peak(0.25), 100); // warm-up: the first run includes tiering up to optimized code
  const us = timeSteps(() => peak(0.25), 300);
  return (steps * accs.length * 4 * 2) / (us * 1000);
}

/** FLOPs of one forward+backward step, counted from gradc's optimized graph (src/batch/cost.ts). */
function flops(g: Graph): number {
  const { products, elementwise } = flopCount(g);
  return products + elementwise;
}

/** a round's length: the evaluator and the peers (slower per step, and not what is tuned here) get half */
const roundMs = (name: string) =>
  name.includes("evaluator") || name.startsWith("TF") || name.startsWith("jax") ? ROUND_MS / 2 : ROUND_MS;

function timeSteps(step: () => unknown, ms: number): number {
  // steps per round: enough to fill `ms`, estimated from a short run
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) step();
    const dt = performance.now() - t0;
    if (dt > ms / 4 || n > 1e7) {
      const reps = Math.max(1, Math.round((n * ms) / Math.max(dt, 1e-3)));
      const t1 = performance.now();
      for (let i = 0; i < reps; i++) step();
      return ((performance.now() - t1) * 1000) / reps;
    }
    n *= 4;
  }
}

/** A typed-array multiply-add loop's rate on this core: the practical ceiling of scalar JS. */
function peakGflops(): number {
  const a = uniform(4096),
    b = uniform(4096);
  let sink = 0;
  const us = timeSteps(() => {
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    for (let i = 0; i < 4096; i += 4) {
      s0 += a[i] * b[i];
      s1 += a[i + 1] * b[i + 1];
      s2 += a[i + 2] * b[i + 2];
      s3 += a[i + 3] * b[i + 3];
    }
    sink += s0 + s1 + s2 + s3;
  }, 300);
  if (sink === 42) console.log("");
  return (2 * 4096) / (us * 1000);
}

// ---- the cases ----------------------------------------------------------------------------------
async function lectureCase(): Promise<Case> {
  const mod = await generated("examples/lecture.grad");
  const a = analyze(readFileSync("examples/lecture.grad", "utf8"));
  const p = { w: 0.5, b: -1 },
    x = 2,
    y = 1;
  const inputs = { x, y };
  const out = mod.createResult();
  const h = { loss: 0, grads: { w: 0, b: 0 } };
  const tfState = perBackend(() => {
    const w = tf.scalar(p.w),
      b = tf.scalar(p.b),
      tx = tf.scalar(x),
      ty = tf.scalar(y);
    return {
      w,
      b,
      vg: tf.valueAndGrads(
        (w: tf.Tensor, b: tf.Tensor) =>
          tf.sigmoid(w.mul(tx).add(b)).sub(ty).square().mul(0.5).add(w.square().mul(0.5)) as tf.Scalar,
      ),
    };
  });
  const tfStep: Step = () => {
    const { w, b, vg } = tfState();
    const { value, grads } = vg([w, b]);
    return tfResult(value, grads, ["w", "b"]);
  };
  const jvg = jit(
    valueAndGrad((q: { w: np.Array; b: np.Array }, x: np.Array, y: np.Array) => {
      const d = nn.sigmoid(q.w.ref.mul(x).add(q.b)).sub(y);
      return d.ref.mul(d).mul(0.5).add(q.w.ref.mul(q.w).mul(0.5));
    }),
  );
  const jw = np.array(p.w),
    jb = np.array(p.b);
  const jaxStep: Step = () => {
    const [v, g] = jvg({ w: jw.ref, b: jb.ref }, np.array(x), np.array(y));
    return { loss: v.dataSync()[0], grads: { w: g.w.dataSync(), b: g.b.dataSync() } };
  };
  return {
    name: "lecture 4.6.1 f(w,b), scalar",
    gradc: "gradc",
    flops: flops(a.ir),
    impls: [
      {
        name: "gradc",
        run: () => mod.gradients(p, inputs, out),
        step: () => {
          const r = mod.gradients(p, inputs, out);
          return { loss: r.loss, grads: { w: [r.grads.w as number], b: [r.grads.b as number] } };
        },
      },
      {
        name: "hand-written",
        run: () => hand.lecture(p, inputs, h),
        step: () => {
          hand.lecture(p, inputs, h);
          return { loss: h.loss, grads: { w: [h.grads.w], b: [h.grads.b] } };
        },
      },
      { name: "TF.js cpu", step: tfStep, f32: true },
      { name: "TF.js wasm", step: tfStep, f32: true },
      { name: "jax-js wasm", step: jaxStep, f32: true },
      {
        name: "gradc evaluator",
        step: () => {
          const r = evaluate(a.differentiated, p, { x, y });
          return { loss: r.loss, grads: { w: [r.grads.w as number], b: [r.grads.b as number] } };
        },
      },
    ],
  };
}

async function chainCase(): Promise<Case> {
  const L = 50;
  const mod = await generated("examples/chain.grad");
  const a = analyze(readFileSync("examples/chain.grad", "utf8"));
  const w = uniform(L),
    b = uniform(L),
    x = 0.3,
    y = 0.8;
  const params: Record<string, number> = {};
  for (let k = 1; k <= L; k++) {
    params[`w_${k}`] = w[k - 1];
    params[`b_${k}`] = b[k - 1];
  }
  const out = mod.createResult();
  const inputs = { x, y };
  const handChain = hand.makeChain(L);
  const handOut = {
    loss: 0,
    grads: Object.fromEntries(Object.keys(params).map((k) => [k, 0])) as Record<string, number>,
  };
  const names = Object.keys(params);
  const collect = (r: { loss: number; grads: Record<string, unknown> }) => ({
    loss: r.loss,
    grads: Object.fromEntries(names.map((n) => [n, [r.grads[n] as number]])),
  });
  const tfState = perBackend(() => ({
    ps: [...[...w].map((v) => tf.scalar(v)), ...[...b].map((v) => tf.scalar(v))],
    vg: tf.valueAndGrads((...ps: tf.Tensor[]) => {
      let h: tf.Tensor = tf.scalar(x);
      for (let k = 0; k < L; k++) h = tf.sigmoid(ps[k].mul(h).add(ps[L + k]));
      return h.sub(y).square().mul(0.5) as tf.Scalar;
    }),
  }));
  const order = [...Array(L).keys()].map((k) => `w_${k + 1}`).concat([...Array(L).keys()].map((k) => `b_${k + 1}`));
  const tfStep: Step = () => {
    const { ps, vg } = tfState();
    const { value, grads } = vg(ps);
    return tfResult(value, grads, order);
  };
  const jvg = jit(
    valueAndGrad((q: { w: np.Array[]; b: np.Array[] }, x: np.Array, y: np.Array) => {
      let h = x;
      for (let k = 0; k < L; k++) h = nn.sigmoid(q.w[k].mul(h).add(q.b[k]));
      const d = h.sub(y);
      return d.ref.mul(d).mul(0.5);
    }),
  );
  const jw = [...w].map((v) => np.array(v)),
    jb = [...b].map((v) => np.array(v));
  const jaxStep: Step = () => {
    const [v, g] = jvg({ w: jw.map((t) => t.ref), b: jb.map((t) => t.ref) }, np.array(x), np.array(y));
    const grads: Record<string, ArrayLike<number>> = {};
    for (let k = 0; k < L; k++) {
      grads[`w_${k + 1}`] = g.w[k].dataSync();
      grads[`b_${k + 1}`] = g.b[k].dataSync();
    }
    return { loss: v.dataSync()[0], grads };
  };
  return {
    name: "4.3 sigmoid chain, L = 50, scalar",
    gradc: "gradc",
    flops: flops(a.ir),
    impls: [
      {
        name: "gradc",
        run: () => mod.gradients(params, inputs, out),
        step: () => collect(mod.gradients(params, inputs, out)),
      },
      {
        name: "hand-written",
        run: () => handChain(params, inputs, handOut),
        step: () => {
          handChain(params, inputs, handOut);
          return collect(handOut);
        },
      },
      { name: "TF.js cpu", step: tfStep, f32: true },
      { name: "TF.js wasm", step: tfStep, f32: true },
      { name: "jax-js wasm", step: jaxStep, f32: true },
      { name: "gradc evaluator", step: () => collect(evaluate(a.differentiated, params, { x, y })) },
    ],
  };
}

/** The two ways to write a dense layer that the MLP cases compare (issue: speed in any layout). */
type Layout = "W @ x" | "x @ W";

/**
 * The MNIST MLP 784-128-10 at batch n in one layout: PyTorch's (examples/mlp.grad, W1[128, 784],
 * W1 @ x) or JAX's and Keras's (examples/mlp-xw.grad, W1[784, 128], x @ W1): gradc's two targets
 * in f64 and f32, the hand-written code of that layout (bench/handwritten.ts), TF.js and jax-js.
 */
async function mlpCase(n: number, layout: Layout = "W @ x"): Promise<Case> {
  const file = layout === "W @ x" ? "examples/mlp.grad" : "examples/mlp-xw.grad";
  const mod = await generated(file);
  const mod32 = await generated(file, "f32");
  const wasm64 = await generated(file, "f64", "wasm");
  const wasm32 = await generated(file, "f32", "wasm");
  const a = analyze(readFileSync(file, "utf8"));
  const p = { W1: uniform(128 * 784, 0.05), b1: uniform(128, 0.1), W2: uniform(1280, 0.1), b2: uniform(10, 0.1) };
  const p32 = {
    W1: Float32Array.from(p.W1),
    b1: Float32Array.from(p.b1),
    W2: Float32Array.from(p.W2),
    b2: Float32Array.from(p.b2),
  };
  const X = Float64Array.from({ length: n * 784 }, () => next());
  const Y = new Float64Array(n * 10);
  for (let s = 0; s < n; s++) Y[s * 10 + (s % 10)] = 1;
  const X32 = Float32Array.from(X),
    Y32 = Float32Array.from(Y);
  const out = mod.createResult(),
    out32 = mod32.createResult();
  const outW64 = wasm64.createResult(),
    outW32 = wasm32.createResult();
  const g64 = {
    W1: new Float64Array(128 * 784),
    b1: new Float64Array(128),
    W2: new Float64Array(1280),
    b2: new Float64Array(10),
  };
  const g32 = {
    W1: new Float32Array(128 * 784),
    b1: new Float32Array(128),
    W2: new Float32Array(1280),
    b2: new Float32Array(10),
  };
  const ws64 = hand.mlpWorkspace((k) => new Float64Array(k)),
    ws32 = hand.mlpWorkspace((k) => new Float32Array(k));
  const handStep = <A extends Float64Array | Float32Array>(
    P: hand.Mlp<A>,
    x: A,
    y: A,
    g: hand.Mlp<A>,
    ws: ReturnType<typeof hand.mlpWorkspace<A>>,
  ): (() => number) => {
    if (layout === "W @ x") {
      const f = hand.makeMlp<A>();
      return () => f(P, x, y, n, g, ws);
    }
    if (n === 1) {
      const f = hand.makeMlpXW<A>();
      return () => f(P, x, y, g, ws);
    }
    const f = hand.makeMlpXWBatch<A>();
    return () => f(P, x, y, n, g, ws);
  };
  const hand64 = handStep(p, X, Y, g64, ws64),
    hand32 = handStep(p32, X32, Y32, g32, ws32);
  const grads = (r: { grads: Record<string, unknown> }) => ({
    W1: r.grads.W1 as ArrayLike<number>,
    b1: r.grads.b1 as ArrayLike<number>,
    W2: r.grads.W2 as ArrayLike<number>,
    b2: r.grads.b2 as ArrayLike<number>,
  });
  const gradcStep = (
    m: GeneratedModule,
    P: typeof p | typeof p32,
    x: Float64Array | Float32Array,
    y: Float64Array | Float32Array,
    o: ReturnType<GeneratedModule["createResult"]>,
  ): Step =>
    n === 1
      ? () => {
          const r = m.gradients(P, { x, y }, o);
          return { loss: r.loss, grads: grads(r) };
        }
      : () => {
          const r = m.batchGradients(P, { x, y }, n, o);
          return { loss: r.loss, grads: grads(r) };
        };
  // the layer's product in each library, in the case's layout: X W1ᵀ (W @ x) or X W1 (x @ W)
  const wx = layout === "W @ x";
  const [s1, s2] = wx ? [[128, 784] as const, [10, 128] as const] : [[784, 128] as const, [128, 10] as const];
  // TF.js: the batch as matrices, mean of logsumexp(z) - sum(y z) per row
  const tfState = perBackend(() => {
    const ps = [tf.tensor2d(p32.W1, [...s1]), tf.tensor1d(p32.b1), tf.tensor2d(p32.W2, [...s2]), tf.tensor1d(p32.b2)];
    const tX = tf.tensor2d(X32, [n, 784]),
      tY = tf.tensor2d(Y32, [n, 10]);
    const vg = tf.valueAndGrads((W1: tf.Tensor, b1: tf.Tensor, W2: tf.Tensor, b2: tf.Tensor) => {
      const h = tf.relu(tf.matMul(tX, W1 as tf.Tensor2D, false, wx).add(b1));
      const z = tf.matMul(h as tf.Tensor2D, W2 as tf.Tensor2D, false, wx).add(b2);
      return tf
        .logSumExp(z, 1)
        .sub(tf.sum(tY.mul(z), 1))
        .mean() as tf.Scalar;
    });
    return { ps, vg };
  });
  const tfStep: Step = () => {
    const { ps, vg } = tfState();
    const { value, grads } = vg(ps);
    return tfResult(value, grads, ["W1", "b1", "W2", "b2"]);
  };
  const jvg = jit(
    valueAndGrad((q: { W1: np.Array; b1: np.Array; W2: np.Array; b2: np.Array }, X: np.Array, Y: np.Array) => {
      const h = nn.relu(np.matmul(X, wx ? np.transpose(q.W1) : q.W1).add(q.b1));
      const z = np.matmul(h, wx ? np.transpose(q.W2) : q.W2).add(q.b2);
      return nn
        .logsumexp(z.ref, -1)
        .sub(np.sum(Y.mul(z), -1))
        .mean();
    }),
  );
  const jp = {
    W1: np.array(p32.W1).reshape([...s1]),
    b1: np.array(p32.b1),
    W2: np.array(p32.W2).reshape([...s2]),
    b2: np.array(p32.b2),
  };
  const jX = np.array(X32).reshape([n, 784]),
    jY = np.array(Y32).reshape([n, 10]);
  const jaxStep: Step = () => {
    const [v, g] = jvg({ W1: jp.W1.ref, b1: jp.b1.ref, W2: jp.W2.ref, b2: jp.b2.ref }, jX.ref, jY.ref);
    return {
      loss: v.dataSync()[0],
      grads: { W1: g.W1.dataSync(), b1: g.b1.dataSync(), W2: g.W2.dataSync(), b2: g.b2.dataSync() },
    };
  };
  return {
    name: !wx
      ? `the MLP written x @ W + b (W1[784, 128]), batch ${n}${n > 1 ? " (mean loss)" : ""}`
      : n === 1
        ? "MLP 784-128-10 relu + softmax CE, batch 1"
        : `same MLP, batch ${n} (mean loss)`,
    gradc: "gradc",
    flops: flops(a.ir) * n,
    impls: [
      { name: "gradc", step: gradcStep(mod, p, X, Y, out) },
      { name: "gradc f32", step: gradcStep(mod32, p32, X32, Y32, out32), f32: true },
      { name: "gradc wasm", step: gradcStep(wasm64, p, X, Y, outW64) },
      { name: "gradc wasm f32", step: gradcStep(wasm32, p32, X32, Y32, outW32), f32: true },
      { name: "hand-written", step: () => ({ loss: hand64(), grads: g64 }), run: hand64 },
      { name: "hand-written f32", step: () => ({ loss: hand32(), grads: g32 }), run: hand32, f32: true },
      { name: "TF.js cpu", step: tfStep, f32: true },
      { name: "TF.js wasm", step: tfStep, f32: true },
      { name: "jax-js wasm", step: jaxStep, f32: true },
      ...(n === 1 && wx
        ? [
            {
              name: "gradc evaluator",
              step: (() => {
                const r = evaluate(a.differentiated, p, { x: X, y: Y });
                return { loss: r.loss, grads: grads(r) };
              }) as Step,
            },
          ]
        : []),
    ],
  };
}

/** m [rows, cols] transposed, row-major */
const T = (m: Float64Array, rows: number, cols: number) =>
  Float64Array.from({ length: m.length }, (_, i) => m[(i % rows) * cols + Math.floor(i / rows)]);
/** the MLP's W @ x weight gradients, transposed into the x @ W layout, so both layouts' results compare */
const asXW = (r: { loss: number; grads: Record<string, unknown> }) => ({
  loss: r.loss,
  grads: {
    W1: T(r.grads.W1 as Float64Array, 128, 784),
    b1: r.grads.b1 as Float64Array,
    W2: T(r.grads.W2 as Float64Array, 10, 128),
    b2: r.grads.b2 as Float64Array,
  },
});

/**
 * A batch of 32 written as a matrix (examples/batch-mlp.grad: X[32, 784] @ W1, int labels)
 * through gradients(): the third path to the same numbers, in both targets and precisions,
 * against the hand-written batch code of that layout, jax-js, and batchGradients on the
 * per-sample W @ x program (weights transposed to agree).
 */
async function batchAsMatrixCase(): Promise<Case> {
  const file = "examples/batch-mlp.grad";
  const xw = await generated(file);
  const xw32 = await generated(file, "f32");
  const xwWasm32 = await generated(file, "f32", "wasm");
  const wx = await generated("examples/mlp.grad");
  const a = analyze(readFileSync(file, "utf8"));
  const n = 32;
  const p = { W1: uniform(784 * 128, 0.05), b1: uniform(128, 0.1), W2: uniform(128 * 10, 0.1), b2: uniform(10, 0.1) };
  const p32 = {
    W1: Float32Array.from(p.W1),
    b1: Float32Array.from(p.b1),
    W2: Float32Array.from(p.W2),
    b2: Float32Array.from(p.b2),
  };
  const pt = { W1: T(p.W1, 784, 128), b1: p.b1, W2: T(p.W2, 128, 10), b2: p.b2 };
  const X = Float64Array.from({ length: n * 784 }, () => next());
  const X32 = Float32Array.from(X);
  const labels = Int32Array.from({ length: n }, (_, s) => (s * 7) % 10);
  const Y = new Float64Array(n * 10);
  labels.forEach((l, s) => (Y[s * 10 + l] = 1));
  const Y32 = Float32Array.from(Y);
  const [out, out32, outW32, outWX] = [xw, xw32, xwWasm32, wx].map((m) => m.createResult());
  const zeros = <A extends Float64Array | Float32Array>(make: (k: number) => A) => ({
    W1: make(784 * 128),
    b1: make(128),
    W2: make(1280),
    b2: make(10),
  });
  const gt = zeros((k) => new Float64Array(k));
  const [g64, g32] = [zeros((k) => new Float64Array(k)), zeros((k) => new Float32Array(k))];
  const ws64 = hand.mlpWorkspace((k) => new Float64Array(k), n),
    ws32 = hand.mlpWorkspace((k) => new Float32Array(k), n);
  const mlpWX = hand.makeMlp<Float64Array>();
  const [xwb64, xwb32] = [hand.makeMlpXWBatch<Float64Array>(), hand.makeMlpXWBatch<Float32Array>()];
  const jvg = jit(
    valueAndGrad((q: { W1: np.Array; b1: np.Array; W2: np.Array; b2: np.Array }, X: np.Array, Y: np.Array) => {
      const h = nn.relu(np.matmul(X, q.W1).add(q.b1));
      const z = np.matmul(h, q.W2).add(q.b2);
      return nn
        .logsumexp(z.ref, -1)
        .sub(np.sum(Y.mul(z), -1))
        .mean();
    }),
  );
  const jp = {
    W1: np.array(p32.W1).reshape([784, 128]),
    b1: np.array(p32.b1),
    W2: np.array(p32.W2).reshape([128, 10]),
    b2: np.array(p32.b2),
  };
  const jX = np.array(X32).reshape([n, 784]),
    jY = np.array(Y32).reshape([n, 10]);
  return {
    name: "the MLP on a batch of 32 written as a matrix (X[32, 784] @ W1) through gradients()",
    gradc: "gradc",
    flops: flops(a.ir),
    impls: [
      { name: "gradc", step: () => xw.gradients(p, { X, labels } as never, out) as ReturnType<Step> },
      {
        name: "gradc f32",
        step: () => xw32.gradients(p32, { X: X32, labels } as never, out32) as ReturnType<Step>,
        f32: true,
      },
      {
        name: "gradc wasm f32",
        step: () => xwWasm32.gradients(p32, { X: X32, labels } as never, outW32) as ReturnType<Step>,
        f32: true,
      },
      {
        name: "gradc W @ x, batchGradients()",
        step: () => asXW(wx.batchGradients(pt, { x: X, y: Y }, n, outWX)),
        run: () => wx.batchGradients(pt, { x: X, y: Y }, n, outWX),
      },
      {
        name: "hand-written",
        step: () => ({ loss: xwb64(p, X, Y, n, g64, ws64), grads: g64 }),
        run: () => xwb64(p, X, Y, n, g64, ws64),
      },
      {
        name: "hand-written f32",
        step: () => ({ loss: xwb32(p32, X32, Y32, n, g32, ws32), grads: g32 }),
        run: () => xwb32(p32, X32, Y32, n, g32, ws32),
        f32: true,
      },
      {
        name: "hand-written W @ x, batch",
        step: () => asXW({ loss: mlpWX(pt, X, Y, n, gt, ws64), grads: gt }),
        run: () => mlpWX(pt, X, Y, n, gt, ws64),
      },
      {
        name: "jax-js wasm",
        step: () => {
          const [v, g] = jvg({ W1: jp.W1.ref, b1: jp.b1.ref, W2: jp.W2.ref, b2: jp.b2.ref }, jX.ref, jY.ref);
          return {
            loss: v.dataSync()[0],
            grads: { W1: g.W1.dataSync(), b1: g.b1.dataSync(), W2: g.W2.dataSync(), b2: g.b2.dataSync() },
          };
        },
        f32: true,
      },
    ],
  };
}

// ---- running ------------------------------------------------------------------------------------
/** read a TF.js step's results into arrays and free its tensors */
/**
 * The transformer block (examples/transformer.grad) at one sequence of 16 tokens of width 64:
 * gradc's TypeScript (f64) and its wasm f32 module, against the same block in TF.js (cpu),
 * written from the .grad source op for op.
 */
async function transformerCase(n: number): Promise<Case> {
  const file = n === 1 ? "examples/transformer.grad" : "examples/transformer-batch.grad";
  const mod = await generated(file);
  const mod32 = await generated(file, "f32", "wasm");
  const [one, one32] =
    n === 1
      ? [mod, mod32]
      : [await generated("examples/transformer.grad"), await generated("examples/transformer.grad", "f32", "wasm")];
  // one sequence [T, d], or the batch [n, T, d]
  const lead = n === 1 ? [] : [n];
  const seq = [...lead, 16, 64];
  const a = analyze(readFileSync(file, "utf8"));
  const shapes = mod.shapes.params as Record<string, readonly number[]>;
  const names = Object.keys(shapes);
  const scaleOf = (n: string) => (n.startsWith("g") ? 0 : n.startsWith("W") ? 0.12 : 0.05);
  const p: Record<string, Float64Array> = {};
  for (const n of names) {
    const k = shapes[n].reduce((x, y) => x * y, 1);
    // layer norm's gains start at 1, the rest small
    p[n] = n.startsWith("g") ? Float64Array.from({ length: k }, () => 1 + next() * 0.1) : uniform(k, scaleOf(n));
  }
  const p32 = Object.fromEntries(names.map((n) => [n, Float32Array.from(p[n])]));
  const X = uniform(n * 16 * 64),
    Y = uniform(n * 16 * 64);
  const [X32, Y32] = [Float32Array.from(X), Float32Array.from(Y)];
  const out = mod.createResult(),
    out32 = mod32.createResult(),
    outOne = one.createResult(),
    outOne32 = one32.createResult();
  const tfState = perBackend(() => {
    const ps = names.map((n) => tf.tensor(p32[n], [...shapes[n]]));
    const x = tf.tensor(X32, seq),
      y = tf.tensor(Y32, seq);
    const causal = tf.linalg.bandPart(tf.ones([16, 16]), -1, 0).greater(0);
    const layerNorm = (h: tf.Tensor, g: tf.Tensor, c: tf.Tensor) => {
      const mean = h.mean(-1, true);
      const d = h.sub(mean);
      return d.div(d.square().mean(-1, true).add(1e-5).sqrt()).mul(g).add(c);
    };
    // [.., T, d] -> [.., heads, T, 16] and back
    const heads = (t: tf.Tensor) => t.reshape([...lead, 16, 4, 16]).transpose(n === 1 ? [1, 0, 2] : [0, 2, 1, 3]);
    const f = (...q: tf.Tensor[]) => {
      const v = Object.fromEntries(names.map((n, i) => [n, q[i]]));
      // h [.., T, k] @ W [k, m], the rows of every sequence stacked
      const mm = (h: tf.Tensor, W: tf.Tensor) =>
        h
          .reshape([-1, W.shape[0]])
          .matMul(W)
          .reshape([...lead, 16, W.shape[1]]);
      const A = layerNorm(x, v.g1, v.c1);
      const S = heads(mm(A, v.Wq))
        .matMul(heads(mm(A, v.Wk)), false, true)
        .div(4);
      const P = tf.softmax(tf.where(tf.broadcastTo(causal, S.shape), S, tf.fill(S.shape, -1e9)));
      const O = P.matMul(heads(mm(A, v.Wv)))
        .transpose(n === 1 ? [1, 0, 2] : [0, 2, 1, 3])
        .reshape(seq);
      const H = x.add(mm(O, v.Wo));
      const z1 = mm(layerNorm(H, v.g2, v.c2), v.W1).add(v.b1);
      const gelu = z1.mul(tf.erf(z1.mul(Math.SQRT1_2)).add(1)).mul(0.5);
      const Z = H.add(mm(gelu, v.W2)).add(v.b2);
      return Z.sub(y).square().mean() as tf.Scalar;
    };
    return { ps, vg: tf.valueAndGrads(f) };
  });
  const tfStep: Step = () => {
    const { ps, vg } = tfState();
    const { value, grads } = vg(ps);
    return tfResult(value, grads, names);
  };
  // jax-js (jit): the same block; each array is used once unless taken with .ref
  const jvg = jit(
    valueAndGrad((q: Record<string, np.Array>, x: np.Array, y: np.Array) => {
      const layerNorm = (h: np.Array, g: np.Array, c: np.Array) =>
        nn.standardize(h, -1, { epsilon: 1e-5 }).mul(g).add(c);
      const A = layerNorm(x.ref, q.g1, q.c1);
      const split = (t: np.Array) => t.reshape([...lead, 16, 4, 16]);
      const Q = split(np.matmul(A.ref, q.Wq));
      const K = split(np.matmul(A.ref, q.Wk));
      const V = split(np.matmul(A, q.Wv));
      // (jax-js's einsum parses its subscripts with Node 22's iterator helpers: matmuls of transposes)
      const [th, tk] =
        n === 1
          ? [
              [1, 0, 2],
              [1, 2, 0],
            ]
          : [
              [0, 2, 1, 3],
              [0, 2, 3, 1],
            ];
      const S = np.matmul(Q.transpose(th), K.transpose(tk)).div(4);
      const P = nn.softmax(np.where(np.greater(np.tril(np.ones([16, 16])), 0), S, -1e9), -1);
      const O = np.matmul(P, V.transpose(th)).transpose(th).reshape(seq);
      const H = x.add(np.matmul(O, q.Wo));
      const M = layerNorm(H.ref, q.g2, q.c2);
      const Z = H.add(np.matmul(nn.gelu(np.matmul(M, q.W1).add(q.b1), { approximate: false }), q.W2)).add(q.b2);
      const d = Z.sub(y);
      return d.ref.mul(d).mean();
    }),
  );
  const jp = Object.fromEntries(names.map((n) => [n, np.array(p32[n]).reshape([...shapes[n]])]));
  const [jX, jY] = [np.array(X32).reshape(seq), np.array(Y32).reshape(seq)];
  const jaxStep: Step = () => {
    const [v, g] = jvg(Object.fromEntries(names.map((n) => [n, jp[n].ref])), jX.ref, jY.ref);
    return { loss: v.dataSync()[0], grads: Object.fromEntries(names.map((n) => [n, g[n].dataSync()])) };
  };
  return {
    name:
      n === 1
        ? "transformer block (T = 16, d = 64, 4 heads), one sequence"
        : `transformer block (T = 16, d = 64, 4 heads), a batch of ${n} sequences, [${n}, 16, 64]`,
    gradc: "gradc",
    flops: flops(a.ir),
    impls: [
      { name: "gradc", step: () => mod.gradients(p, { X, Y }, out) as ReturnType<Step> },
      {
        name: "gradc --target wasm --dtype f32",
        step: () => mod32.gradients(p32, { X: X32, Y: Y32 }, out32) as ReturnType<Step>,
        f32: true,
      },
      ...(n === 1
        ? []
        : [
            {
              name: "gradc, one sequence's batchGradients()",
              step: () => one.batchGradients(p, { X, Y }, n, outOne) as ReturnType<Step>,
            },
            {
              name: "gradc --target wasm --dtype f32, one sequence's batchGradients()",
              step: () => one32.batchGradients(p32, { X: X32, Y: Y32 }, n, outOne32) as ReturnType<Step>,
              f32: true,
            },
          ]),
      { name: "TF.js cpu", step: tfStep, f32: true },
      { name: "TF.js wasm", step: tfStep, f32: true },
      { name: "jax-js wasm", step: jaxStep, f32: true },
    ],
  };
}

/**
 * LeNet-5 on one digit (examples/lenet.grad) or on a batch of 32 written as [N, 1, 28, 28]
 * (examples/lenet-batch.grad, the mean cross-entropy; also the one-digit module's
 * batchGradients): gradc's two targets against the same network in TF.js (cpu; NHWC, its layout,
 * with the weights laid out for it and the gradients laid back) and jax-js (jit; NCHW, as gradc).
 */
async function lenetCase(n: number): Promise<Case> {
  const file = n === 1 ? "examples/lenet.grad" : "examples/lenet-batch.grad";
  const mod = await generated(file);
  const mod32 = await generated(file, "f32", "wasm");
  const [one, one32] =
    n === 1
      ? [mod, mod32]
      : [await generated("examples/lenet.grad"), await generated("examples/lenet.grad", "f32", "wasm")];
  const a = analyze(readFileSync(file, "utf8"));
  const shapes = mod.shapes.params as Record<string, readonly number[]>;
  const names = Object.keys(shapes);
  const p: Record<string, Float64Array> = {};
  for (const [n, s] of Object.entries(shapes)) {
    const k = s.reduce((x, y) => x * y, 1);
    p[n] = uniform(k, s.length > 1 ? Math.sqrt(2 / (k / s[0])) : 0.05);
  }
  const p32 = Object.fromEntries(Object.entries(p).map(([n, v]) => [n, Float32Array.from(v)]));
  const img = Float64Array.from({ length: 784 * n }, () => next());
  const img32 = Float32Array.from(img);
  const labels = Int32Array.from({ length: n }, (_, i) => (3 + 7 * i) % 10);
  const out = mod.createResult(),
    out32 = mod32.createResult(),
    outOne = one.createResult(),
    outOne32 = one32.createResult();
  const oneHot = Float32Array.from({ length: 10 * n }, (_, i) => (i % 10 === labels[Math.floor(i / 10)] ? 1 : 0));
  // TF.js: filters [F, C, kh, kw] -> [kh, kw, C, F] and back; flatten in C, H, W order as gradc
  const filters = new Set(["K1", "K2"]);
  const tfState = perBackend(() => {
    const ps = names.map((n) =>
      filters.has(n) ? tf.tensor(p32[n], [...shapes[n]]).transpose([2, 3, 1, 0]) : tf.tensor(p32[n], [...shapes[n]]),
    );
    const x = tf.tensor(img32, [n, 1, 28, 28]).transpose([0, 2, 3, 1]);
    const y = tf.tensor(oneHot, [n, 10]);
    const f = (...q: tf.Tensor[]) => {
      const v = Object.fromEntries(names.map((n, i) => [n, q[i]]));
      const conv = (h: tf.Tensor, K: tf.Tensor, k: tf.Tensor, pad: number) =>
        tf.relu(
          tf
            .conv2d(
              h as tf.Tensor4D,
              K as tf.Tensor4D,
              1,
              pad === 0
                ? "valid"
                : [
                    [0, 0],
                    [pad, pad],
                    [pad, pad],
                    [0, 0],
                  ],
            )
            .add(k),
        );
      const h1 = tf.maxPool(conv(x, v.K1, v.k1, 2) as tf.Tensor4D, 2, 2, "valid");
      const h2 = tf.maxPool(conv(h1, v.K2, v.k2, 0) as tf.Tensor4D, 2, 2, "valid");
      const flat = h2.transpose([0, 3, 1, 2]).reshape([n, 400]);
      const h3 = tf.relu(tf.matMul(flat, v.W3, false, true).add(v.b3));
      const h4 = tf.relu(tf.matMul(h3, v.W4, false, true).add(v.b4));
      const z = tf.matMul(h4, v.W5, false, true).add(v.b5);
      return tf.mean(tf.logSumExp(z, 1).sub(tf.sum(z.mul(y), 1))) as tf.Scalar;
    };
    return { ps, vg: tf.valueAndGrads(f) };
  });
  const tfStep: Step = () => {
    const { ps, vg } = tfState();
    const { value, grads } = vg(ps);
    const laidBack = grads.map((g, i) => (filters.has(names[i]) ? g.transpose([3, 2, 0, 1]) : g));
    for (const [i, g] of grads.entries()) if (laidBack[i] !== g) g.dispose();
    return tfResult(value, laidBack, names);
  };
  // jax-js: NCHW as gradc; max-pooling as a max over 2 × 2 blocks of a reshape; W v as v Wᵀ
  // (jax-js's einsum and matvec parse subscripts with Node 22's iterator helpers)
  const jvg = jit(
    valueAndGrad((q: Record<string, np.Array>, x: np.Array, y: np.Array) => {
      const pool = (h: np.Array, C: number, H: number) => h.reshape([n, C, H / 2, 2, H / 2, 2]).max([3, 5]);
      const conv = (h: np.Array, K: np.Array, k: np.Array, F: number, pad: number) =>
        nn.relu(
          lax
            .conv(
              h,
              K,
              [1, 1],
              [
                [pad, pad],
                [pad, pad],
              ],
            )
            .add(k.reshape([1, F, 1, 1])),
        );
      const h1 = pool(conv(x, q.K1, q.k1, 6, 2), 6, 28);
      const h2 = pool(conv(h1, q.K2, q.k2, 16, 0), 16, 10);
      const h3 = nn.relu(np.matmul(h2.reshape([n, 400]), np.transpose(q.W3)).add(q.b3));
      const h4 = nn.relu(np.matmul(h3, np.transpose(q.W4)).add(q.b4));
      const z = np.matmul(h4, np.transpose(q.W5)).add(q.b5);
      return np.mean(nn.logsumexp(z.ref, -1).sub(np.sum(z.mul(y), -1)));
    }),
  );
  const jp = Object.fromEntries(names.map((n) => [n, np.array(p32[n]).reshape([...shapes[n]])]));
  const [jX, jY] = [np.array(img32).reshape([n, 1, 28, 28]), np.array(oneHot).reshape([n, 10])];
  const jaxStep: Step = () => {
    const [v, g] = jvg(Object.fromEntries(names.map((n) => [n, jp[n].ref])), jX.ref, jY.ref);
    return { loss: v.dataSync()[0], grads: Object.fromEntries(names.map((n) => [n, g[n].dataSync()])) };
  };
  const step = (m: typeof mod, q: typeof p | typeof p32, x: typeof img | typeof img32, o: typeof out): Step =>
    n === 1
      ? () => m.gradients(q, { img: x, label: labels[0] }, o) as ReturnType<Step>
      : () => m.gradients(q, { img: x, labels }, o) as ReturnType<Step>;
  const batchOf =
    (m: typeof mod, q: typeof p | typeof p32, x: typeof img | typeof img32, o: typeof out): Step =>
    () =>
      m.batchGradients(q, { img: x, label: labels }, n, o) as ReturnType<Step>;
  return {
    name: n === 1 ? "LeNet-5 on one 28×28 digit" : `LeNet-5 on a batch of ${n} digits, [${n}, 1, 28, 28]`,
    gradc: "gradc",
    flops: flops(a.ir),
    impls: [
      { name: "gradc", step: step(mod, p, img, out) },
      { name: "gradc --target wasm --dtype f32", step: step(mod32, p32, img32, out32), f32: true },
      ...(n === 1
        ? []
        : [
            { name: "gradc, one digit's batchGradients()", step: batchOf(one, p, img, outOne) },
            {
              name: "gradc --target wasm --dtype f32, one digit's batchGradients()",
              step: batchOf(one32, p32, img32, outOne32),
              f32: true,
            },
          ]),
      { name: "TF.js cpu", step: tfStep, f32: true },
      // with the filter-gradient kernel the bench registers (bench/tfjs-kernels.ts)
      { name: "TF.js wasm", step: tfStep, f32: true },
      { name: "jax-js wasm", step: jaxStep, f32: true },
    ],
  };
}

function tfResult(value: tf.Tensor, grads: tf.Tensor[], names: string[]): ReturnType<Step> {
  const out = { loss: value.dataSync()[0], grads: Object.fromEntries(names.map((n, i) => [n, grads[i].dataSync()])) };
  value.dispose();
  for (const g of grads) g.dispose();
  return out;
}

/**
 * TF.js tensors live on one backend; touching them from another copies them on every step.
 * So each TF.js implementation builds its tensors once per backend, on first use there.
 */
function perBackend<T>(make: () => T): () => T {
  const made = new Map<string, T>();
  return () => {
    const b = tf.getBackend();
    if (!made.has(b)) made.set(b, make());
    return made.get(b)!;
  };
}

async function withBackend<T>(name: string, f: () => T): Promise<T> {
  if (name.startsWith("TF.js")) {
    await tf.setBackend(name.endsWith("wasm") ? "wasm" : "cpu");
    await tf.ready();
  }
  return f();
}

function agree(c: Case, results: Map<string, ReturnType<Step>>): string[] {
  const ref = results.get(c.gradc)!;
  const problems: string[] = [];
  for (const impl of c.impls) {
    const r = results.get(impl.name)!;
    const tol = impl.f32 ? 2e-3 : 1e-9;
    const close = (a: number, b: number) => Math.abs(a - b) <= tol * Math.max(1e-2, Math.abs(a), Math.abs(b));
    if (!close(r.loss, ref.loss)) problems.push(`${impl.name}: loss ${r.loss} vs ${ref.loss}`);
    for (const [k, v] of Object.entries(ref.grads)) {
      const mine = arr(r.grads[k] as ArrayLike<number>);
      const want = arr(v);
      const scale = Math.max(...want.map(Math.abs), 1e-6);
      const bad = want.findIndex((x, i) => !(Math.abs(x - mine[i]) <= tol * Math.max(scale * 1e-2, Math.abs(x))));
      if (bad >= 0) problems.push(`${impl.name}: d/d${k}[${bad}] ${mine[bad]} vs ${want[bad]}`);
    }
  }
  return problems;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (us: number) =>
  us < 1 ? us.toFixed(3) : us < 100 ? us.toFixed(2) : us.toFixed(0).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

registerConv2DBackpropFilter();
await tf.setBackend("cpu");
await tf.ready();
await jaxInit("wasm");
defaultDevice("wasm");
const peak = peakGflops();
const wasmPeak = await wasmPeakGflops();
// batch 8: below one chunk of 16, where --target wasm runs one padded chunk
// BENCH_ONLY=<text>: only the cases whose name contains it, and nothing else (no RESULTS.md)
const only = process.env.BENCH_ONLY;
const makers = [
  lectureCase,
  chainCase,
  () => mlpCase(1),
  () => mlpCase(32),
  () => mlpCase(8),
  () => mlpCase(1, "x @ W"),
  () => mlpCase(32, "x @ W"),
  batchAsMatrixCase,
  () => transformerCase(1),
  () => transformerCase(32),
  () => lenetCase(1),
  () => lenetCase(32),
];
const cases: Case[] = [];
for (const make of makers) {
  const c = await make();
  if (!only || c.name.includes(only)) cases.push(c);
}
const lines: string[] = [];
const say = (s: string) => {
  console.log(s);
  lines.push(s);
};

say(`# gradc benchmark\n`);
say(
  `${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores, Node ${process.version}, ${ROUNDS} alternating rounds of ~${ROUND_MS} ms per implementation; median µs per forward+backward step (min–max).`,
);
say(
  `Multiply-add peaks measured in this run: typed-array JS ${peak.toFixed(2)} GFLOP/s; WebAssembly SIMD (f32x4) ${wasmPeak.toFixed(2)} GFLOP/s.\n`,
);

const summary: Record<string, Record<string, number>> = {};
for (const c of cases) {
  const first = new Map<string, ReturnType<Step>>();
  for (const impl of c.impls) first.set(impl.name, await withBackend(impl.name, impl.step));
  const problems = agree(c, first);
  const times = new Map<string, number[]>(c.impls.map((i) => [i.name, []]));
  // a warm-up round, not counted: V8 runs WebAssembly (gradc's kernels, TF.js's and jax-js's) in
  // its baseline compiler until a function has run enough to be optimized in the background,
  // which took 300–600 steps of the batched MLP; the rounds measure the optimized code
  for (const impl of c.impls) await withBackend(impl.name, () => timeSteps(impl.run ?? impl.step, roundMs(impl.name)));
  for (let round = 0; round < ROUNDS; round++) {
    for (const impl of round % 2 ? [...c.impls].reverse() : c.impls) {
      const us = await withBackend(impl.name, () => timeSteps(impl.run ?? impl.step, roundMs(impl.name)));
      times.get(impl.name)!.push(us);
    }
  }
  const gradcUs = median(times.get(c.gradc)!);
  summary[c.name] = { flops: c.flops };
  say(`## ${c.name}\n`);
  say(
    problems.length
      ? `**Disagreements:** ${problems.join("; ")}\n`
      : `All implementations agree on the loss and every gradient (f64 to 1e-9, f32 to 2e-3).\n`,
  );
  say(`| implementation | median µs/step | min–max | × gradc's time |`);
  say(`| --- | ---: | ---: | ---: |`);
  for (const impl of c.impls) {
    const t = times.get(impl.name)!;
    const m = median(t);
    summary[c.name][impl.name] = m;
    say(`| ${impl.name} | ${fmt(m)} | ${fmt(Math.min(...t))}–${fmt(Math.max(...t))} | ${(m / gradcUs).toFixed(2)} |`);
  }
  say(
    `\ngradc: ${(c.flops / (gradcUs * 1000)).toFixed(2)} GFLOP/s (${(c.flops / 1e6).toFixed(2)} MFLOP per step) = ${((100 * c.flops) / (gradcUs * 1000) / peak) | 0}% of the measured typed-array peak.`,
  );
  for (const w of ["gradc wasm", "gradc wasm f32"]) {
    const t = times.get(w);
    if (t)
      say(
        `${w}: ${(c.flops / (median(t) * 1000)).toFixed(2)} GFLOP/s = ${((100 * c.flops) / (median(t) * 1000) / wasmPeak) | 0}% of the measured wasm-SIMD peak.`,
      );
  }
  say("");
}

if (only) process.exit(0);

// the argument checks every exported function makes (issue: hostile inputs): checked against
// --unchecked, in alternating rounds, after checking both give the same gradients
say(`## Argument checks\n`);
say(
  "Each call checks its params, inputs and out (types, lengths); `--unchecked` leaves that out. Median µs per `gradients()` call, and the median of the per-round ratios.\n",
);
say(`| model | checked µs | --unchecked µs | checked / unchecked |`);
say(`| --- | ---: | ---: | ---: |`);
for (const name of ["lecture", "chain", "mlp"]) {
  const text = readFileSync(`examples/${name}.grad`, "utf8");
  const checked = await loadModule((await compile(text)).typescript);
  const plain = await loadModule((await compile(text, { unchecked: true })).typescript);
  const p = Object.fromEntries(
    Object.entries(checked.shapes.params).map(([n, s]) => [n, s.length ? uniform(s.reduce((a, b) => a * b, 1)) : 0.3]),
  );
  const x = Object.fromEntries(
    Object.entries(checked.shapes.inputs).map(([n, s]) => [n, s.length ? uniform(s.reduce((a, b) => a * b, 1)) : 0.7]),
  );
  const outs = [checked.createResult(), plain.createResult()];
  const a = checked.gradients(p as never, x as never, outs[0]),
    b = plain.gradients(p as never, x as never, outs[1]);
  if (a.loss !== b.loss) throw new Error(`argument checks: ${name} gives a different loss with --unchecked`);
  const t: [number[], number[]] = [[], []];
  for (let round = 0; round < ROUNDS; round++) {
    for (const k of round % 2 ? [0, 1] : [1, 0])
      t[k].push(timeSteps(() => [checked, plain][k].gradients(p as never, x as never, outs[k]), ROUND_MS / 4));
  }
  const ratios = t[0].map((c, i) => c / t[1][i]);
  say(
    `| examples/${name}.grad | ${median(t[0]).toFixed(3)} | ${median(t[1]).toFixed(3)} | ${median(ratios).toFixed(3)} |`,
  );
}
say("");

// compile times (and explain), including generated 1,000- and 10,000-node programs
say(`## Compile time\n`);
say(`| program | IR nodes | compile ms | explain ms |`);
say(`| --- | ---: | ---: | ---: |`);
const chainSource = (L: number) =>
  `const L = ${L}\ninput x, y\nh{0} = x\nfor k in 1..L {\n  param w{k}, b{k}\n  h{k} = sigmoid(w{k} * h{k-1} + b{k})\n}\nloss = 0.5 * (h{L} - y)^2\n`;
const programs: [string, string][] = [
  ...["lecture", "chain", "mlp", "tiny-mlp"].map(
    (n) => [`examples/${n}.grad`, readFileSync(`examples/${n}.grad`, "utf8")] as [string, string],
  ),
  ["generated chain, L = 125", chainSource(125)],
  ["generated chain, L = 1,250", chainSource(1250)],
];
const compileMs: Record<string, number> = {};
for (const [name, text] of programs) {
  const t0 = performance.now();
  const r = await compile(text);
  const ms = performance.now() - t0;
  const t1 = performance.now();
  if (r.ir.nodes.length < 3000) explain(text);
  const ems = performance.now() - t1;
  compileMs[name] = ms;
  say(
    `| ${name} | ${r.ir.nodes.length.toLocaleString("en")} | ${ms.toFixed(0)} | ${r.ir.nodes.length < 3000 ? ems.toFixed(0) : "—"} |`,
  );
}

// the CLI as a user runs it (dist/, built by npm run bench), in child processes, alternating with
// `node -e 0`; and the compile budgets of programs nobody writes by hand (#16)
say(`## CLI start-up and compile budgets\n`);
say(
  "Wall time of `node dist/cli.js …` in a fresh process (median of 5 alternating runs; peak memory from the kernel), beside `node -e 0`.\n",
);
const scratch = mkdtempSync(join(os.tmpdir(), "gradc-bench-"));
const budgetPrograms: Record<string, string> = {
  "sum3000.grad": `param w\ninput x\nloss = ${Array.from({ length: 3000 }, () => "w*x").join(" + ")}\n`,
  "chain5000.grad": chainSource(5000),
  "chain10000.grad": chainSource(10000),
  "shared1000.grad":
    "const L = 1000\ninput x, y\nparam w, b\nh{0} = x\nfor k in 1..L {\n  h{k} = sigmoid(w * h{k-1} + b)\n}\nloss = 0.5 * (h{L} - y)^2\n",
};
for (const [name, text] of Object.entries(budgetPrograms)) writeFileSync(join(scratch, name), text);
const at = (name: string) => join(scratch, name);
const runs: [string, string[], number, string][] = [
  ["node -e 0", ["-e", "0"], 5, "—"],
  ["gradc --version", ["dist/cli.js", "--version"], 5, "within 0.1 s of node"],
  [
    "gradc compile examples/lecture.grad",
    ["dist/cli.js", "compile", "examples/lecture.grad"],
    5,
    "within 0.5 s of node",
  ],
  ["gradc compile examples/mlp.grad", ["dist/cli.js", "compile", "examples/mlp.grad"], 5, "within 1 s of node"],
  ["compile a flat sum of 3,000 terms", ["dist/cli.js", "compile", at("sum3000.grad")], 3, "< 1 s"],
  ["compile the 4.3 chain at L = 5,000", ["dist/cli.js", "compile", at("chain5000.grad")], 1, "< 5 s, < 500 MB"],
  [
    "compile a 100,000-node program (the chain at L = 10,000)",
    ["dist/cli.js", "compile", at("chain10000.grad")],
    1,
    "< 30 s, < 2 GB",
  ],
  [
    "explain a 1,000-layer shared-weight chain",
    ["dist/cli.js", "explain", at("shared1000.grad"), "-o", at("s.md")],
    1,
    "< 10 s",
  ],
];
/** wall seconds and peak resident MB of one run (GNU time's %e and %M) */
function timed(args: string[]): { s: number; mb: number } {
  // the command's own output is discarded (a 450,000-line module would overflow a pipe's buffer)
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", process.execPath, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "ignore", "pipe"],
  });
  const [s, kb] = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  return { s, mb: kb / 1024 };
}
say("| command | median s | peak MB | budget |");
say("| --- | ---: | ---: | --- |");
const walls = new Map<string, number[]>(runs.map(([n]) => [n, []]));
const peaks = new Map<string, number>();
for (let round = 0; round < 5; round++)
  for (const [name, args, times] of runs) {
    if (round >= times) continue;
    const t = timed(args);
    walls.get(name)!.push(t.s);
    peaks.set(name, Math.max(peaks.get(name) ?? 0, t.mb));
  }
for (const [name, , , budget] of runs)
  say(`| ${name} | ${median(walls.get(name)!).toFixed(2)} | ${peaks.get(name)!.toFixed(0)} | ${budget} |`);
say("");

writeFileSync(
  "bench/RESULTS.md",
  lines.join("\n") +
    "\n" +
    readFileSync("bench/TARGETS.md", "utf8").replace("{{targets}}", targets(summary, compileMs)),
);
console.log("\nwrote bench/RESULTS.md");

function targets(s: Record<string, Record<string, number>>, cms: Record<string, number>): string {
  const rows: string[] = ["| target | measured | holds |", "| --- | --- | --- |"];
  // the cases against the libraries; the layouts case has its own rows
  const names = Object.keys(s).filter((c) => "TF.js cpu" in s[c]);
  const ratio = (c: string, impl: string) => s[c][impl] / s[c]["gradc"];
  const row = (t: string, v: string, ok: boolean) => rows.push(`| ${t} | ${v} | ${ok ? "yes" : "**no**"} |`);
  // (the MLP cases' rows, per precision, are with the layouts below)
  for (const c of names.filter((n) => "hand-written" in s[n] && !("hand-written f32" in s[n])))
    row(
      `${c}: gradc ≤ 1.1 × hand-written`,
      `${(1 / ratio(c, "hand-written")).toFixed(2)} ×`,
      1 / ratio(c, "hand-written") <= 1.1,
    );
  for (const c of names.slice(0, 2))
    row(
      `${c}: ≥ 1,000 × faster than TF.js cpu`,
      `${ratio(c, "TF.js cpu").toFixed(0)} ×`,
      ratio(c, "TF.js cpu") >= 1000,
    );
  row(
    `${names[2]}: ≥ 8 × faster than TF.js cpu`,
    `${ratio(names[2], "TF.js cpu").toFixed(1)} ×`,
    ratio(names[2], "TF.js cpu") >= 8,
  );
  row(
    `${names[3]}: ≥ 5 × faster than TF.js cpu`,
    `${ratio(names[3], "TF.js cpu").toFixed(1)} ×`,
    ratio(names[3], "TF.js cpu") >= 5,
  );
  for (const c of names) {
    for (const other of ["TF.js wasm", "jax-js wasm"].filter((o) => o in s[c]))
      row(`${c}: faster than ${other}`, `${ratio(c, other).toFixed(2)} ×`, ratio(c, other) > 1);
  }
  // the layers issue (#14): the TypeScript target faster than TF.js cpu on the course's networks,
  // and --target wasm --dtype f32 at least 1.5 × faster than the fastest peer
  for (const c of names.filter((n) => !("hand-written" in s[n]))) {
    row(
      `${c}: the TypeScript target faster than TF.js cpu`,
      `${ratio(c, "TF.js cpu").toFixed(2)} ×`,
      ratio(c, "TF.js cpu") > 1,
    );
    // its gradients(), or at a batch the one-sample module's batchGradients(), whichever is faster
    const wasm = Math.min(
      ...Object.keys(s[c])
        .filter((i) => i.startsWith("gradc --target wasm --dtype f32"))
        .map((i) => s[c][i]),
    );
    const peers = ["TF.js cpu", "TF.js wasm", "jax-js wasm"].filter((p) => p in s[c]);
    const fastest = Math.min(...peers.map((p) => s[c][p]));
    if (Number.isFinite(wasm))
      row(
        `${c}: --target wasm --dtype f32 ≥ 1.5 × faster than the fastest peer (${peers.join(", ")})`,
        `${(fastest / wasm).toFixed(2)} ×`,
        fastest / wasm >= 1.5,
      );
  }
  const last = names[3];
  const wasmBest = Math.min(s[last]["gradc wasm"], s[last]["gradc wasm f32"]);
  row(
    `${last}: --target wasm ≥ 1.5 × faster than jax-js`,
    `${(s[last]["jax-js wasm"] / wasmBest).toFixed(2)} ×`,
    s[last]["jax-js wasm"] / wasmBest >= 1.5,
  );
  row(
    `${last}: --target wasm ≥ 2 × faster than hand-written JS`,
    `${(s[last]["hand-written"] / wasmBest).toFixed(1)} ×`,
    s[last]["hand-written"] / wasmBest >= 2,
  );
  for (const c of [names[2], names[4], names[3]]) {
    const best = Math.min(s[c]["gradc wasm"], s[c]["gradc wasm f32"]);
    row(
      `${c}: --target wasm faster than jax-js and TF.js wasm`,
      `${(s[c]["jax-js wasm"] / best).toFixed(2)} ×, ${(s[c]["TF.js wasm"] / best).toFixed(2)} ×`,
      best < s[c]["jax-js wasm"] && best < s[c]["TF.js wasm"],
    );
  }
  // each precision against the TypeScript target in the same precision
  const b1 = s[names[2]];
  const slower = Math.max(b1["gradc wasm"] / b1["gradc"], b1["gradc wasm f32"] / b1["gradc f32"]);
  row(
    `${names[2]}: --target wasm no slower than the TypeScript target (f64, f32)`,
    `${(b1["gradc wasm"] / b1["gradc"]).toFixed(2)} ×, ${(b1["gradc wasm f32"] / b1["gradc f32"]).toFixed(2)} × its time`,
    slower <= 1.05,
  );
  // speed in any layout (#18): every MLP case, W @ x, x @ W and the batch as a matrix
  const mlps = Object.keys(s).filter((c) => "hand-written f32" in s[c]);
  for (const c of mlps) {
    const t = s[c];
    for (const [mine, theirs, what] of [
      ["gradc", "hand-written", "f64"],
      ["gradc f32", "hand-written f32", "f32"],
    ] as const)
      row(
        `${c}: the TypeScript target (${what}) ≤ 1.1 × the hand-written code of its layout`,
        `${(t[mine] / t[theirs]).toFixed(2)} ×`,
        t[mine] / t[theirs] <= 1.1,
      );
    const wasm = t["gradc wasm f32"];
    const bestHand = Math.min(t["hand-written"], t["hand-written f32"]);
    row(
      `${c}: --target wasm --dtype f32 ≥ 1.5 × faster than jax-js and the best hand-written JS`,
      `${(t["jax-js wasm"] / wasm).toFixed(2)} ×, ${(bestHand / wasm).toFixed(2)} ×`,
      t["jax-js wasm"] / wasm >= 1.5 && bestHand / wasm >= 1.5,
    );
    if (c.includes("32"))
      row(
        `${c}: --target wasm --dtype f32 at ≥ 60 % of the wasm-SIMD peak`,
        `${((100 * t.flops) / (wasm * 1000) / wasmPeak).toFixed(0)} %`,
        t.flops / (wasm * 1000) / wasmPeak >= 0.6,
      );
  }
  const matrix = Object.keys(s).find((c) => "gradc W @ x, batchGradients()" in s[c]);
  if (matrix) {
    const m = s[matrix];
    row(
      "a batch of 32 written as a matrix, through gradients(): within 1.1 × of batchGradients' time",
      `${(m["gradc"] / m["gradc W @ x, batchGradients()"]).toFixed(2)} ×`,
      m["gradc"] / m["gradc W @ x, batchGradients()"] <= 1.1,
    );
  }
  row("compile of the MLP under 300 ms", `${cms["examples/mlp.grad"].toFixed(0)} ms`, cms["examples/mlp.grad"] < 300);
  row(
    "compile of a 10,000-node program under 10 s",
    `${(cms["generated chain, L = 1,250"] / 1000).toFixed(1)} s`,
    cms["generated chain, L = 1,250"] < 10000,
  );
  return rows.join("\n");
}
