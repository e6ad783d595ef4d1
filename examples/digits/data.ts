// The `mnist` package's 28×28 handwritten digits (about 1,000 per class, grey levels in [0, 1]),
// split per class: the first 80 % to train on, the rest held out; the training set shuffled with a seed.
import { createRequire } from "node:module";
import { uniform01 } from "../../src/util/random.js";

interface Digit {
  readonly id: number;
  /** every sample's 784 pixels, one after another */
  readonly raw: readonly number[];
  readonly length: number;
}

export interface Digits {
  /** n × 784 pixels, row-major */
  readonly images: Float64Array;
  readonly labels: Int32Array;
  readonly n: number;
}

function pack(samples: readonly [Digit, number][]): Digits {
  const images = new Float64Array(samples.length * 784);
  const labels = new Int32Array(samples.length);
  samples.forEach(([d, i], k) => {
    for (let p = 0; p < 784; p++) images[k * 784 + p] = d.raw[i * 784 + p];
    labels[k] = d.id;
  });
  return { images, labels, n: samples.length };
}

/** train on the first `fraction` of each class (shuffled with `seed`), test on the rest */
export function loadDigits(seed: number, fraction = 0.8): { train: Digits; test: Digits } {
  const digits = createRequire(import.meta.url)("mnist") as Digit[];
  const train: [Digit, number][] = [];
  const test: [Digit, number][] = [];
  for (const d of digits.slice(0, 10)) {
    const cut = Math.floor(d.length * fraction);
    for (let i = 0; i < d.length; i++) (i < cut ? train : test).push([d, i]);
  }
  const next = uniform01(seed);
  for (let i = train.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [train[i], train[j]] = [train[j], train[i]];
  }
  return { train: pack(train), test: pack(test) };
}
