import { parseSpec } from "../shape/contract.js";
import { rowsCols, size, type Shape } from "../shape/shape.js";
import type { Evaluate, OpNode } from "./types.js";

/**
 * Helpers of the reference semantics (each definition's `evaluate`, the test oracle): plain
 * loops over row-major Float64Arrays, sharing no code with the emitted loops.
 */

export const map1 =
  (f: (x: number) => number): Evaluate =>
  (_n, [x]) =>
    x.map(f);
export const map2 =
  (f: (a: number, b: number) => number): Evaluate =>
  (_n, [a, b]) =>
    a.map((v, i) => f(v, b[i]));

export function rowsOf(x: Float64Array, s: Shape): Float64Array[] {
  const [r, c] = rowsCols(s);
  return Array.from({ length: r }, (_, i) => x.subarray(i * c, (i + 1) * c));
}
export function lse(row: Float64Array): number {
  const m = Math.max(...row);
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  return m + Math.log(s);
}
export const perRow =
  (f: (row: Float64Array) => number[]): Evaluate =>
  (_n, [x], [s]) =>
    Float64Array.from(rowsOf(x, s).flatMap(f));
export const rowReduce =
  (f: (row: Float64Array, i: number) => number): Evaluate =>
  (_n, [x], [s]) =>
    Float64Array.from(rowsOf(x, s).map(f));

/** Flat index, within a source of shape `from`, of element `flat` of `to` under NumPy broadcasting. */
export function sourceIndex(from: Shape, to: Shape, flat: number): number {
  const idx = unravel(flat, to);
  const off = to.length - from.length;
  return ravel(
    from.map((d, k) => (d === 1 ? 0 : idx[k + off])),
    from,
  );
}

/** The multi-index of flat position `flat` in `shape`. */
export function unravel(flat: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = flat % shape[k];
    flat = Math.floor(flat / shape[k]);
  }
  return idx;
}
export function ravel(idx: readonly number[], shape: Shape): number {
  let f = 0;
  for (let k = 0; k < shape.length; k++) f = f * shape[k] + idx[k];
  return f;
}

/** reduce x over `axes` with (acc, v) -> acc from `init` */
export function reduceAxes(
  x: Float64Array,
  s: Shape,
  axes: readonly number[],
  out: Shape,
  init: number,
  f: (acc: number, v: number) => number,
): Float64Array {
  const r = new Float64Array(size(out)).fill(init);
  for (let i = 0; i < x.length; i++) {
    const kept = unravel(i, s).filter((_, k) => !axes.includes(k));
    const o = ravel(kept, out);
    r[o] = f(r[o], x[i]);
  }
  return r;
}

/**
 * A generalized einsum (shape/contract.ts): every assignment of a value to every letter adds
 * the product of the operands' elements to the result element it names, if its subscripts agree.
 */
export function contract(n: OpNode, args: readonly Float64Array[], shapes: readonly Shape[]): Float64Array {
  const spec = parseSpec(n.attrs!.spec!)!;
  const sizes = new Map<string, number>();
  spec.inputs.forEach((sub, i) => [...sub].forEach((c, k) => sizes.set(c, shapes[i][k])));
  [...spec.output].forEach((c, k) => sizes.set(c, n.shape[k]));
  const letters = [...sizes.keys()];
  const dims = letters.map((c) => sizes.get(c)!);
  // each letter's step in a tensor's flat index: the sum of its axes' row-major strides (a
  // letter written twice reads or writes the diagonal)
  const steps = (sub: string, shape: Shape) => {
    const st = shape.map((_, k) => size(shape.slice(k + 1)));
    return letters.map((c) => [...sub].reduce((acc, d, k) => acc + (d === c ? st[k] : 0), 0));
  };
  const inSteps = spec.inputs.map((sub, i) => steps(sub, shapes[i]));
  const outSteps = steps(spec.output, n.shape);
  const total = dims.reduce((p, d) => p * d, 1);
  const out = new Float64Array(size(n.shape));
  const value = new Array<number>(letters.length).fill(0);
  // the flat positions of the current assignment, moved as it advances (the last letter fastest)
  const at = new Array<number>(args.length).fill(0);
  let to = 0;
  for (let t = 0; t < total; t++) {
    let p = 1;
    for (let i = 0; i < args.length; i++) p *= args[i][at[i]];
    out[to] += p;
    for (let k = letters.length - 1; k >= 0; k--) {
      const back = ++value[k] < dims[k] ? 1 : 1 - dims[k];
      if (back !== 1) value[k] = 0;
      for (let i = 0; i < args.length; i++) at[i] += back * inSteps[i][k];
      to += back * outSteps[k];
      if (back === 1) break;
    }
  }
  return out;
}

/** an index read from data: an integer in 0..n-1, else a RangeError (never a silent NaN) */
export function checkedIndex(v: number, n: number, what: string): number {
  if (!(Number.isInteger(v) && v >= 0 && v < n))
    throw new RangeError(`${what}: index ${v} is out of range 0..${n - 1}`);
  return v;
}

/** the shape of g in scatter_add(g, ids): the target with its axis replaced by the shape of ids */
export function unravelShape(n: OpNode, idsShape: Shape): Shape {
  const axis = n.attrs!.axis!;
  return [...n.shape.slice(0, axis), ...idsShape, ...n.shape.slice(axis + 1)];
}

/** for take(x, ids, axis): each element of the result, the flat index in x it reads */
export function takeSources(xShape: Shape, ids: Float64Array, idsShape: Shape, axis: number, out: Shape): number[] {
  return Array.from({ length: size(out) }, (_, i) => {
    const idx = unravel(i, out);
    const j = ravel(idx.slice(axis, axis + idsShape.length), idsShape);
    const at = checkedIndex(ids[j], xShape[axis], "take");
    return ravel([...idx.slice(0, axis), at, ...idx.slice(axis + idsShape.length)], xShape);
  });
}
