import { assign, bin, decl, iadd, id, imul, loop, num, type Expr, type Stmt } from "../code/syntax.js";
import { asBatchedProduct, contractFlops, contractShape, parseSpec } from "../shape/contract.js";
import { InternalError } from "../diagnostics/internal.js";
import { matmulShape, rowsCols, sameShape, size } from "../shape/shape.js";
import { dotProduct, I, J, nest, T, zero } from "./loops.js";
import { batchedContraction } from "./batching.js";
import { contractGrad, reshapeOf } from "./primitives.js";
import { contract, rowsOf } from "./reference.js";
import { einsumGradTex, einsumTex } from "./tex.js";
import { kernel, type KernelCtx, KernelDef } from "./types.js";

/**
 * Products: the matrix kernels the fast loop schedules (and the wasm target) know, and the
 * generalized einsum every other product lowers to. The derivative of a product is a product.
 */
export const products = {
  matvec: kernel({
    linear: true,
    args: ["A", "x"],
    shape: (a) => (a[0].length === 2 && a[1].length === 1 ? matmulShape(a[0], a[1]) : undefined),
    flops: (a) => 2 * a[0][0] * a[0][1],
    attrs: [],
    target: false,
    // y = A x:  dA = g x^T,  dx = A^T g = g^T A
    grads: ["outer(g, x)", "vecmat(g, A)"],
    tex: "{A} {x}",
    evaluate: (_n, [A, x], [sa]) =>
      Float64Array.from(rowsOf(A, sa).map((row) => row.reduce((acc, v, k) => acc + v * x[k], 0))),
    // y_i = sum_t A_it x_t: four rows at a time, so each x_t is loaded once for four products
    emit: matvecEmit,
    finalStore: () => true,
    form: () => "four rows per pass over x",
    // A x_s for every sample s: X A^T
    batch: (b, n, [A, x], B) =>
      !A.batched
        ? b.node("matmul", [x.id, b.node("transpose", [A.id])])
        : batchedContraction(b, "mn,n->m", [A, x], n, B),
  }),
  vecmat: kernel({
    linear: true,
    args: ["x", "B"],
    shape: (a) => (a[0].length === 1 && a[1].length === 2 ? matmulShape(a[0], a[1]) : undefined),
    flops: (a) => 2 * a[1][0] * a[1][1],
    attrs: [],
    target: false,
    // y = x B:  dx = B g,  dB = x g^T
    grads: ["matvec(B, g)", "outer(x, g)"],
    tex: "{B}^{\\top} {x}",
    evaluate: (_n, [x, B], [, sb]) => {
      const [n, k] = rowsCols(sb);
      return Float64Array.from({ length: k }, (_, j) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += x[i] * B[i * k + j];
        return s;
      });
    },
    emit: (k) => (k.transposed(1) ? matvecEmit(asMatvec(k)) : vecmatByRows(k)),
    finalStore: () => true,
    form: ([, b]) =>
      b
        ? "x Wᵀ: four rows of W per pass over x, bias and activation fused"
        : "x W: eight rows of W per pass over y (four when fewer than 16), bias and activation fused into the last",
    // x_s W for every sample s: X W
    batch: (b, n, [x, W], B) =>
      !W.batched ? b.node("matmul", [x.id, W.id]) : batchedContraction(b, "n,nk->k", [x, W], n, B),
  }),
  matmul: kernel({
    linear: true,
    args: ["A", "B"],
    shape: (a) => (a[0].length === 2 && a[1].length === 2 ? matmulShape(a[0], a[1]) : undefined),
    flops: (a) => 2 * a[0][0] * a[0][1] * a[1][1],
    attrs: [],
    target: false,
    // Y = A B:  dA = G B^T,  dB = A^T G
    grads: ["matmul(g, transpose(B))", "matmul(transpose(A), g)"],
    tex: "{A} {B}",
    evaluate: (_n, [A, B], [sa, sb]) => {
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
    emit: matmulSchedule,
    finalStore: () => true,
    form: ([a, b]) =>
      b && !a
        ? "A Bᵀ: row dot products, 2×2 register tile"
        : a && !b
          ? "Aᵀ B: row outer products, 8 rows at a time (4 when fewer than 16)"
          : "A B: rows of B added into each output row, 8 at a time (4 when fewer than 16)",
    // A_s W for every sample s: the samples' rows stacked, one matrix product
    batch: (b, n, [A, W], B) => {
      if (W.batched) return batchedContraction(b, "mn,nk->mk", [A, W], n, B);
      const [m, k] = n.shape;
      const rows = b.node("matmul", [reshapeOf(b, A.id, [B * m, A.shape[1]]), W.id]);
      return reshapeOf(b, rows, [B, m, k]);
    },
  }),
  // (one multiply per element, no sum)
  outer: kernel({
    linear: true,
    args: ["a", "b"],
    shape: (a) => (a[0].length === 1 && a[1].length === 1 ? [a[0][0], a[1][0]] : undefined),
    flops: (a) => a[0][0] * a[1][0],
    attrs: [],
    target: false,
    // Y = a b^T:  da = G b,  db = G^T a = a^T G
    grads: ["matvec(g, b)", "vecmat(a, g)"],
    tex: "{a} {b}^{\\top}",
    evaluate: (_n, [a, b]) =>
      Float64Array.from({ length: a.length * b.length }, (_, i) => a[Math.floor(i / b.length)] * b[i % b.length]),
    emit: outerEmit,
    finalStore: () => true,
    addsInPlace: true,
    batch: (b, n, args, B) => batchedContraction(b, "m,n->mn", args, n, B),
  }),
  dot: kernel({
    linear: true,
    args: ["a", "b"],
    shape: (a) => (a[0].length === 1 && sameShape(a[0], a[1]) ? [] : undefined),
    flops: (a) => 2 * a[0][0],
    attrs: [],
    target: false,
    grads: ["g * b", "g * a"],
    tex: "{a}^{\\top} {b}",
    evaluate: (_n, [a, b]) => Float64Array.of(a.reduce((acc, v, i) => acc + v * b[i], 0)),
    // s = sum_i a_i b_i
    emit: (k) =>
      dotProduct(
        (v) => [assign(k.out(zero, zero), v)],
        k.shapeOf(0)[0],
        (t) => k.at(0, zero, t),
        (t) => k.at(1, zero, t),
      ),
    form: () => "dot product, 4 partial sums",
    batch: (b, _n, [x, y]) => {
      if (x.batched && y.batched) return b.node("rowsum", [b.node("mul", [x.id, y.id])]);
      const [rows, v] = x.batched ? [x, y] : [y, x];
      return b.node("matvec", [rows.id, v.id]);
    },
  }),
  /** einsum of one operand (attrs.spec, result shaped `target`): diagonals, sums, broadcasts */
  contract1: kernel({
    linear: true,
    args: ["x"],
    shape: (a, t, at) => contractShape(at?.spec, a, t),
    flops: (a, t, at) => contractFlops(at!.spec!, a, t!),
    attrs: ["spec"],
    target: true,
    // a contraction's operand gets the contraction of g with the other operands (its subscripts as the result)
    grads: [(b, n, g) => contractGrad(b, n.attrs!.spec!, n.args, g, 0)],
    show: ["contractgrad(g, x)"],
    showGrad: einsumGradTex(["x"]),
    tex: einsumTex("{x}"),
    evaluate: contract,
    emit: contractKernel,
    batch: (b, n, args, B) => batchedContraction(b, n.attrs!.spec!, args, n, B),
  }),
  /** einsum of two operands (attrs.spec, result shaped `target`): every product of any rank */
  contract2: kernel({
    linear: true,
    args: ["a", "b"],
    shape: (a, t, at) => contractShape(at?.spec, a, t),
    flops: (a, t, at) => contractFlops(at!.spec!, a, t!),
    attrs: ["spec"],
    target: true,
    grads: [
      (b, n, g) => contractGrad(b, n.attrs!.spec!, n.args, g, 0),
      (b, n, g) => contractGrad(b, n.attrs!.spec!, n.args, g, 1),
    ],
    show: ["contractgrad(g, a)", "contractgrad(g, b)"],
    showGrad: einsumGradTex(["a", "b"]),
    tex: einsumTex("{a}, {b}"),
    evaluate: contract,
    // a batched matrix product (every `@` beyond rank 2, and its gradients) runs the matmul
    // schedules per batch element; any other einsum, the generic loops
    emit: (k) => batchedMatmul(k) ?? contractKernel(k),
    batch: (b, n, args, B) => batchedContraction(b, n.attrs!.spec!, args, n, B),
  }),
} satisfies Record<string, KernelDef>;

/**
 * The products of vectors: one row per sample once samples are batched, so a chunk of samples
 * (not one sample) is what makes them matrix products (pipeline.ts batchedChunk).
 */
export const vectorProducts: ReadonlySet<string> = new Set<keyof typeof products>(["matvec", "vecmat", "outer", "dot"]);

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
 * Y_i = sum_t A_it B_t for each row i (i-t-j): output row i stays in L1 while the rows of B are
 * added into it, rowsPerPass at a time (rowTimesMatrix); for A B and for Aᵀ B (a weight gradient).
 */
function matmulAccumulatingRows(k: KernelCtx, flat: boolean): Stmt[] {
  const [m, n] = rowsCols(k.shapeOf(0));
  const [, c] = rowsCols(k.shapeOf(1));
  return [
    loop(
      "i",
      num(m),
      rowTimesMatrix(
        n,
        c,
        (t) => k.at(0, I, t),
        flat && !k.transposed(1) ? { flat: (f) => k.atFlat(1, f) } : { at: (t) => k.at(1, t, J) },
        k.out(I, J),
        (v) => k.store(I, J, v),
      ),
    ),
  ];
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
 * Y_ij = sum_t A_it B_tj, in the loop order that reads memory along rows and reuses it:
 *   A W^T (forward through a layer): W's row j outermost, so each row of W is read from
 *     memory once and dotted with every row of A from cache (j-i-t)
 *   A B and G^T B (a weight gradient): output row i stays in L1 while rows of B are added
 *     into it, rowsPerPass at a time (i-t-j), the last pass storing final values
 * `flat`: the context reads its operands at flat indices (a batched product's does not)
 */
function matmulSchedule(k: KernelCtx, flat = true): Stmt[] {
  if (k.transposed(1) && !k.transposed(0)) return matmulByRowsOfB(k);
  return matmulAccumulatingRows(k, flat);
}

/**
 * A batched matrix product (asBatchedProduct): a loop over the batch letters around the 2-D
 * schedules of `matmul`, which read A and B through a context mapping their (row, column) to
 * the operands' letters; an operand stored column-major (j before i in A, k before j in B) is a
 * transpose to them, so they pick the loop order that reads memory along rows.
 */
function batchedMatmul(k: KernelCtx): Stmt[] | undefined {
  const spec = k.node.attrs!.spec!;
  const p = asBatchedProduct(spec);
  if (!p) return undefined;
  const { inputs, output } = parseSpec(spec)!;
  const sizeOf = (c: string) =>
    output.includes(c) ? k.node.shape[output.indexOf(c)] : k.shapeOf(0)[inputs[0].indexOf(c)];
  // where a letter's axis is in memory: its place in the operand, unless the operand is a view
  // that swaps its last two axes
  const stored = (o: number, c: string) => {
    const at = inputs[o].indexOf(c);
    const r = inputs[o].length;
    return k.transposed(o) && at >= r - 2 ? 2 * r - 3 - at : at;
  };
  return nest(p.batch.map(sizeOf), 0, (vars) => {
    const idx = (letters: string, bind: Readonly<Record<string, Expr>>) =>
      [...letters].map((c) => bind[c] ?? vars[p.batch.indexOf(c)]);
    const outAt = (r: Expr, c: Expr) => k.outIdx(idx(output, { [p.i]: r, [p.k]: c }));
    const byRowCol = (): never => {
      throw new InternalError("the matmul schedules address by (row, column)");
    };
    const matrices: KernelCtx = {
      node: k.node,
      shapeOf: (o) => (o === 0 ? [sizeOf(p.i), sizeOf(p.j)] : [sizeOf(p.j), sizeOf(p.k)]),
      transposed: (o) => (o === 0 ? stored(0, p.j) < stored(0, p.i) : stored(1, p.k) < stored(1, p.j)),
      at: (o, r, c) => k.atIdx(o, idx(inputs[o], o === 0 ? { [p.i]: r, [p.j]: c } : { [p.j]: r, [p.k]: c })),
      out: outAt,
      store: (r, c, v) => [assign(outAt(r, c), v)],
      atIdx: byRowCol,
      outIdx: byRowCol,
      atFlat: byRowCol,
    };
    return matmulSchedule(matrices, false);
  });
}

/** row i + q of a pass over four rows */
const rowI = (q: number) => (q ? iadd(I, num(q)) : I);

/** for (let i = 0; i < to; i += 4) body */
const byFours = (to: number, body: Stmt[]): Stmt => ({ k: "for", v: "i", from: zero, to: num(to), step: 4, body });

/**
 * Y_ij = a_i b_j, four rows per pass over b (each b_j loaded once for four stores: row by row
 * measured 2× slower on the MLP's 784 × 128 weight gradient), the rows past a multiple of four
 * one at a time.
 */
function outerEmit(k: KernelCtx): Stmt[] {
  const m = k.shapeOf(0)[0];
  const n = k.shapeOf(1)[0];
  const byRow = (from: number) =>
    loop(
      "i",
      num(m),
      [decl("const", "a", k.at(0, zero, I)), loop("j", num(n), k.store(I, J, bin("*", id("a"), k.at(1, zero, J))))],
      num(from),
    );
  if (m < 4) return [byRow(0)];
  const m4 = m - (m % 4);
  const rows = [0, 1, 2, 3];
  const pass = byFours(m4, [
    ...rows.map((q) => decl("const", `a${q}`, k.at(0, zero, rowI(q)))),
    loop("j", num(n), [
      decl("const", "v", k.at(1, zero, J)),
      ...rows.flatMap((q) => k.store(rowI(q), J, bin("*", id(`a${q}`), id("v")))),
    ]),
  ]);
  return m4 < m ? [pass, byRow(m4)] : [pass];
}

/** y_i = sum_t A_it x_t: four rows at a time, so each x_t is loaded once for four products */
function matvecEmit(k: KernelCtx): Stmt[] {
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
  const parts = ["s0", "s1", "s2", "s3"];
  const stmts: Stmt[] = [
    byFours(m4, [
      ...parts.map((p) => decl("let", p, zero)),
      loop("t", num(n), [
        decl("const", "a", k.at(1, zero, T)),
        ...parts.map((p, q) => assign(id(p), bin("*", k.at(0, rowI(q), T), id("a")), "+=")),
      ]),
      ...parts.flatMap((p, q) => k.store(zero, rowI(q), id(p))),
    ]),
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
}

/** x Bᵀ as the matrix-vector product B x (B's rows are contiguous): the context matvecEmit reads */
function asMatvec(k: KernelCtx): KernelCtx {
  const [n, c] = rowsCols(k.shapeOf(1));
  return {
    ...k,
    shapeOf: (o) => (o === 0 ? [c, n] : [n]),
    transposed: () => false,
    at: (o, r, col) => (o === 0 ? k.at(1, col, r) : k.at(0, zero, col)),
  };
}

/** y_j = sum_t x_t B_tj, row by row of B (contiguous): rowTimesMatrix */
function vecmatByRows(k: KernelCtx): Stmt[] {
  const [n, c] = rowsCols(k.shapeOf(1));
  return rowTimesMatrix(
    n,
    c,
    (t) => k.at(0, zero, t),
    { flat: (f) => k.atFlat(1, f) },
    k.out(zero, J),
    (v) => k.store(zero, J, v),
  );
}

/**
 * Rows of B added per pass over y in rowTimesMatrix: eight (one load and store of y_j for eight
 * multiply-adds) when there are at least two passes of eight, else four. Eight measured 1.3–1.4×
 * faster than four on the MLP's x @ W1 (784 × 128) on this machine; more registers than eight
 * products' operands the JIT does not keep.
 */
const rowsPerPass = (n: number) => (n >= 16 ? 8 : 4);

/**
 * y_j = sum_t a_t B_tj over t < n, j < c, rowsPerPass(n) rows of B per pass over y (one load and
 * store of y_j for that many multiply-adds): the first pass writes y, the middle ones add into
 * it, the last one stores each final y_j through `store`, so the ops fused after the product (a
 * bias, an activation) run in that pass. `a(t)` reads a_t; `b` reads B: by (row, column j), or,
 * where the context has flat indices, at a flat row-major index, so that the pass's rows are
 * one index `q = t c + j` plus constants (measured 10 % faster than an index per row).
 */
function rowTimesMatrix(
  n: number,
  c: number,
  a: (t: Expr) => Expr,
  b: { at: (t: Expr) => Expr } | { flat: (f: Expr) => Expr },
  y: Expr,
  store: (v: Expr) => Stmt[],
): Stmt[] {
  const R = rowsPerPass(n);
  const groups = Math.ceil(n / R);
  const count = (first: number) => Math.min(R, n - first);
  // a pass over rows first..first+count-1 (first a number or t): the index q and the products
  const pass = (first: Expr, rows: number) => {
    const row = (q: number) => iadd(first, num(q));
    const head: Stmt[] = Array.from({ length: rows }, (_, q) => decl("const", `a${q}`, a(row(q))));
    // row `first` at column j: j itself in the first row, else the local q
    const base = first.k === "num" && first.v === 0 ? J : id("q");
    const at = (q: number): Expr => ("at" in b ? b.at(row(q)) : b.flat(iadd(base, num(q * c))));
    const index: Stmt[] = "flat" in b && base !== J ? [decl("const", "q", iadd(imul(first, num(c)), J))] : [];
    const terms = Array.from({ length: rows }, (_, q) => bin("*", id(`a${q}`), at(q)));
    return { head, index, terms };
  };
  // sum(first terms) (+ rest): eight products in two statements of four, which fit a line
  const total = (terms: readonly Expr[], from?: Expr): { stmts: Stmt[]; value: Expr } => {
    const add = (es: readonly Expr[]) => es.reduce((x, z) => bin("+", x, z));
    const all = from ? [from, ...terms] : terms;
    if (terms.length <= 4) return { stmts: [], value: add(all) };
    return {
      stmts: [decl("const", "s", add(terms.slice(0, 4)))],
      value: add([...(from ? [from] : []), id("s"), ...terms.slice(4)]),
    };
  };
  const lastFirst = R * (groups - 1);
  const lastPass = pass(num(lastFirst), count(lastFirst));
  const lastSum = total(lastPass.terms, groups === 1 ? undefined : y);
  const last: Stmt = {
    k: "block",
    body: [...lastPass.head, loop("j", num(c), [...lastPass.index, ...lastSum.stmts, ...store(lastSum.value)])],
  };
  if (groups === 1) return [last];
  const firstPass = pass(num(0), R);
  const firstSum = total(firstPass.terms);
  const stmts: Stmt[] = [
    {
      k: "block",
      body: [...firstPass.head, loop("j", num(c), [...firstPass.index, ...firstSum.stmts, assign(y, firstSum.value)])],
    },
  ];
  if (groups > 2) {
    const middle = pass(T, R);
    const sum = total(middle.terms);
    stmts.push({
      k: "for",
      v: "t",
      from: num(R),
      to: num(lastFirst),
      step: R,
      body: [...middle.head, loop("j", num(c), [...middle.index, ...sum.stmts, assign(y, sum.value, "+=")])],
    });
  }
  stmts.push(last);
  return stmts;
}
