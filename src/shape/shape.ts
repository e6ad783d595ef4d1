/** A tensor shape: [] scalar, [n] vector, [m, n] matrix (row-major). */
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

/** Shape seen as rows x cols: a vector is one row, a scalar is 1 x 1. */
export function rowsCols(s: Shape): [number, number] {
  if (s.length === 0) return [1, 1];
  if (s.length === 1) return [1, s[0]];
  return [s[0], s[1]];
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
