/**
 * Four f32 lanes at a time (f32x4): the builder the loop kernels (loops.ts) write their bodies
 * with, and the functions WebAssembly lacks (exp, log, erf, tanh) as straight-line SIMD code. Each
 * result is within a few f32 ulps of the function (test/wasm-loops.test.ts measures it);
 * the generated TypeScript computes them in doubles with Math, so the two targets agree to f32
 * precision, not bit for bit.
 */
import { erfFarF32, erfNearF32 } from "../../util/erf.generated.js";

/**
 * a WAT f32 literal: the nearest f32, in decimal (wabt refuses a decimal beyond f32's range, so
 * the rounding happens here) or the name of a non-finite value
 */
function f32Literal(x: number): string {
  const f = Math.fround(x);
  if (Number.isNaN(f)) return "nan";
  if (!Number.isFinite(f)) return f > 0 ? "inf" : "-inf";
  return Object.is(f, -0) ? "-0.0" : String(f);
}

/**
 * Three-address SIMD code: every value a v128 local (`$v0`, `$v1`, …), set once per loop
 * step; V8's optimizing tier keeps them in registers. `set` returns the expression that reads
 * the value back.
 */
export class Vec {
  readonly stmts: string[] = [];
  private count = 0;

  /** a new local's name */
  local(): string {
    return `$v${this.count++}`;
  }

  /** a new local holding `expr` */
  set(expr: string): string {
    const name = this.local();
    this.stmts.push(`(local.set ${name} ${expr})`);
    return `(local.get ${name})`;
  }

  /** how many locals it holds */
  get size(): number {
    return this.count;
  }

  /** the locals' declarations */
  decls(): string {
    return Array.from({ length: this.count }, (_, k) => `(local $v${k} v128)`).join(" ");
  }
}

/** the same f32 in every lane */
export const splat = (x: number): string => {
  const c = f32Literal(x);
  return `(v128.const f32x4 ${c} ${c} ${c} ${c})`;
};
export const splatI = (k: number): string => `(v128.const i32x4 ${k} ${k} ${k} ${k})`;
const op = (name: string, ...args: string[]) => `(f32x4.${name} ${args.join(" ")})`;

/** p[0] + t (p[1] + t (p[2] + …)): Horner's rule, one multiply-add per coefficient */
function horner(b: Vec, p: readonly number[], t: string): string {
  let acc = splat(p[p.length - 1]);
  for (let k = p.length - 2; k >= 0; k--) acc = b.set(op("add", op("mul", acc, t), splat(p[k])));
  return acc;
}

/** 1/k! for k = 0…7: e^r's Taylor series, whose next term is under 6e-9 of e^r for |r| ≤ ln2/2 */
const EXP_TAYLOR = [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040];
/** ln 2 as C1 + C2: C1 = 355/512 has 9 bits, so n · C1 is exact for |n| < 2^15 (Cody and Waite) */
const LN2_HI = 0.693359375;
const LN2_LO = Math.LN2 - LN2_HI;

/**
 * e^x in each lane: x = n ln2 + r with n = round(x / ln2), |r| ≤ ln2/2; e^r by its Taylor
 * series; 2^n built in the exponent bits as 2^h · 2^(n−h), h = ⌊n/2⌋, so that each factor is a
 * normal number for every n in [−150, 128] and the last product rounds once into the subnormals
 * or overflows to ∞ as e^x does. x is clamped to [−104, 89] first (e^−104 rounds to 0, e^89 to
 * ∞ in f32); NaN stays NaN (f32x4.min and max propagate it).
 */
export function exp4(b: Vec, x: string): string {
  const c = b.set(op("min", op("max", x, splat(-104)), splat(89)));
  const n = b.set(op("nearest", op("mul", c, splat(Math.LOG2E))));
  const r = b.set(op("sub", op("sub", c, op("mul", n, splat(LN2_HI))), op("mul", n, splat(LN2_LO))));
  const p = horner(b, EXP_TAYLOR, r);
  const ni = b.set(`(i32x4.trunc_sat_f32x4_s ${n})`);
  const h = b.set(`(i32x4.shr_s ${ni} (i32.const 1))`);
  const pow2 = (e: string) => `(i32x4.shl (i32x4.add ${e} ${splatI(127)}) (i32.const 23))`;
  return b.set(op("mul", op("mul", p, pow2(h)), pow2(`(i32x4.sub ${ni} ${h})`)));
}

/**
 * ln x in each lane: x = m · 2^e with m in [√½, √2) (a subnormal x scaled by 2^23 first);
 * ln m = 2 atanh(s) = 2 (s + s³/3 + s⁵/5 + …), s = (m − 1)/(m + 1), |s| ≤ 0.172, whose terms
 * after s¹¹/11 are under 1e-10 of the sum; ln x = e ln2 + ln m. ln 0 = −∞, ln of a negative or
 * NaN is NaN, ln ∞ = ∞.
 */
export function log4(b: Vec, x: string): string {
  const tiny = b.set(op("lt", x, splat(2 ** -126)));
  const scaled = b.set(`(v128.bitselect ${op("mul", x, splat(2 ** 23))} ${x} ${tiny})`);
  const bits = `(i32x4.sub ${scaled} ${splatI(0x3f3504f3)})`; // the bits of x / √½
  const e = b.set(`(i32x4.shr_s ${bits} (i32.const 23))`);
  // m = x / 2^e, in [√½, √2): x's mantissa with the exponent of 2^0 or 2^−1
  const m = b.set(`(i32x4.sub ${scaled} (i32x4.shl ${e} (i32.const 23)))`);
  const s = b.set(op("div", op("sub", m, splat(1)), op("add", m, splat(1))));
  const s2 = b.set(op("mul", s, s));
  const series = horner(b, [2, 2 / 3, 2 / 5, 2 / 7, 2 / 9, 2 / 11], s2);
  const ef = b.set(op("sub", `(f32x4.convert_i32x4_s ${e})`, `(v128.bitselect ${splat(23)} ${splat(0)} ${tiny})`));
  const y = b.set(
    op("add", op("mul", s, series), op("add", op("mul", ef, splat(LN2_HI)), op("mul", ef, splat(LN2_LO)))),
  );
  // the edges: 0 → −∞, negative → NaN, ∞ → ∞, NaN → NaN
  const zero = op("eq", x, splat(0));
  const bad = `(v128.or ${op("lt", x, splat(0))} ${op("ne", x, x)})`;
  const inf = op("eq", x, splat(Infinity));
  return b.set(
    `(v128.bitselect ${splat(-Infinity)} (v128.bitselect ${splat(NaN)} (v128.bitselect ${x} ${y} ${inf}) ${bad}) ${zero})`,
  );
}

/**
 * erf x in each lane, from the f32 fits of scripts/erf.ts: x · P(2x² − 1) below |x| = 1, and
 * ±(1 − e^(−a²) Q((2a − 5)/3)) with a = min(|x|, 4) from 1 on (erfc(4) is under half an ulp of 1);
 * both are computed and the lane picks one. NaN stays NaN; ±0 keeps its sign.
 */
export function erf4(b: Vec, x: string): string {
  const a = b.set(op("abs", x));
  const near = b.set(
    op("mul", x, horner(b, erfNearF32, b.set(op("sub", op("mul", op("mul", x, x), splat(2)), splat(1))))),
  );
  const c = b.set(op("min", a, splat(erfFarF32.hi)));
  const { lo, hi } = erfFarF32;
  const t = b.set(op("sub", op("mul", c, splat(2 / (hi - lo))), splat((hi + lo) / (hi - lo))));
  const q = horner(b, erfFarF32.q, t);
  const far = b.set(op("sub", splat(1), op("mul", exp4(b, op("neg", op("mul", c, c))), q)));
  // far ≥ 0: x's sign bit on it
  const signed = `(v128.or ${far} (v128.and ${x} ${splatI(-0x80000000)}))`;
  return b.set(`(v128.bitselect ${near} ${signed} ${op("lt", a, splat(lo))})`);
}

/** tanh's Taylor series x Σ c_k x^(2k): the term after these is under 6e-9 of tanh x for |x| < 0.55 */
const TANH_TAYLOR = [
  1,
  -1 / 3,
  2 / 15,
  -17 / 315,
  62 / 2835,
  -1382 / 155925,
  21844 / 6081075,
  -929569 / 638512875,
  6404582 / 10854718875,
];

/**
 * tanh x in each lane: x · P(x²) (its Taylor series) below |x| = 0.55, where 1 − 2/(e^2|x| + 1)
 * would cancel; from there on ±(1 − 2/(e^2a + 1)) with a = min(|x|, 10) (tanh x rounds to 1 in f32 from 9.01 on).
 * NaN stays NaN; ±0 keeps its sign.
 */
export function tanh4(b: Vec, x: string): string {
  const a = b.set(op("abs", x));
  const near = b.set(op("mul", x, horner(b, TANH_TAYLOR, b.set(op("mul", x, x)))));
  const e = exp4(b, op("mul", op("min", a, splat(10)), splat(2)));
  const far = b.set(op("sub", splat(1), op("div", splat(2), op("add", e, splat(1)))));
  const signed = `(v128.or ${far} (v128.and ${x} ${splatI(-0x80000000)}))`;
  return b.set(`(v128.bitselect ${near} ${signed} ${op("lt", a, splat(0.55))})`);
}
