import { originNote, type Node } from "../../ir/graph.js";
import type { Op, OpOfKind } from "../../ir/ops.js";
import { parseSpec } from "../../shape/contract.js";
import { rowsCols, size, type Shape } from "../../shape/shape.js";
import { kernelVar, ndLocals } from "./access.js";
import {
  assign,
  bin,
  call,
  cond,
  decl,
  iadd,
  id,
  imul,
  loop,
  member,
  neg,
  num,
  type Expr,
  type Stmt,
} from "./syntax.js";

/** What a kernel sees: its node, operand element access, and its destination. */
export interface KernelCtx {
  readonly node: Node;
  shapeOf(operand: number): Shape;
  /** is operand i a transpose view (so its rows are its source's columns)? */
  transposed(operand: number): boolean;
  /** element (r, c) of operand `i`, seen as rows x cols (a vector is one row) */
  at(operand: number, r: Expr, c: Expr): Expr;
  /** the destination element (r, c); a scalar result is a local */
  out(r: Expr, c: Expr): Expr;
  /** the final value of element (r, c): stores it, and computes the elementwise ops fused after it (the epilogue) */
  store(r: Expr, c: Expr, value: Expr): Stmt[];
  /** N-D kernels: the element of operand i at a multi-index */
  atIdx(operand: number, idx: readonly Expr[]): Expr;
  /** N-D kernels: the destination element at a multi-index */
  outIdx(idx: readonly Expr[]): Expr;
  /** the element of operand i at a flat row-major index */
  atFlat(operand: number, flat: Expr): Expr;
}

export type Kernel = (k: KernelCtx) => Stmt[];

const Mx = (name: string) => member(id("Math"), name);
const I = id("i");
const J = id("j");
const T = id("t");
const zero = num(0);

/** for (i < rows) body(i); a single row is body(0), not a one-trip loop */
function rows(n: number, body: (i: Expr) => Stmt[]): Stmt[] {
  return n === 1 ? [{ k: "block", body: body(zero) }] : [loop("i", num(n), body(I))];
}

/**
 * acc = sum over t < n of a(t) * b(t), with four partial sums (1.3-2x faster in V8 than one
 * chain of dependent adds); n is known at compile time, so the remainder loop is exact.
 */
function dotProduct(finish: (sum: Expr) => Stmt[], n: number, a: (t: Expr) => Expr, b: (t: Expr) => Expr): Stmt[] {
  if (n < 8)
    return [
      decl("let", "acc", zero),
      loop("t", num(n), [assign(id("acc"), bin("*", a(T), b(T)), "+=")]),
      ...finish(id("acc")),
    ];
  const main = n - (n % 4);
  const parts = ["s0", "s1", "s2", "s3"];
  const at = (k: number) => (k === 0 ? T : bin("+", T, num(k)));
  const stmts: Stmt[] = [
    ...parts.map((p) => decl("let", p, zero)),
    {
      k: "for",
      v: "t",
      from: zero,
      to: num(main),
      step: 4,
      body: parts.map((p, k) => assign(id(p), bin("*", a(at(k)), b(at(k))), "+=")),
    },
  ];
  if (main < n) stmts.push(loop("t", num(n), [assign(id("s0"), bin("*", a(T), b(T)), "+=")], num(main)));
  stmts.push(...finish(bin("+", bin("+", id("s0"), id("s1")), bin("+", id("s2"), id("s3")))));
  return stmts;
}

/** per row r of operand 0: m = max, s = sum exp(x - m); `then` gets (r, m, s) */
function rowLse(k: KernelCtx, r: Expr, cols: number, x = 0): Stmt[] {
  return [
    decl("let", "m", neg(id("Infinity"))),
    loop("j", num(cols), [assign(id("m"), call(Mx("max"), id("m"), k.at(x, r, J)))]),
    decl("let", "s", zero),
    loop("j", num(cols), [assign(id("s"), call(Mx("exp"), bin("-", k.at(x, r, J), id("m"))), "+=")]),
  ];
}

/**
 * The loop nest of every non-elementwise, non-view op. Format: op -> statements that fill the
 * destination. Loop variables i, j, t and locals m, s, a, acc are reserved by the emitter.
 */
export const kernels: Record<OpOfKind<"kernel">, Kernel> = {
  // s = sum_i x_i
  sum: (k) => {
    const [r, c] = rowsCols(k.shapeOf(0));
    return [
      decl("let", "acc", zero),
      ...rows(r, (i) => [loop("j", num(c), [assign(id("acc"), k.at(0, i, J), "+=")])]),
      assign(k.out(zero, zero), id("acc")),
    ];
  },
  // y_i = sum_j x_ij
  rowsum: (k) => {
    const [r, c] = rowsCols(k.shapeOf(0));
    return [
      ...rows(r, (i) => [
        decl("let", "acc", zero),
        loop("j", num(c), [assign(id("acc"), k.at(0, i, J), "+=")]),
        assign(k.out(zero, i), id("acc")),
      ]),
    ];
  },
  // y = x summed over the axes that broadcast_to(y, shape(x)) would repeat
  reduce_to: (k) => {
    if (k.shapeOf(0).length > 2) return reduceToND(k);
    const [r, c] = rowsCols(k.shapeOf(0));
    const [tr, tc] = rowsCols(k.node.shape);
    const ti = tr === 1 ? zero : I;
    const tj = tc === 1 ? zero : J;
    const scalarOut = k.node.shape.length === 0;
    const init: Stmt[] = scalarOut ? [] : [loop("i", num(tr), [loop("j", num(tc), [assign(k.out(I, J), zero)])])];
    return [
      ...init,
      ...(scalarOut ? [assign(k.out(zero, zero), zero)] : []),
      loop("i", num(r), [loop("j", num(c), [assign(k.out(ti, tj), k.at(0, I, J), "+=")])]),
    ];
  },
  // y_i = sum_t A_it x_t: four rows at a time, so each x_t is loaded once for four products
  matvec: (k) => {
    const [m, n] = rowsCols(k.shapeOf(0));
    if (m < 4 || n < 8)
      return [
        loop(
          "i",
          num(m),
          dotProduct(
            (v) => k.store(zero, I, v),
            n,
            (t) => k.at(0, I, t),
            (t) => k.at(1, zero, t),
          ),
        ),
      ];
    const m4 = m - (m % 4);
    const row = (q: number) => (q === 0 ? I : bin("+", I, num(q)));
    const parts = ["s0", "s1", "s2", "s3"];
    const stmts: Stmt[] = [
      {
        k: "for",
        v: "i",
        from: zero,
        to: num(m4),
        step: 4,
        body: [
          ...parts.map((p) => decl("let", p, zero)),
          loop("t", num(n), [
            decl("const", "a", k.at(1, zero, T)),
            ...parts.map((p, q) => assign(id(p), bin("*", k.at(0, row(q), T), id("a")), "+=")),
          ]),
          ...parts.flatMap((p, q) => k.store(zero, row(q), id(p))),
        ],
      },
    ];
    if (m4 < m)
      stmts.push(
        loop(
          "i",
          num(m),
          dotProduct(
            (v) => k.store(zero, I, v),
            n,
            (t) => k.at(0, I, t),
            (t) => k.at(1, zero, t),
          ),
          num(m4),
        ),
      );
    return stmts;
  },
  // y_j = sum_t x_t B_tj, row by row of B (contiguous)
  vecmat: (k) => {
    const [n, c] = rowsCols(k.shapeOf(1));
    return [
      loop("j", num(c), [assign(k.out(zero, J), zero)]),
      loop("t", num(n), [
        decl("const", "a", k.at(0, zero, T)),
        loop("j", num(c), [assign(k.out(zero, J), bin("*", id("a"), k.at(1, T, J)), "+=")]),
      ]),
    ];
  },
  // Y_ij = sum_t A_it B_tj, in the loop order that reads memory along rows and reuses it:
  //   A W^T (forward through a layer): W's row j outermost, so each row of W is read from
  //     memory once and dotted with every row of A from cache (j-i-t)
  //   G^T B (a weight gradient): output row i stays in L1 while four rows of B at a time are
  //     added into it (i-t-j, t unrolled by 4)
  //   A B: i-t-j
  matmul: (k) => {
    if (k.transposed(1) && !k.transposed(0)) return matmulByRowsOfB(k);
    if (k.transposed(0) && !k.transposed(1)) return matmulAccumulatingRows(k, 4);
    return matmulAccumulatingRows(k, 1);
  },
  // Y_ij = a_i b_j
  outer: (k) => {
    const m = k.shapeOf(0)[0];
    const n = k.shapeOf(1)[0];
    return [
      loop("i", num(m), [
        decl("const", "a", k.at(0, zero, I)),
        loop("j", num(n), k.store(I, J, bin("*", id("a"), k.at(1, zero, J)))),
      ]),
    ];
  },
  // s = sum_i a_i b_i
  dot: (k) =>
    dotProduct(
      (v) => [assign(k.out(zero, zero), v)],
      k.shapeOf(0)[0],
      (t) => k.at(0, zero, t),
      (t) => k.at(1, zero, t),
    ),
  // y = exp(x - m) / sum exp(x - m), per row (m = row max: no overflow)
  softmax: (k) => {
    const [r, c] = rowsCols(k.node.shape);
    return [
      ...rows(r, (i) => [
        ...rowLse(k, i, c),
        loop("j", num(c), k.store(i, J, bin("/", call(Mx("exp"), bin("-", k.at(0, i, J), id("m"))), id("s")))),
      ]),
    ];
  },
  // y = x - logsumexp(x), per row
  log_softmax: (k) => {
    const [r, c] = rowsCols(k.node.shape);
    return [
      ...rows(r, (i) => [
        ...rowLse(k, i, c),
        decl("const", "l", bin("+", id("m"), call(Mx("log"), id("s")))),
        loop("j", num(c), k.store(i, J, bin("-", k.at(0, i, J), id("l")))),
      ]),
    ];
  },
  // y = m + log sum exp(x - m), per row
  logsumexp: (k) => {
    const [r, c] = rowsCols(k.shapeOf(0));
    return rows(r, (i) => [...rowLse(k, i, c), assign(k.out(zero, i), bin("+", id("m"), call(Mx("log"), id("s"))))]);
  },
  reduce_sum: reduceAxes(zero, (acc, v) => bin("+", acc, v)),
  reduce_max: reduceAxes(neg(id("Infinity")), extremum(">")),
  reduce_min: reduceAxes(id("Infinity"), extremum("<")),
  // zeros, then x written at start + step * i
  pad: (k) => {
    const { starts, steps } = k.node.attrs!;
    const at = (idx: Expr[]) => idx.map((e, a) => iadd(num(starts![a]), imul(num(steps![a]), e)));
    return [
      loop("i", num(size(k.node.shape)), [assign(k.out(zero, I), zero)]),
      ...nest(k.shapeOf(0), 0, (idx) => [assign(k.outIdx(at(idx)), k.atIdx(0, idx))]),
    ];
  },
  contract1: contractKernel,
  contract2: contractKernel,
  // y[..., j, ...] = x[..., ids[j], ...]
  gather: (k) => {
    const r = k.shapeOf(1).length;
    return [
      ...checkIndices(k, 1, k.shapeOf(0)[k.node.attrs!.axis!]),
      ...nest(k.node.shape, 0, (idx) => [assign(k.outIdx(idx), k.atIdx(0, takeIndex(k, idx, r)))]),
    ];
  },
  // y = 0; y[..., ids[j], ...] += g[..., j, ...]
  scatter_add: (k) => {
    const r = k.shapeOf(1).length;
    return [
      ...checkIndices(k, 1, k.node.shape[k.node.attrs!.axis!]),
      loop("i", num(size(k.node.shape)), [assign(k.out(zero, I), zero)]),
      ...nest(k.shapeOf(0), 0, (idx) => [assign(k.outIdx(takeIndex(k, idx, r)), k.atIdx(0, idx), "+=")]),
    ];
  },
  // y = 0; y[i, labels[i]] = 1
  one_hot: (k) => {
    const classes = k.node.shape[k.node.shape.length - 1];
    return [
      ...checkIndices(k, 0, classes),
      loop("i", num(size(k.node.shape)), [assign(k.out(zero, I), zero)]),
      loop("q0", num(size(k.shapeOf(0))), [assign(k.out(id("q0"), k.atFlat(0, id("q0"))), num(1))]),
    ];
  },
  // y = the index along attrs.axis
  iota: (k) => nest(k.node.shape, 0, (idx) => [assign(k.outIdx(idx), idx[k.node.attrs!.axis!])]),
  // y = logsumexp(z) - sum_j t_j z_j, per row (lecture 4.6.4)
  sce: (k) => {
    const [r, c] = rowsCols(k.shapeOf(0));
    return [
      ...rows(r, (i) => [
        ...rowLse(k, i, c),
        decl("let", "acc", zero),
        loop("j", num(c), [assign(id("acc"), bin("*", k.at(1, i, J), k.at(0, i, J)), "+=")]),
        assign(k.out(zero, i), bin("-", bin("+", id("m"), call(Mx("log"), id("s"))), id("acc"))),
      ]),
    ];
  },
};

/** for (q_k < shape[k]) ... nested over every axis, innermost last; body gets the loop variables */
function nest(shape: Shape, first: number, body: (idx: Expr[]) => Stmt[]): Stmt[] {
  const vars = shape.map((_, k) => kernelVar(first + k));
  let stmts = body(vars.map((v) => id(v)));
  for (let k = shape.length - 1; k >= 0; k--) stmts = [loop(vars[k], num(shape[k]), stmts)];
  return stmts;
}

/** y = 0, then every element of x added into the element of y it broadcasts from (axes aligned on the right) */
function reduceToND(k: KernelCtx): Stmt[] {
  const from = k.shapeOf(0);
  const to = k.node.shape;
  const off = from.length - to.length;
  const zeroOut: Stmt[] =
    to.length === 0 ? [assign(k.outIdx([]), zero)] : [loop("i", num(size(to)), [assign(k.out(zero, I), zero)])];
  return [
    ...zeroOut,
    ...nest(from, 0, (idx) => [
      assign(k.outIdx(to.map((d, a) => (d === 1 ? zero : idx[a + off]))), k.atIdx(0, idx), "+="),
    ]),
  ];
}

/** y = reduction of x over attrs.axes: the kept axes outside, the reduced ones inside, one accumulator */
function reduceAxes(init: Expr, combine: (acc: Expr, v: Expr) => Expr): Kernel {
  return (k) => {
    const x = k.shapeOf(0);
    const axes = k.node.attrs!.axes!;
    const kept = x.map((_, a) => a).filter((a) => !axes.includes(a));
    return nest(
      kept.map((a) => x[a]),
      0,
      (outer) => [
        decl("let", "acc", init),
        ...nest(
          axes.map((a) => x[a]),
          kept.length,
          (inner) => {
            const idx = x.map((_, a) => (axes.includes(a) ? inner[axes.indexOf(a)] : outer[kept.indexOf(a)]));
            return [assign(id("acc"), combine(id("acc"), k.atIdx(0, idx)))];
          },
        ),
        assign(k.outIdx(outer), id("acc")),
      ],
    );
  };
}

/** NaN wins, as in NumPy: acc = v when v beats acc, or when either is NaN (v !== v) */
function extremum(beats: ">" | "<"): (acc: Expr, v: Expr) => Expr {
  const nan = (e: Expr) => bin("!==", e, e);
  return (acc, v) => cond(bin("||", bin("||", bin(beats, v, acc), nan(v)), nan(acc)), v, acc);
}

/**
 * Indices read from data (operand `i`): each an integer in 0..n-1, else a RangeError with the
 * value, before anything is read through them (never a silent NaN or a wrong number).
 */
function checkIndices(k: KernelCtx, operand: number, n: number): Stmt[] {
  const v = id("v");
  const ok = bin(
    "&&",
    bin("&&", bin(">=", v, num(0)), bin("<", v, num(n))),
    bin("===", call(member(id("Math"), "floor"), v), v),
  );
  const what = `gradc: ${k.node.origin ? originNote(k.node.origin.text) : k.node.op}: index `;
  const message = bin("+", bin("+", { k: "str", v: what }, v), { k: "str", v: ` is out of range 0..${n - 1}` });
  return [
    loop("q0", num(size(k.shapeOf(operand))), [
      decl("const", "v", k.atFlat(operand, id("q0"))),
      { k: "if", cond: { k: "un", op: "!", a: ok }, body: [{ k: "throw", error: "RangeError", message }] },
    ]),
  ];
}

/** take(x, ids, axis): the operand's index for a result (or cotangent) multi-index, ids read in place */
function takeIndex(k: KernelCtx, idx: readonly Expr[], idsRank: number): Expr[] {
  const axis = k.node.attrs!.axis!;
  return [...idx.slice(0, axis), k.atIdx(1, idx.slice(axis, axis + idsRank)), ...idx.slice(axis + idsRank)];
}

/**
 * A generalized einsum (shape/contract.ts): loops over the result's letters outside and the
 * summed letters inside; a letter repeated in the result writes a diagonal (the rest zeroed first).
 */
function contractKernel(k: KernelCtx): Stmt[] {
  const spec = parseSpec(k.node.attrs!.spec!)!;
  const sizes = new Map<string, number>();
  spec.inputs.forEach((sub, i) => [...sub].forEach((c, a) => sizes.set(c, k.shapeOf(i)[a])));
  [...spec.output].forEach((c, a) => sizes.set(c, k.node.shape[a]));
  const outLetters = [...new Set(spec.output)];
  const summed = [...sizes.keys()].filter((c) => !spec.output.includes(c));
  const diagonal = outLetters.length < spec.output.length;
  const vars = new Map<string, Expr>();
  const body = nest(
    outLetters.map((c) => sizes.get(c)!),
    0,
    (outer) => {
      outLetters.forEach((c, a) => vars.set(c, outer[a]));
      const inner = nest(
        summed.map((c) => sizes.get(c)!),
        outLetters.length,
        (vs) => {
          summed.forEach((c, a) => vars.set(c, vs[a]));
          const factors = spec.inputs.map((sub, i) =>
            k.atIdx(
              i,
              [...sub].map((c) => vars.get(c)!),
            ),
          );
          const product = factors.length ? factors.reduce((x, y) => bin("*", x, y)) : num(1);
          return [assign(id("acc"), product, "+=")];
        },
      );
      return [
        decl("let", "acc", zero),
        ...inner,
        assign(k.outIdx([...spec.output].map((c) => vars.get(c)!)), id("acc")),
      ];
    },
  );
  const zeroFirst: Stmt[] = diagonal ? [loop("i", num(size(k.node.shape)), [assign(k.out(zero, I), zero)])] : [];
  return [...zeroFirst, ...body];
}

/**
 * Views read another node's elements through an index map. Format: op -> (the view's position,
 * as a multi-index or a flat index on demand; the source's shape; the node) -> the source's
 * position. Asking for a multi-index a flat loop does not have makes the loop nest by axis.
 */
export type ViewMap = (
  pos: { idx(): readonly Expr[]; flat(): Expr },
  source: Shape,
  n: Node,
) => { idx: readonly Expr[] } | { flat: Expr };

export const views: Record<OpOfKind<"view">, ViewMap> = {
  // NumPy broadcast: a source dimension of 1 (or a missing leading one) repeats
  broadcast: (pos, source, n) => {
    const idx = pos.idx();
    const off = n.shape.length - source.length;
    return { idx: source.map((d, k) => (d === 1 ? zero : idx[k + off])) };
  },
  // element (..., c) of each row is that row's value v[...]
  rowbcast: (pos) => ({ idx: pos.idx().slice(0, -1) }),
  // (r, c) of X^T is (c, r) of X
  transpose: (pos) => ({ idx: [...pos.idx()].reverse() }),
  // result axis k is source axis perm[k]
  permute: (pos, source, n) => {
    const idx = pos.idx();
    const src = new Array<Expr>(source.length);
    n.attrs!.perm!.forEach((p, k) => (src[p] = idx[k]));
    return { idx: src };
  },
  // the same elements in the same order
  reshape: (pos) => ({ flat: pos.flat() }),
  // index i reads start + step * i
  slice: (pos, _source, n) => ({
    idx: pos.idx().map((e, k) => iadd(num(n.attrs!.starts![k]), imul(num(n.attrs!.steps![k]), e))),
  }),
};

/** The loop nest of a kernel op, the index map of a view op (the tables are total over their kinds). */
export function kernelOf(op: Op): Kernel | undefined {
  return Object.prototype.hasOwnProperty.call(kernels, op) ? kernels[op as OpOfKind<"kernel">] : undefined;
}
export function viewOf(op: Op): ViewMap | undefined {
  return Object.prototype.hasOwnProperty.call(views, op) ? views[op as OpOfKind<"view">] : undefined;
}

/**
 * Kernels that produce each output element once, in its final form, through store(): their
 * elementwise consumers can run right there (epilogue fusion). Format: op -> (which operands
 * are transposes) -> whether that layout stores final values.
 */
export const finalStores: Partial<Record<Op, (transposed: readonly boolean[]) => boolean>> = {
  matvec: () => true,
  matmul: ([a, b]) => b && !a,
  outer: () => true,
  softmax: () => true,
  log_softmax: () => true,
};

/** How a kernel was laid out, for --explain-fusion: op -> (which operands are transposes) -> words. */
export const kernelForms: Partial<Record<Op, (transposed: readonly boolean[]) => string>> = {
  matmul: ([a, b]) =>
    b && !a
      ? "A Bᵀ: row dot products, 2×2 register tile"
      : a && !b
        ? "Aᵀ B: row outer products, 4 rows at a time"
        : "A B: i-t-j",
  matvec: () => "four rows per pass over x",
  dot: () => "dot product, 4 partial sums",
};

/** Names the kernels use for themselves; generated locals never take them. */
export const kernelLocals = [
  "i",
  "j",
  "t",
  "m",
  "s",
  "a",
  "l",
  "acc",
  "s0",
  "s1",
  "s2",
  "s3",
  "a0",
  "a1",
  "a2",
  "a3",
  "v",
  ...ndLocals,
];

/** Flat row-major index of (r, c) in a tensor of `shape`. */
export function flatIndex(shape: Shape, r: Expr, c: Expr): Expr {
  const [, cols] = rowsCols(shape);
  return shape.length >= 2 ? iadd(imul(r, num(cols)), c) : c;
}

/** Y_ij = A_i · B^T_j, one dot product per (i, j), j outermost */
const dotAt = (k: KernelCtx, n: number): Stmt[] =>
  dotProduct(
    (v) => k.store(I, J, v),
    n,
    (t) => k.at(0, I, t),
    (t) => k.at(1, t, J),
  );

/**
 * A W^T (forward through a layer): W's row j outermost, so each row of W is read from memory
 * once and dotted with every row of A from cache (j-i-t), in 2 x 2 register tiles: rows i, i+1
 * of A against rows j, j+1 of W share every load.
 */
function matmulByRowsOfB(k: KernelCtx): Stmt[] {
  const [m, n] = rowsCols(k.shapeOf(0));
  const [, c] = rowsCols(k.shapeOf(1));
  if (m < 2 || c < 2) return [loop("j", num(c), [loop("i", num(m), dotAt(k, n))])];
  const i1 = bin("+", I, num(1));
  const j1 = bin("+", J, num(1));
  const tile: Stmt[] = [
    ...["s0", "s1", "s2", "s3"].map((s) => decl("let", s, zero)),
    loop("t", num(n), [
      decl("const", "a0", k.at(0, I, T)),
      decl("const", "a1", k.at(0, i1, T)),
      decl("const", "a2", k.at(1, T, J)),
      decl("const", "a3", k.at(1, T, j1)),
      assign(id("s0"), bin("*", id("a0"), id("a2")), "+="),
      assign(id("s1"), bin("*", id("a0"), id("a3")), "+="),
      assign(id("s2"), bin("*", id("a1"), id("a2")), "+="),
      assign(id("s3"), bin("*", id("a1"), id("a3")), "+="),
    ]),
    ...k.store(I, J, id("s0")),
    ...k.store(I, j1, id("s1")),
    ...k.store(i1, J, id("s2")),
    ...k.store(i1, j1, id("s3")),
  ];
  const m2 = m - (m % 2);
  const c2 = c - (c % 2);
  const stmts: Stmt[] = [
    {
      k: "for",
      v: "j",
      from: zero,
      to: num(c2),
      step: 2,
      body: [{ k: "for", v: "i", from: zero, to: num(m2), step: 2, body: tile }],
    },
  ];
  // the odd row and column, if any
  if (m2 < m) stmts.push(loop("j", num(c), [{ k: "block", body: [decl("const", "i", num(m2)), ...dotAt(k, n)] }]));
  if (c2 < c) stmts.push(loop("i", num(m2), [{ k: "block", body: [decl("const", "j", num(c2)), ...dotAt(k, n)] }]));
  return stmts;
}

/**
 * Y_i += A_it B_t for each t (i-t-j): output row i stays in L1 while rows of B are added into it,
 * `unroll` rows at a time (G^T B, a weight gradient, takes 4), then the rest one at a time.
 */
function matmulAccumulatingRows(k: KernelCtx, unroll: number): Stmt[] {
  const [m, n] = rowsCols(k.shapeOf(0));
  const [, c] = rowsCols(k.shapeOf(1));
  const main = n - (n % unroll);
  const as = [...Array(unroll).keys()].map((q) => `a${q}`);
  const tq = (q: number) => (q === 0 ? T : bin("+", T, num(q)));
  const unrolled: Stmt[] =
    unroll > 1 && main > 0
      ? [
          {
            k: "for",
            v: "t",
            from: zero,
            to: num(main),
            step: unroll,
            body: [
              ...as.map((a, q) => decl("const", a, k.at(0, I, tq(q)))),
              loop("j", num(c), [
                assign(
                  k.out(I, J),
                  as.map((a, q) => bin("*", id(a), k.at(1, tq(q), J))).reduce((x, y) => bin("+", x, y)),
                  "+=",
                ),
              ]),
            ],
          },
        ]
      : [];
  const rest = unroll > 1 ? main : 0;
  const oneByOne: Stmt[] =
    rest < n
      ? [
          loop(
            "t",
            num(n),
            [
              decl("const", "a", k.at(0, I, T)),
              loop("j", num(c), [assign(k.out(I, J), bin("*", id("a"), k.at(1, T, J)), "+=")]),
            ],
            rest ? num(rest) : undefined,
          ),
        ]
      : [];
  return [loop("i", num(m), [loop("j", num(c), [assign(k.out(I, J), zero)]), ...unrolled, ...oneByOne])];
}
