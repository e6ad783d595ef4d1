import type { Node } from "../ir/graph.js";
import type { Op } from "../ir/ops.js";
import { rowsCols, size, type Shape } from "../shape/shape.js";

/**
 * The reference semantics of each IR op, written plainly and independently of the emitters
 * (the oracle must not share their code). Every value is a Float64Array in row-major order;
 * a scalar is an array of length 1.
 */
type Kernel = (n: Node, args: readonly Float64Array[], shapes: readonly Shape[]) => Float64Array;

const map1 = (f: (x: number) => number): Kernel => (_n, [x]) => x.map(f);
const map2 = (f: (a: number, b: number) => number): Kernel => (_n, [a, b]) => a.map((v, i) => f(v, b[i]));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function rowsOf(x: Float64Array, s: Shape): Float64Array[] {
  const [r, c] = rowsCols(s);
  return Array.from({ length: r }, (_, i) => x.subarray(i * c, (i + 1) * c));
}
function lse(row: Float64Array): number {
  const m = Math.max(...row);
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  return m + Math.log(s);
}
const perRow = (f: (row: Float64Array) => number[]): Kernel => (_n, [x], [s]) => Float64Array.from(rowsOf(x, s).flatMap(f));
const rowReduce = (f: (row: Float64Array, i: number) => number): Kernel => (_n, [x], [s]) => Float64Array.from(rowsOf(x, s).map(f));

/** Index of element (r, c) of `to` within a source of shape `from` under NumPy broadcasting. */
function sourceIndex(from: Shape, to: Shape, flat: number): number {
  const [, tc] = rowsCols(to);
  const r = Math.floor(flat / tc);
  const c = flat % tc;
  const [fr, fc] = rowsCols(from);
  return (fr === 1 ? 0 : r) * fc + (fc === 1 ? 0 : c);
}

export const kernels: Record<Exclude<Op, "param" | "input" | "const">, Kernel> = {
  neg: map1((x) => -x),
  exp: map1(Math.exp),
  log: map1(Math.log),
  sqrt: map1(Math.sqrt),
  abs: map1(Math.abs),
  sin: map1(Math.sin),
  cos: map1(Math.cos),
  tan: map1(Math.tan),
  tanh: map1(Math.tanh),
  sigmoid: map1(sigmoid),
  relu: map1((x) => (x > 0 ? x : 0)),
  softplus: map1((x) => (x > 30 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))),
  step: map1((x) => (x > 0 ? 1 : 0)),
  sign: map1(Math.sign),
  add: map2((a, b) => a + b),
  sub: map2((a, b) => a - b),
  mul: map2((a, b) => a * b),
  div: map2((a, b) => a / b),
  pow: map2((a, b) => Math.pow(a, b)),
  max: map2((a, b) => (a >= b ? a : b)),
  min: map2((a, b) => (a <= b ? a : b)),
  ge: map2((a, b) => (a >= b ? 1 : 0)),
  guard: map2((a, b) => (a === 0 ? 0 : b)),
  select: (_n, [c, a, b]) => c.map((v, i) => (v > 0 ? a[i] : b[i])),
  broadcast: (n, [x], [s]) => Float64Array.from({ length: size(n.shape) }, (_, i) => x[sourceIndex(s, n.shape, i)]),
  rowbcast: (n, [v]) => {
    const [r, c] = rowsCols(n.shape);
    return Float64Array.from({ length: r * c }, (_, i) => v[Math.floor(i / c)]);
  },
  transpose: (n, [x], [s]) => {
    const [m, k] = rowsCols(s);
    return Float64Array.from({ length: m * k }, (_, i) => x[(i % m) * k + Math.floor(i / m)]);
  },
  sum: (_n, [x]) => Float64Array.of(x.reduce((a, b) => a + b, 0)),
  rowsum: rowReduce((row) => row.reduce((a, b) => a + b, 0)),
  reduce_to: (n, [x], [s]) => {
    const out = new Float64Array(size(n.shape));
    for (let i = 0; i < x.length; i++) out[sourceIndex(n.shape, s, i)] += x[i];
    return out;
  },
  matvec: (_n, [A, x], [sa]) => Float64Array.from(rowsOf(A, sa).map((row) => row.reduce((acc, v, k) => acc + v * x[k], 0))),
  vecmat: (_n, [x, B], [, sb]) => {
    const [n, k] = rowsCols(sb);
    return Float64Array.from({ length: k }, (_, j) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i] * B[i * k + j];
      return s;
    });
  },
  matmul: (_n, [A, B], [sa, sb]) => {
    const [m, n] = rowsCols(sa);
    const [, k] = rowsCols(sb);
    return Float64Array.from({ length: m * k }, (_, idx) => {
      const i = Math.floor(idx / k);
      const j = idx % k;
      let s = 0;
      for (let t = 0; t < n; t++) s += A[i * n + t] * B[t * k + j];
      return s;
    });
  },
  outer: (_n, [a, b]) => Float64Array.from({ length: a.length * b.length }, (_, i) => a[Math.floor(i / b.length)] * b[i % b.length]),
  dot: (_n, [a, b]) => Float64Array.of(a.reduce((acc, v, i) => acc + v * b[i], 0)),
  softmax: perRow((row) => {
    const l = lse(row);
    return [...row].map((v) => Math.exp(v - l));
  }),
  log_softmax: perRow((row) => {
    const l = lse(row);
    return [...row].map((v) => v - l);
  }),
  logsumexp: rowReduce(lse),
  sce: (_n, [z, t], [s]) => {
    const tr = rowsOf(t, s);
    return Float64Array.from(rowsOf(z, s).map((row, i) => lse(row) - row.reduce((acc, v, j) => acc + v * tr[i][j], 0)));
  },
};
