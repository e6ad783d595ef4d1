import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { loadDigits, type Digits } from "../examples/digits/data.js";
import { accuracy, initParams, predict, train } from "../examples/digits/train.js";
import { loss } from "../generated/lenet.js";

/** the first n digits of a set */
const first = (d: Digits, n: number): Digits => ({
  images: d.images.subarray(0, n * 784),
  labels: d.labels.subarray(0, n),
  n,
});

describe("digits: LeNet-5 trained with the generated gradients (examples/digits)", () => {
  const { train: data, test } = loadDigits(7);

  it("splits the mnist package's digits 80/20 per class, every label held out", () => {
    expect(data.n + test.n).toBeGreaterThan(9_900);
    expect(test.n / (data.n + test.n)).toBeCloseTo(0.2, 2);
    expect(new Set(test.labels).size).toBe(10);
    expect(Math.max(...data.images.subarray(0, 784 * 50))).toBeLessThanOrEqual(1);
  });

  it("predicts from ∇b5 = softmax(z) − e_label: the label whose cross-entropy is least", () => {
    const p = initParams(3);
    for (let i = 0; i < 4; i++) {
      const img = test.images.subarray(i * 784, (i + 1) * 784);
      const losses = Array.from({ length: 10 }, (_, c) => loss(p, { img, label: c }));
      expect(predict(p, img)).toBe(losses.indexOf(Math.min(...losses)));
    }
  });

  it("learns: a first epoch over 800 digits lowers the loss and beats chance on held-out ones", () => {
    const seen: number[] = [];
    const r = train(first(data, 800), { epochs: 1, batch: 32, lr: 0.002, seed: 1, onBatch: (_, l) => seen.push(l) });
    expect(seen.length).toBe(25);
    expect(seen[seen.length - 1]).toBeLessThan(seen[0]);
    expect(accuracy(r.params, first(test, 200))).toBeGreaterThan(0.5);
  }, 60_000);

  it("npm run example:digits refuses a bad --epochs", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "examples/digits/main.ts", "--epochs", "0"], {
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--epochs takes a whole number, at least 1; got '0'");
  });
});
