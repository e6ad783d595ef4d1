import type { Node } from "../ir/graph.js";
import type { Op } from "../ir/ops.js";
import { parseSpec } from "../shape/contract.js";
import { rowsCols, size, strides, type Shape } from "../shape/shape.js";

/**
 * The reference semantics of each IR op, written plainly and independently of the emitters
 * (the oracle must not share their code). Every value is a Float64Array in row-major order;
 * a scalar is an array of length 1.
 */
type Kernel = (n: Node, args: readonly Float64Array[], shapes: readonly Shape[]) => Float64Array;

const map1 =
  (f: (x: number) => number): Kernel =>
  (_n, [x]) =>
    x.map(f);
const map2 =
  (f: (a: number, b: number) => number): Kernel =>
  (_n, [a, b]) =>
    a.map((v, i) => f(v, b[i]));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * erf by its Maclaurin series for |x| < 2 (terms shrink past n ~ x², 1e-17 after ~50 terms)
 * and the continued fraction of erfc beyond; independent of the emitted helper.
 */
function erfReference(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated backwards
  let f = ax;
  for (let k = 160; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

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
const perRow =
  (f: (row: Float64Array) => number[]): Kernel =>
  (_n, [x], [s]) =>
    Float64Array.from(rowsOf(x, s).flatMap(f));
const rowReduce =
  (f: (row: Float64Array, i: number) => number): Kernel =>
  (_n, [x], [s]) =>
    Float64Array.from(rowsOf(x, s).map(f));

/** Flat index, within a source of shape `from`, of element `flat` of `to` under NumPy broadcasting. */
function sourceIndex(from: Shape, to: Shape, flat: number): number {
  const idx = unravel(flat, to);
  const off = to.length - from.length;
  return ravel(
    from.map((d, k) => (d === 1 ? 0 : idx[k + off])),
    from,
  );
}

/** The multi-index of flat position `flat` in `shape`. */
function unravel(flat: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = flat % shape[k];
    flat = Math.floor(flat / shape[k]);
  }
  return idx;
}
function ravel(idx: readonly number[], shape: Shape): number {
  let f = 0;
  for (let k = 0; k < shape.length; k++) f = f * shape[k] + idx[k];
  return f;
}

/** reduce x over `axes` with (acc, v) -> acc from `init` */
function reduceAxes(
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
function contract(n: Node, args: readonly Float64Array[], shapes: readonly Shape[]): Float64Array {
  const spec = parseSpec(n.attrs!.spec!)!;
  const sizes = new Map<string, number>();
  spec.inputs.forEach((sub, i) => [...sub].forEach((c, k) => sizes.set(c, shapes[i][k])));
  [...spec.output].forEach((c, k) => sizes.set(c, n.shape[k]));
  const letters = [...sizes.keys()];
  const total = letters.reduce((p, c) => p * sizes.get(c)!, 1);
  const out = new Float64Array(size(n.shape));
  const value = new Map<string, number>();
  for (let t = 0; t < total; t++) {
    let rest = t;
    for (let k = letters.length - 1; k >= 0; k--) {
      const d = sizes.get(letters[k])!;
      value.set(letters[k], rest % d);
      rest = Math.floor(rest / d);
    }
    let p = 1;
    spec.inputs.forEach(
      (sub, i) =>
        (p *=
          args[i][
            ravel(
              [...sub].map((c) => value.get(c)!),
              shapes[i],
            )
          ]),
    );
    out[
      ravel(
        [...spec.output].map((c) => value.get(c)!),
        n.shape,
      )
    ] += p;
  }
  return out;
}

/** an index read from data: an integer in 0..n-1, else a RangeError (never a silent NaN) */
function checkedIndex(v: number, n: number, what: string): number {
  if (!(Number.isInteger(v) && v >= 0 && v < n))
    throw new RangeError(`${what}: index ${v} is out of range 0..${n - 1}`);
  return v;
}

/** the shape of g in scatter_add(g, ids): the target with its axis replaced by the shape of ids */
function unravelShape(n: Node, idsShape: Shape): Shape {
  const axis = n.attrs!.axis!;
  return [...n.shape.slice(0, axis), ...idsShape, ...n.shape.slice(axis + 1)];
}

/** for take(x, ids, axis): each element of the result, the flat index in x it reads */
function takeSources(xShape: Shape, ids: Float64Array, idsShape: Shape, axis: number, out: Shape): number[] {
  return Array.from({ length: size(out) }, (_, i) => {
    const idx = unravel(i, out);
    const j = ravel(idx.slice(axis, axis + idsShape.length), idsShape);
    const at = checkedIndex(ids[j], xShape[axis], "take");
    return ravel([...idx.slice(0, axis), at, ...idx.slice(axis + idsShape.length)], xShape);
  });
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
  // NaN stays NaN (PyTorch, JAX)
  relu: map1((x) => (x < 0 ? 0 : x)),
  softplus: map1((x) => (x > 30 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))),
  step: map1((x) => (x > 0 ? 1 : 0)),
  sign: map1(Math.sign),
  log1p: map1(Math.log1p),
  expm1: map1(Math.expm1),
  erf: map1(erfReference),
  add: map2((a, b) => a + b),
  sub: map2((a, b) => a - b),
  mul: map2((a, b) => a * b),
  div: map2((a, b) => a / b),
  pow: map2((a, b) => Math.pow(a, b)),
  // elementwise maximum and minimum: a NaN operand gives NaN (NumPy's maximum/minimum)
  max: map2((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a >= b ? a : b)),
  min: map2((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a <= b ? a : b)),
  ge: map2((a, b) => (a >= b ? 1 : 0)),
  gt: map2((a, b) => (a > b ? 1 : 0)),
  eq: map2((a, b) => (a === b ? 1 : 0)),
  guard: map2((a, b) => (a === 0 ? 0 : b)),
  select: (_n, [c, a, b]) => c.map((v, i) => (v > 0 ? a[i] : b[i])),
  broadcast: (n, [x], [s]) => Float64Array.from({ length: size(n.shape) }, (_, i) => x[sourceIndex(s, n.shape, i)]),
  rowbcast: (n, [v]) => {
    const c = n.shape[n.shape.length - 1];
    return Float64Array.from({ length: size(n.shape) }, (_, i) => v[Math.floor(i / c)]);
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
  matvec: (_n, [A, x], [sa]) =>
    Float64Array.from(rowsOf(A, sa).map((row) => row.reduce((acc, v, k) => acc + v * x[k], 0))),
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
  outer: (_n, [a, b]) =>
    Float64Array.from({ length: a.length * b.length }, (_, i) => a[Math.floor(i / b.length)] * b[i % b.length]),
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
  reduce_sum: (n, [x], [s]) => reduceAxes(x, s, n.attrs!.axes!, n.shape, 0, (a, v) => a + v),
  // NaN wins, as in NumPy
  reduce_max: (n, [x], [s]) =>
    reduceAxes(x, s, n.attrs!.axes!, n.shape, -Infinity, (a, v) =>
      Number.isNaN(a) || v > a || Number.isNaN(v) ? v : a,
    ),
  reduce_min: (n, [x], [s]) =>
    reduceAxes(x, s, n.attrs!.axes!, n.shape, Infinity, (a, v) =>
      Number.isNaN(a) || v < a || Number.isNaN(v) ? v : a,
    ),
  permute: (n, [x], [s]) => {
    const perm = n.attrs!.perm!;
    return Float64Array.from({ length: x.length }, (_, i) => {
      const idx = unravel(i, n.shape);
      const src = new Array<number>(s.length);
      perm.forEach((p, k) => (src[p] = idx[k]));
      return x[ravel(src, s)];
    });
  },
  reshape: (_n, [x]) => Float64Array.from(x),
  slice: (n, [x], [s]) => {
    const { starts, steps } = n.attrs!;
    return Float64Array.from(
      { length: size(n.shape) },
      (_, i) =>
        x[
          ravel(
            unravel(i, n.shape).map((v, k) => starts![k] + steps![k] * v),
            s,
          )
        ],
    );
  },
  pad: (n, [x], [s]) => {
    const { starts, steps } = n.attrs!;
    const out = new Float64Array(size(n.shape));
    for (let i = 0; i < x.length; i++)
      out[
        ravel(
          unravel(i, s).map((v, k) => starts![k] + steps![k] * v),
          n.shape,
        )
      ] = x[i];
    return out;
  },
  contract1: contract,
  contract2: contract,
  gather: (n, [x, ids], [xs, is]) =>
    Float64Array.from(takeSources(xs, ids, is, n.attrs!.axis!, n.shape), (src) => x[src]),
  scatter_add: (n, [g, ids], [, is]) => {
    const out = new Float64Array(size(n.shape));
    takeSources(n.shape, ids, is, n.attrs!.axis!, unravelShape(n, is)).forEach((dst, i) => (out[dst] += g[i]));
    return out;
  },
  one_hot: (n, [labels]) => {
    const k = n.shape[n.shape.length - 1];
    const out = new Float64Array(size(n.shape));
    labels.forEach((v, i) => (out[i * k + checkedIndex(v, k, "one_hot")] = 1));
    return out;
  },
  iota: (n) =>
    Float64Array.from(
      { length: size(n.shape) },
      (_, i) => Math.floor(i / strides(n.shape)[n.attrs!.axis!]) % n.shape[n.attrs!.axis!],
    ),
  sce: (_n, [z, t], [s]) => {
    const tr = rowsOf(t, s);
    return Float64Array.from(rowsOf(z, s).map((row, i) => lse(row) - row.reduce((acc, v, j) => acc + v * tr[i][j], 0)));
  },
};
