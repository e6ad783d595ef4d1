import { describe, expect, it } from "vitest";
import { adam, loadIris, predict, sgd, train } from "../examples/iris/train.js";
import { initParams } from "../examples/iris/train.js";

describe("Iris, trained with the generated batchGradients (examples/iris)", () => {
  it("reaches at least 95% training accuracy with SGD and with Adam, reproducibly", () => {
    const s = train({ optimizer: sgd(0.05), epochs: 60, batch: 16, seed: 42 });
    const a = train({ optimizer: adam(0.01), epochs: 60, batch: 16, seed: 42 });
    expect(s.trainAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(a.trainAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(s.testAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(a.testAccuracy).toBeGreaterThanOrEqual(0.9);
    const summary = (r: typeof s) => ({
      train: r.trainAccuracy,
      test: r.testAccuracy,
      firstLoss: r.losses[0].toFixed(4),
      lastLoss: r.losses[r.losses.length - 1].toFixed(4),
    });
    expect({ sgd: summary(s), adam: summary(a) }).toMatchInlineSnapshot(`
      {
        "adam": {
          "firstLoss": "1.0616",
          "lastLoss": "0.0571",
          "test": 1,
          "train": 0.9666666666666667,
        },
        "sgd": {
          "firstLoss": "0.9912",
          "lastLoss": "0.0623",
          "test": 1,
          "train": 0.975,
        },
      }
    `);
    // the same seed, the same run
    expect(train({ optimizer: adam(0.01), epochs: 60, batch: 16, seed: 42 }).losses).toEqual(a.losses);
  });

  it("splits 120 / 30 with standardized features and one-hot labels", () => {
    const { train: tr, test } = loadIris(42);
    expect([tr.n, test.n]).toEqual([120, 30]);
    for (let f = 0; f < 4; f++) {
      let m = 0;
      for (let i = 0; i < tr.n; i++) m += tr.x[i * 4 + f] / tr.n;
      expect(Math.abs(m)).toBeLessThan(1e-12);
    }
    for (let i = 0; i < tr.n; i++) expect(tr.y[i * 3] + tr.y[i * 3 + 1] + tr.y[i * 3 + 2]).toBe(1);
  });

  it("predicts with the generated loss: the argmax of the logits", () => {
    const p = initParams(1);
    // with W2 = 0 and b2 = e_2 the logits are (0, 0, 1)
    p.W2.fill(0);
    p.b2.set([0, 0, 1]);
    expect(predict(p, Float64Array.of(0.1, 0.2, 0.3, 0.4))).toBe(2);
  });
});
