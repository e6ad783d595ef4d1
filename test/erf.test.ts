/**
 * The error function generated modules define (GELU and erf): polynomials fitted by
 * scripts/erf.ts in 80-digit arithmetic, checked here against erf computed the same way.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { moduleFunctions } from "../src/emit/ts/helpers.js";
import { double, erfFixed, erfModule, fixed, GENERATED_ERF } from "../scripts/erf.js";

const { params, body } = moduleFunctions.erf;
const erf = new Function(...params, body.join("\n")) as (x: number) => number;

/** the distance between two doubles in units in the last place of the exact one */
const ulps = (got: number, exact: number) =>
  exact === 0 ? Math.abs(got) / 5e-324 : Math.abs(got - exact) / 2 ** (Math.floor(Math.log2(Math.abs(exact))) - 52);

describe("erf", () => {
  it("is within two ulps of erf in 80 digits, on both sides, at the intervals' ends and between", () => {
    const points = [1e-30, 1e-8, 0.3, 0.999999, 1, 1.5, 2, 2.5, 3.5, 4, 5.9, 5.99999];
    for (let i = 1; i <= 1500; i++) points.push((i * 6.2) / 1500 + 1e-7 * Math.sin(i));
    let worst = 0;
    for (const x of points)
      for (const s of [x, -x]) {
        const exact = double(erfFixed(fixed(s)));
        worst = Math.max(worst, ulps(erf(s), exact));
      }
    expect(worst).toBeLessThanOrEqual(2);
    // far below the fixed point's reach: erf(x) = 2x/√π to every digit
    expect(erf(1e-300)).toBe((2 / Math.sqrt(Math.PI)) * 1e-300);
  });

  it("keeps the edges: ±0, ±1 from 6 on, ±∞ and NaN", () => {
    expect(Object.is(erf(0), 0)).toBe(true);
    expect(Object.is(erf(-0), -0)).toBe(true);
    for (const x of [6, 30, Infinity]) {
      expect(erf(x)).toBe(1);
      expect(erf(-x)).toBe(-1);
    }
    expect(erf(NaN)).toBeNaN();
  });

  it(`${GENERATED_ERF} holds scripts/erf.ts's fit (npm run gen regenerates it)`, async () => {
    expect(readFileSync(GENERATED_ERF, "utf8")).toBe(await erfModule());
  });
});
