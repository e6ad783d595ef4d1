import type { Node } from "../../ir/graph.js";
import type { Op } from "../../ir/ops.js";
import { rowsCols, type Shape } from "../../shape/shape.js";
import { assign, bin, call, decl, iadd, id, imul, loop, member, neg, num, type Expr, type Stmt } from "./syntax.js";

/** What a kernel sees: its node, operand element access, and its destination. */
export interface KernelCtx {
  readonly node: Node;
  shapeOf(operand: number): Shape;
  /** element (r, c) of operand `i`, seen as rows x cols (a vector is one row) */
  at(operand: number, r: Expr, c: Expr): Expr;
  /** the destination element (r, c); a scalar result is a local */
  out(r: Expr, c: Expr): Expr;
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
export const kernels: Partial<Record<Op, Kernel>> = {
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
    const [r, c] = rowsCols(k.shapeOf(0));
    const [tr, tc] = rowsCols(k.node.shape);
    const ti = tr === 1 ? zero : I;
    const tj = tc === 1 ? zero : J;
    const scalarOut = k.node.shape.length === 0;
    const init: Stmt[] = scalarOut ? [] : [loop("i", num(tr), [loop("j", num(tc), [assign(k.out(I, J), zero)])])];
    return [...init, ...(scalarOut ? [assign(k.out(zero, zero), zero)] : []), loop("i", num(r), [loop("j", num(c), [assign(k.out(ti, tj), k.at(0, I, J), "+=")])])];
  },
  // y_i = sum_t A_it x_t
  matvec: (k) => {
    const [m, n] = rowsCols(k.shapeOf(0));
    return [
      loop("i", num(m), [
        decl("let", "acc", zero),
        loop("t", num(n), [assign(id("acc"), bin("*", k.at(0, I, T), k.at(1, zero, T)), "+=")]),
        assign(k.out(zero, I), id("acc")),
      ]),
    ];
  },
  // y_j = sum_t x_t B_tj, row by row of B (contiguous)
  vecmat: (k) => {
    const [n, c] = rowsCols(k.shapeOf(1));
    return [
      loop("j", num(c), [assign(k.out(zero, J), zero)]),
      loop("t", num(n), [decl("const", "a", k.at(0, zero, T)), loop("j", num(c), [assign(k.out(zero, J), bin("*", id("a"), k.at(1, T, J)), "+=")])]),
    ];
  },
  // Y_ij = sum_t A_it B_tj, in i-t-j order so B and Y are read along rows
  matmul: (k) => {
    const [m, n] = rowsCols(k.shapeOf(0));
    const [, c] = rowsCols(k.shapeOf(1));
    return [
      loop("i", num(m), [
        loop("j", num(c), [assign(k.out(I, J), zero)]),
        loop("t", num(n), [decl("const", "a", k.at(0, I, T)), loop("j", num(c), [assign(k.out(I, J), bin("*", id("a"), k.at(1, T, J)), "+=")])]),
      ]),
    ];
  },
  // Y_ij = a_i b_j
  outer: (k) => {
    const m = k.shapeOf(0)[0];
    const n = k.shapeOf(1)[0];
    return [loop("i", num(m), [decl("const", "a", k.at(0, zero, I)), loop("j", num(n), [assign(k.out(I, J), bin("*", id("a"), k.at(1, zero, J)))])])];
  },
  // s = sum_i a_i b_i
  dot: (k) => {
    const n = k.shapeOf(0)[0];
    return [
      decl("let", "acc", zero),
      loop("j", num(n), [assign(id("acc"), bin("*", k.at(0, zero, J), k.at(1, zero, J)), "+=")]),
      assign(k.out(zero, zero), id("acc")),
    ];
  },
  // y = exp(x - m) / sum exp(x - m), per row (m = row max: no overflow)
  softmax: (k) => {
    const [r, c] = rowsCols(k.node.shape);
    return [
      ...rows(r, (i) => [
        ...rowLse(k, i, c),
        loop("j", num(c), [assign(k.out(i, J), bin("/", call(Mx("exp"), bin("-", k.at(0, i, J), id("m"))), id("s")))]),
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
        loop("j", num(c), [assign(k.out(i, J), bin("-", k.at(0, i, J), id("l")))]),
      ]),
    ];
  },
  // y = m + log sum exp(x - m), per row
  logsumexp: (k) => {
    const [r, c] = rowsCols(k.shapeOf(0));
    return rows(r, (i) => [...rowLse(k, i, c), assign(k.out(zero, i), bin("+", id("m"), call(Mx("log"), id("s"))))]);
  },
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

/** Names the kernels use for themselves; generated locals never take them. */
export const kernelLocals = ["i", "j", "t", "m", "s", "a", "l", "acc"];

/** Flat row-major index of (r, c) in a tensor of `shape`. */
export function flatIndex(shape: Shape, r: Expr, c: Expr): Expr {
  const [, cols] = rowsCols(shape);
  return shape.length === 2 ? iadd(imul(r, num(cols)), c) : c;
}
