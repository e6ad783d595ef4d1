// LeNet-5 trained on handwritten digits with the generated gradients (generated/lenet.ts):
// minibatches through batchGradients, Adam; backprop computes the gradients, Adam trains.
import { batchGradients, createResult, gradients, shapes, type Params } from "../../generated/lenet.js";
import { normal, uniform01 } from "../../src/util/random.js";
import { adam, type Tensors } from "../optimizers.js";
import type { Digits } from "./data.js";

const names = Object.keys(shapes.params) as (keyof Params)[];

/** He initialization for ReLU layers: N(0, 2 / fan_in) weights, zero biases */
export function initParams(seed: number): Params {
  const next = normal(seed);
  const p = {} as Record<keyof Params, Float64Array>;
  for (const k of names) {
    const shape = shapes.params[k] as readonly number[];
    const n = shape.reduce((a, b) => a * b, 1);
    // a weight's fan-in: every axis but the first (a conv kernel's C·KH·KW, a matrix's columns)
    const fanIn = shape.length > 1 ? n / shape[0] : 0;
    p[k] = fanIn ? Float64Array.from({ length: n }, () => next() * Math.sqrt(2 / fanIn)) : new Float64Array(n);
  }
  return p as Params;
}

/**
 * The predicted digit, read off one gradients() call: the last layer's bias gradient is
 * softmax(z) − e_label (lecture 4.6.4), so softmax(z) = ∇b5 + e_label, whatever label is passed.
 */
export function predict(p: Params, image: Float64Array, out = createResult()): number {
  const db5 = gradients(p, { img: image, label: 0 }, out).grads.b5;
  let best = 0;
  for (let c = 1; c < 10; c++) if (db5[c] + (c === 0 ? 1 : 0) > db5[best] + (best === 0 ? 1 : 0)) best = c;
  return best;
}

export function accuracy(p: Params, d: Digits): number {
  const out = createResult();
  let right = 0;
  for (let i = 0; i < d.n; i++) if (predict(p, d.images.subarray(i * 784, (i + 1) * 784), out) === d.labels[i]) right++;
  return right / d.n;
}

/** epochs of minibatches (reshuffled each epoch with the seed); onBatch sees the samples done and the running loss */
export function train(
  data: Digits,
  opts: {
    epochs: number;
    batch: number;
    /** the learning rate of the first epoch, then times `decay` per epoch */
    lr: number;
    decay?: number;
    seed: number;
    onBatch?: (done: number, loss: number) => void;
  },
): { params: Params; losses: number[] } {
  const p = initParams(opts.seed);
  let epoch = 0;
  const step = adam(() => opts.lr * (opts.decay ?? 1) ** epoch);
  const next = uniform01(opts.seed + 1);
  const out = createResult();
  const img = new Float64Array(opts.batch * 784);
  const label = new Int32Array(opts.batch);
  const order = Array.from({ length: data.n }, (_, i) => i);
  const losses: number[] = [];
  let t = 0;
  for (epoch = 0; epoch < opts.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let total = 0;
    for (let start = 0; start < data.n; start += opts.batch) {
      const n = Math.min(opts.batch, data.n - start);
      for (let k = 0; k < n; k++) {
        img.set(data.images.subarray(order[start + k] * 784, (order[start + k] + 1) * 784), k * 784);
        label[k] = data.labels[order[start + k]];
      }
      const g = batchGradients(p, { img, label }, n, out);
      total += g.loss * n;
      step(p as unknown as Tensors, g.grads as unknown as Tensors, ++t);
      opts.onBatch?.(epoch * data.n + start + n, total / (start + n));
    }
    losses.push(total / data.n);
  }
  return { params: p, losses };
}
