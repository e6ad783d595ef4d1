import { rowsCols, strides, type Shape } from "../../shape/shape.js";
import { bin, call, iadd, id, imul, member, num, type Expr } from "../../code/syntax.js";

/**
 * Where an element is, inside a loop, relative to the node being read: its multi-index (one
 * expression per axis) and/or its flat row-major index. Views map one to their source's;
 * elementwise ops read their operands at the same position.
 */
export interface Pos {
  readonly idx?: readonly Expr[];
  readonly flat?: Expr;
  /** the loop tries a flat index first: a read that needs the multi-index throws NeedIndex (the loop then nests) */
  readonly strict?: boolean;
}

/** A read needed the multi-index of a position that has only a flat index. */
export class NeedIndex extends Error {}

/** Flat row-major index of a multi-index: i0 for a vector, i0 * n1 + i1 for a matrix, Horner's rule beyond. */
export function linear(idx: readonly Expr[], shape: Shape): Expr {
  if (shape.length === 0) return num(0);
  let f = idx[0];
  for (let k = 1; k < shape.length; k++) f = iadd(imul(f, num(shape[k])), idx[k]);
  return f;
}

/** The multi-index of a flat index: floor(flat / stride_k) % n_k (for reads that cannot loop by axis). */
export function unravel(flat: Expr, shape: Shape): Expr[] {
  const st = strides(shape);
  return shape.map((d, k) => {
    const q = st[k] === 1 ? flat : call(member(id("Math"), "floor"), bin("/", flat, num(st[k])));
    return k === 0 ? q : bin("%", q, num(d));
  });
}

export function flatOf(pos: Pos, shape: Shape): Expr {
  if (pos.flat) return pos.flat;
  if (shape.length === 0) return num(0);
  if (!pos.idx) throw new NeedIndex();
  return linear(pos.idx, shape);
}

export function idxOf(pos: Pos, shape: Shape): readonly Expr[] {
  if (pos.idx) return pos.idx;
  if (shape.length === 0) return [];
  if (!pos.flat) throw new NeedIndex();
  if (shape.length === 1) return [pos.flat];
  if (pos.strict) throw new NeedIndex();
  return unravel(pos.flat, shape);
}

/** A kernel's (row, column) of a tensor seen as rows x cols (rowsCols), as a position. */
export function rowColPos(r: Expr, c: Expr, shape: Shape): Pos {
  if (shape.length === 0) return { idx: [] };
  if (shape.length === 1) return { idx: [c] };
  if (shape.length === 2) return { idx: [r, c] };
  return { flat: iadd(imul(r, num(shape[shape.length - 1])), c) };
}

/** Flat row-major index of a kernel's (r, c) in a tensor of `shape` (seen as rows x cols, rowsCols). */
export function flatIndex(shape: Shape, r: Expr, c: Expr): Expr {
  const [, cols] = rowsCols(shape);
  return shape.length >= 2 ? iadd(imul(r, num(cols)), c) : c;
}
