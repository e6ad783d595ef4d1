import { assign, bin, call, decl, id, loop, num } from "../code/syntax.js";
import { dropLast, rowsCols, sameShape } from "../shape/shape.js";
import { sameOpBatch } from "./batching.js";
import { J, Mx, rowLse, rows, zero } from "./loops.js";
import { lse, perRow, rowReduce, rowsOf } from "./reference.js";
import { kernel, type KernelDef } from "./types.js";

/** Ops on each row (the last axis): softmax, log-softmax, logsumexp, softmax cross-entropy; overflow-free by the row maximum. */
export const rowwise = {
  softmax: kernel({
    args: ["x"],
    shape: (a) => (a[0].length >= 1 ? a[0] : undefined),
    attrs: [],
    target: false,
    flops: null,
    // softmax' = diag(y) - y y^T, applied to g: y * (g - <g, y>)
    grads: ["y * (g - rowexpand(rowsum(g * y), x))"],
    tex: "\\operatorname{softmax}\\left({x}\\right)",
    evaluate: perRow((row) => {
      const l = lse(row);
      return [...row].map((v) => Math.exp(v - l));
    }),
    // y = exp(x - m) / sum exp(x - m), per row (m = row max: no overflow)
    emit: (k) => {
      const [r, c] = rowsCols(k.node.shape);
      return [
        ...rows(r, (i) => [
          ...rowLse(k, i, c),
          loop("j", num(c), k.store(i, J, bin("/", call(Mx("exp"), bin("-", k.at(0, i, J), id("m"))), id("s")))),
        ]),
      ];
    },
    finalStore: () => true,
    batch: sameOpBatch,
  }),
  log_softmax: kernel({
    args: ["x"],
    shape: (a) => (a[0].length >= 1 ? a[0] : undefined),
    attrs: [],
    target: false,
    flops: null,
    // log_softmax' applied to g: g - softmax(x) * sum(g)
    grads: ["g - exp(y) * rowexpand(rowsum(g), x)"],
    tex: "\\operatorname{log\\,softmax}\\left({x}\\right)",
    evaluate: perRow((row) => {
      const l = lse(row);
      return [...row].map((v) => v - l);
    }),
    // y = x - logsumexp(x), per row
    emit: (k) => {
      const [r, c] = rowsCols(k.node.shape);
      return [
        ...rows(r, (i) => [
          ...rowLse(k, i, c),
          decl("const", "l", bin("+", id("m"), call(Mx("log"), id("s")))),
          loop("j", num(c), k.store(i, J, bin("-", k.at(0, i, J), id("l")))),
        ]),
      ];
    },
    finalStore: () => true,
    batch: sameOpBatch,
  }),
  logsumexp: kernel({
    args: ["x"],
    shape: (a) => (a[0].length >= 1 ? dropLast(a[0]) : undefined),
    attrs: [],
    target: false,
    flops: null,
    // d logsumexp = softmax
    grads: ["rowexpand(g, x) * softmax(x)"],
    tex: "\\operatorname{logsumexp}\\left({x}\\right)",
    evaluate: rowReduce(lse),
    // y = m + log sum exp(x - m), per row
    emit: (k) => {
      const [r, c] = rowsCols(k.shapeOf(0));
      return rows(r, (i) => [...rowLse(k, i, c), assign(k.out(zero, i), bin("+", id("m"), call(Mx("log"), id("s"))))]);
    },
    batch: sameOpBatch,
  }),
  /** softmax cross-entropy per row: logsumexp(z) - sum(t * z) (= -sum(t * log softmax(z)) when t sums to 1) */
  sce: kernel({
    args: ["z", "t"],
    shape: (a) => (a[0].length >= 1 && sameShape(a[0], a[1]) ? dropLast(a[0]) : undefined),
    attrs: [],
    target: false,
    flops: null,
    grads: ["rowexpand(g, z) * (softmax(z) - t)", "-(rowexpand(g, z) * z)"],
    tex: "\\operatorname{CE}\\left({z}, {t}\\right)",
    evaluate: (_n, [z, t], [s]) => {
      const tr = rowsOf(t, s);
      return Float64Array.from(
        rowsOf(z, s).map((row, i) => lse(row) - row.reduce((acc, v, j) => acc + v * tr[i][j], 0)),
      );
    },
    // y = logsumexp(z) - sum_j t_j z_j, per row (lecture 4.6.4)
    emit: (k) => {
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
    batch: sameOpBatch,
  }),
} satisfies Record<string, KernelDef>;
