/**
 * The error function's coefficients in generated modules (src/emit/ts/erf.ts), fitted here:
 * `npx tsx scripts/erf.ts` prints them, and test/erf.test.ts refits them and checks that the
 * module's erf is within two units in the last place of erf computed with 80 digits.
 *
 *   |x| < 1:      erf(x) = x · P(2x² − 1)                   (erf(x)/x is smooth in x²)
 *   1 ≤ |x| < 6:  erf(x) = 1 − exp(−x²) · Q_k(t), t ∈ [−1, 1] over interval k of [1, 2, 3.5, 6]
 *                 (erfc(x)·exp(x²) falls slowly, from 0.43 to 0.09, with no cancellation)
 *   |x| ≥ 6:      erf(x) = ±1 (erfc(6) = 2.2e-17 is under half an ulp of 1)
 *
 * P and each Q_k interpolate at Chebyshev nodes (their Chebyshev series, computed in fixed-point
 * BigInt arithmetic, truncated where its terms fall under 1e-17), then are rewritten in powers
 * of t exactly and rounded once: Horner's rule in doubles then loses at most an ulp or two
 * (their coefficients are under 1 and shrink fast).
 */

/** fixed-point numbers: value · 10^DIGITS as a BigInt */
const DIGITS = 80n;
const ONE = 10n ** DIGITS;
const PI =
  (BigInt("314159265358979323846264338327950288419716939937510582097494459230781640628620899862803482534211706798") *
    ONE) /
  10n ** 101n;

/** a double exactly, in fixed point */
export function fixed(x: number): bigint {
  if (x === 0) return 0n;
  let [m, e] = [x, 0];
  while (!Number.isInteger(m)) [m, e] = [m * 2, e - 1];
  return e >= 0 ? BigInt(m) * ONE * 2n ** BigInt(e) : (BigInt(m) * ONE) / 2n ** BigInt(-e);
}

/** the double nearest a fixed-point number (to within its last bit) */
export function double(f: bigint): number {
  if (f === 0n) return 0;
  const neg = f < 0n;
  const scaled = ((neg ? -f : f) * 2n ** 200n) / ONE;
  const shift = scaled.toString(2).length - 64;
  const top = shift > 0 ? scaled >> BigInt(shift) : scaled << BigInt(-shift);
  const v = Number(top) * 2 ** (shift - 200);
  return neg ? -v : v;
}

const mul = (a: bigint, b: bigint) => (a * b) / ONE;

function sqrt(v: bigint): bigint {
  let x = fixed(Math.sqrt(double(v)));
  for (let i = 0; i < 100; i++) {
    const next = (x + (v * ONE) / x) / 2n;
    if (next === x) break;
    x = next;
  }
  return x;
}

function cos(theta: bigint): bigint {
  const t2 = mul(theta, theta);
  let [term, sum] = [ONE, ONE];
  for (let n = 1n; term !== 0n; n++) {
    term = -mul(term, t2) / ((2n * n - 1n) * 2n * n);
    sum += term;
  }
  return sum;
}

function exp(y: bigint): bigint {
  let [term, sum] = [ONE, ONE];
  for (let n = 1n; term !== 0n; n++) {
    term = mul(term, y) / n;
    sum += term;
  }
  return sum;
}

const SQRT_PI = sqrt(PI);

/** erf by its Maclaurin series, 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)), in fixed point (|x| ≤ 6: terms below e^36) */
export function erfFixed(x: bigint): bigint {
  const x2 = mul(x, x);
  let [term, sum] = [x, x];
  for (let n = 1n; ; n++) {
    term = -mul(term, x2) / n;
    const d = term / (2n * n + 1n);
    if (d === 0n) break;
    sum += d;
  }
  return (2n * sum * ONE) / SQRT_PI;
}

/** the Chebyshev coefficients of f on [a, b], `n` of them, from its values at n + 6 Chebyshev nodes */
function chebyshev(f: (x: bigint) => bigint, a: number, b: number, n: number): bigint[] {
  const m = n + 6;
  const [A, B] = [fixed(a), fixed(b)];
  const node = (j: number, k: number) => cos((PI * BigInt(j * (2 * k + 1))) / BigInt(2 * m));
  const values = Array.from({ length: m }, (_, k) => f((A + B) / 2n + mul((B - A) / 2n, node(1, k))));
  return Array.from({ length: n }, (_, j) => {
    let s = 0n;
    for (let k = 0; k < m; k++) s += mul(values[k], node(j, k));
    return ((j === 0 ? 1n : 2n) * s) / BigInt(m);
  });
}

/** Σ c_j T_j(t) in powers of t, exactly; each coefficient then rounded to a double */
function powers(c: readonly bigint[]): number[] {
  const p = new Array<bigint>(c.length).fill(0n);
  const add = (poly: readonly bigint[], w: bigint) => poly.forEach((v, i) => (p[i] += mul(v, w)));
  let [before, T] = [[ONE], [0n, ONE]];
  add(before, c[0]);
  if (c.length > 1) add(T, c[1]);
  for (let j = 2; j < c.length; j++) {
    // T_j = 2t T_{j−1} − T_{j−2}
    const next = new Array<bigint>(j + 1).fill(0n);
    T.forEach((v, i) => (next[i + 1] += 2n * v));
    before.forEach((v, i) => (next[i] -= v));
    add(next, c[j]);
    [before, T] = [T, next];
  }
  return p.map(double);
}

/** the intervals of [1, 6] with their polynomial's length, and the length of the one for |x| < 1 */
export const ERF_INTERVALS: readonly (readonly [number, number, number])[] = [
  [1, 2, 17],
  [2, 3.5, 17],
  [3.5, 6, 18],
];
export const ERF_NEAR_TERMS = 12;

/**
 * The f32 lanes of the WebAssembly target (src/emit/wasm/vmath.ts) need 24 bits, not 53: P with
 * 7 terms (the Chebyshev series' next term is 3e-11), and one Q over [1, 4] with 12 (the next
 * is 7e-9, times exp(−x²) ≤ 0.37 under a tenth of erf's ulp there); erfc(4) = 1.5e-8 is under
 * half an ulp of 1 in f32, so x is clamped to 4.
 */
export const ERF_F32 = { nearTerms: 7, far: [1, 4, 12] } as const;

/** P's coefficients (|x| < 1) and each interval's Q, lowest power first; f32: the shorter P and the one Q of ERF_F32 */
export function erfCoefficients(): { near: number[]; far: number[][]; nearF32: number[]; farF32: number[] } {
  // erf(x)/x at s = x² (its limit 2/√π at 0)
  const near = (s: bigint) => {
    const x = sqrt(s);
    return x === 0n ? (2n * ONE * ONE) / SQRT_PI : (erfFixed(x) * ONE) / x;
  };
  const far = (x: bigint) => mul(ONE - erfFixed(x), exp(mul(x, x)));
  const [lo, hi, terms] = ERF_F32.far;
  return {
    near: powers(chebyshev(near, 0, 1, ERF_NEAR_TERMS)),
    far: ERF_INTERVALS.map(([a, b, n]) => powers(chebyshev(far, a, b, n))),
    nearF32: powers(chebyshev(near, 0, 1, ERF_F32.nearTerms)),
    farF32: powers(chebyshev(far, lo, hi, terms)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(erfCoefficients(), null, 2));

export const GENERATED_ERF = "src/util/erf.generated.ts";

/** src/util/erf.generated.ts: the coefficients, for the erf helper generated modules define (formatted as npm run lint wants) */
export async function erfModule(): Promise<string> {
  const prettier = await import("prettier");
  const options = await prettier.resolveConfig(GENERATED_ERF);
  return prettier.format(erfText(), { ...options, parser: "typescript" });
}

function erfText(): string {
  const { near, far, nearF32, farF32 } = erfCoefficients();
  const list = (xs: readonly number[], indent: string) =>
    `[\n${xs.map((x) => `${indent}  ${x},`).join("\n")}\n${indent}]`;
  return `// Generated by scripts/erf.ts: npm run gen. Do not edit.

/** erf(x) = x · P(2x² − 1) for |x| < 1: P's coefficients, lowest power first */
export const erfNear: readonly number[] = ${list(near, "")};

/** erf(x) = 1 − exp(−x²) · Q(t) on [lo, hi), t = (2x − lo − hi) / (hi − lo): each interval's Q, lowest power first */
export const erfFar: readonly { readonly lo: number; readonly hi: number; readonly q: readonly number[] }[] = [
${ERF_INTERVALS.map(([lo, hi], k) => `  { lo: ${lo}, hi: ${hi}, q: ${list(far[k], "    ")} },`).join("\n")}
];

/** f32 lanes: erf(x) = x · P(2x² − 1) for |x| < 1, P's coefficients, lowest power first */
export const erfNearF32: readonly number[] = ${list(nearF32, "")};

/** f32 lanes: erf(x) = 1 − exp(−x²) · Q(t) for 1 ≤ |x| ≤ 4 (x clamped to 4), t = (2x − 5) / 3 */
export const erfFarF32: { readonly lo: number; readonly hi: number; readonly q: readonly number[] } = {
  lo: ${ERF_F32.far[0]},
  hi: ${ERF_F32.far[1]},
  q: ${list(farF32, "  ")},
};
`;
}
