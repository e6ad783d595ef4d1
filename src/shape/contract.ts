import { sameShape, type Shape } from "./shape.js";

/**
 * Einsum subscripts of the contraction primitive, "ij,jk->ik": one letter per operand axis,
 * then the result's. Generalized so that it is closed under differentiation (the gradient of
 * an operand is a contraction whose result is that operand's subscripts):
 *   a letter in no result position is summed over;
 *   a letter repeated in an operand reads its diagonal;
 *   a letter repeated in the result writes a diagonal (zero elsewhere);
 *   a result letter in no operand broadcasts (its size comes from the result shape).
 */
export interface Spec {
  readonly inputs: readonly string[];
  readonly output: string;
}

export function parseSpec(spec: string): Spec | undefined {
  const m = /^([a-zA-Z]*(?:,[a-zA-Z]*)*)->([a-zA-Z]*)$/.exec(spec);
  if (!m) return undefined;
  return { inputs: m[1].split(","), output: m[2] };
}

export function formatSpec(s: Spec): string {
  return `${s.inputs.join(",")}->${s.output}`;
}

/** Each letter's size, from the operands (and the result shape for result-only letters); undefined if they disagree. */
export function letterSizes(s: Spec, shapes: readonly Shape[], target?: Shape): Map<string, number> | undefined {
  const sizes = new Map<string, number>();
  const bind = (letters: string, shape: Shape): boolean => {
    if (letters.length !== shape.length) return false;
    for (let k = 0; k < letters.length; k++) {
      const have = sizes.get(letters[k]);
      if (have !== undefined && have !== shape[k]) return false;
      sizes.set(letters[k], shape[k]);
    }
    return true;
  };
  if (s.inputs.length !== shapes.length) return undefined;
  for (let i = 0; i < shapes.length; i++) if (!bind(s.inputs[i], shapes[i])) return undefined;
  if (target && !bind(s.output, target)) return undefined;
  for (const c of s.output) if (!sizes.has(c)) return undefined;
  return sizes;
}

/** The result shape of a contraction, or undefined when the operands (or the target) do not fit. */
export function contractShape(
  spec: string | undefined,
  shapes: readonly Shape[],
  target: Shape | undefined,
): Shape | undefined {
  const s = spec === undefined ? undefined : parseSpec(spec);
  if (!s || !target) return undefined;
  const sizes = letterSizes(s, shapes, target);
  if (!sizes) return undefined;
  const out = [...s.output].map((c) => sizes.get(c)!);
  return sameShape(out, target) ? target : undefined;
}

/** Multiply-adds of one evaluation: one per combination of every letter's value. */
export function contractFlops(spec: string, shapes: readonly Shape[], target: Shape): number {
  const s = parseSpec(spec);
  const sizes = s && letterSizes(s, shapes, target);
  if (!sizes) return 0;
  let n = 1;
  for (const v of sizes.values()) n *= v;
  return 2 * n;
}

/** How a two-operand einsum is a batched matrix product: C[P, i, k] = sum_j A[P?, i, j] B[P?, j, k], in any axis order. */
export interface BatchedProduct {
  /** the batch letters: the result's other letters (an operand without one is the same for each of its values) */
  readonly batch: readonly string[];
  readonly i: string;
  readonly j: string;
  readonly k: string;
}

/** The einsum as a batched matrix product, or undefined when it is not one (a repeated letter, a sum over one operand, a vector, ...). */
export function asBatchedProduct(spec: string): BatchedProduct | undefined {
  const s = parseSpec(spec);
  if (!s || s.inputs.length !== 2) return undefined;
  const [a, b] = s.inputs;
  const distinct = (t: string) => new Set(t).size === t.length;
  if (![a, b, s.output].every(distinct)) return undefined;
  const only = (t: string, f: (c: string) => boolean) => [...t].filter(f);
  const inOut = (c: string) => s.output.includes(c);
  // the result's letters of one operand only: the last is the matrix's row (column) letter, the
  // others batch letters the other operand does not have (it is the same for each of them)
  const i = only(s.output, (c) => a.includes(c) && !b.includes(c));
  const k = only(s.output, (c) => b.includes(c) && !a.includes(c));
  const j = only(a, (c) => !inOut(c) && b.includes(c));
  const strays = [...a, ...b].filter((c) => !inOut(c) && !(a.includes(c) && b.includes(c)));
  const unfed = only(s.output, (c) => !a.includes(c) && !b.includes(c));
  if (!i.length || j.length !== 1 || !k.length || strays.length || unfed.length) return undefined;
  const [ri, rk] = [i[i.length - 1], k[k.length - 1]];
  return { batch: only(s.output, (c) => c !== ri && c !== rk), i: ri, j: j[0], k: rk };
}
