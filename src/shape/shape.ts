/** A tensor shape: [] scalar, [n] vector, [m, n] matrix, [a, b, c, ...] of any rank (row-major). */
export type Shape = readonly number[];

export const scalar: Shape = [];

export function size(s: Shape): number {
  return s.reduce((a, b) => a * b, 1);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function showShape(s: Shape): string {
  return s.length === 0 ? "scalar" : `[${s.join(", ")}]`;
}

/** NumPy broadcasting (dimensions aligned on the right; equal, or one of them 1). */
export function broadcastShapes(a: Shape, b: Shape): Shape | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    const da = a[a.length - rank + k] ?? 1;
    const db = b[b.length - rank + k] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(Math.max(da, db));
  }
  return out;
}

/** Can `from` be broadcast to exactly `to`? */
export function broadcastsTo(from: Shape, to: Shape): boolean {
  const b = broadcastShapes(from, to);
  return b !== undefined && sameShape(b, to);
}

/**
 * Shape seen as rows x cols: a vector is one row, a scalar is 1 x 1, and a tensor of rank 3 or
 * more is its last axis as columns with every leading axis flattened into rows.
 */
export function rowsCols(s: Shape): [number, number] {
  if (s.length === 0) return [1, 1];
  if (s.length === 1) return [1, s[0]];
  const cols = s[s.length - 1];
  return [size(s) / cols, cols];
}

/** Row-major strides: element [i0, i1, ...] is at sum_k i_k * strides[k]. */
export function strides(s: Shape): number[] {
  const out = new Array<number>(s.length);
  let acc = 1;
  for (let k = s.length - 1; k >= 0; k--) {
    out[k] = acc;
    acc *= s[k];
  }
  return out;
}

/** A negative axis counts from the end (NumPy); undefined when out of range. */
export function normalizeAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return Number.isInteger(a) && a >= 0 && a < rank ? a : undefined;
}

/** The shape left after reducing `axes` away (axes ascending, distinct, in range), else undefined. */
export function reducedShape(s: Shape, axes: readonly number[] | undefined): Shape | undefined {
  if (!axes || axes.length === 0) return undefined;
  for (let k = 0; k < axes.length; k++)
    if (!(axes[k] >= 0 && axes[k] < s.length) || (k > 0 && axes[k] <= axes[k - 1])) return undefined;
  return s.filter((_, k) => !axes.includes(k));
}

/** The reduced shape with each reduced axis kept as 1 (keepdims). */
export function keptShape(s: Shape, axes: readonly number[]): Shape {
  return s.map((d, k) => (axes.includes(k) ? 1 : d));
}

/** Result axis k is operand axis perm[k]; undefined unless perm is a permutation of the axes. */
export function permutedShape(s: Shape, perm: readonly number[] | undefined): Shape | undefined {
  if (
    !perm ||
    perm.length !== s.length ||
    new Set(perm).size !== perm.length ||
    perm.some((p) => !(p >= 0 && p < s.length))
  )
    return undefined;
  return perm.map((p) => s[p]);
}

export function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, k) => (inv[p] = k));
  return inv;
}

/**
 * Does a strided window `window` (start + step * i, i < window[k], per axis) lie inside `full`?
 * Slices read such a window; pads write one.
 */
export function windowFits(
  full: Shape,
  window: Shape | undefined,
  starts?: readonly number[],
  steps?: readonly number[],
): boolean {
  if (
    !window ||
    !starts ||
    !steps ||
    window.length !== full.length ||
    starts.length !== full.length ||
    steps.length !== full.length
  )
    return false;
  return full.every((n, k) => {
    const last = starts[k] + steps[k] * (window[k] - 1);
    return (
      window[k] >= 1 &&
      Number.isInteger(steps[k]) &&
      steps[k] !== 0 &&
      starts[k] >= 0 &&
      starts[k] < n &&
      last >= 0 &&
      last < n
    );
  });
}

/**
 * Do `cols` = [...lead, K_1..K_n, O_1..O_n] hold the sliding windows of `whole` = [...lead, S_1..S_n]
 * (n = steps.length): window o at kernel offset k reads o * steps + k * dilation < S on each axis?
 * Unfold reads such columns; fold adds them back.
 */
export function unfoldFits(
  whole: Shape,
  cols: Shape,
  steps?: readonly number[],
  dilation?: readonly number[],
): boolean {
  if (!steps || !dilation || steps.length === 0 || dilation.length !== steps.length) return false;
  const n = steps.length;
  const lead = whole.length - n;
  if (lead < 0 || cols.length !== whole.length + n || !sameShape(cols.slice(0, lead), whole.slice(0, lead)))
    return false;
  return steps.every((s, a) => {
    const [k, o, d] = [cols[lead + a], cols[lead + n + a], dilation[a]];
    const positive = (v: number) => Number.isInteger(v) && v >= 1;
    return positive(s) && positive(d) && positive(k) && positive(o) && (o - 1) * s + (k - 1) * d < whole[lead + a];
  });
}

/** Matmul kinds by operand ranks, NumPy's 1-D/2-D rules. */
export type MatmulKind = "matvec" | "vecmat" | "matmul" | "dot";

export function matmulKind(a: Shape, b: Shape): MatmulKind | undefined {
  if (a.length === 2 && b.length === 1) return "matvec";
  if (a.length === 1 && b.length === 2) return "vecmat";
  if (a.length === 2 && b.length === 2) return "matmul";
  if (a.length === 1 && b.length === 1) return "dot";
  return undefined;
}

/** Result of a @ b, or undefined if the inner dimensions differ. */
export function matmulShape(a: Shape, b: Shape): Shape | undefined {
  const k = matmulKind(a, b);
  if (!k) return undefined;
  const inner = a[a.length - 1];
  const innerB = b.length === 2 ? b[0] : b[0];
  if (inner !== innerB) return undefined;
  if (k === "matvec") return [a[0]];
  if (k === "vecmat") return [b[1]];
  if (k === "matmul") return [a[0], b[1]];
  return [];
}

/** Shape after reducing the last axis: [m, n] -> [m], [n] -> scalar. */
export function dropLast(s: Shape): Shape {
  return s.slice(0, -1);
}
