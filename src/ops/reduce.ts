import { assign, bin, cond, decl, id, loop, neg, num, type Expr, type Stmt } from "../code/syntax.js";
import { broadcastsTo, dropLast, reducedShape, rowsCols, sameShape, size } from "../shape/shape.js";
import { I, J, nest, rows, zero } from "./loops.js";
import { batchedReduceTo, shiftedAxes } from "./batching.js";
import { reshapeOf, unreduce } from "./primitives.js";
import { reduceAxes as reduceRef, rowReduce, sourceIndex } from "./reference.js";
import { extremeTex, sumTex } from "./tex.js";
import { kernel, type GraphBuilder, KernelCtx, KernelDef, Kernel, OpNode } from "./types.js";

/** Reductions: sums over all elements, rows, broadcast axes or any set of axes; max and min over axes. */
export const reduce = {
  /** sum of all elements -> scalar */
  sum: kernel({
    linear: true,
    args: ["x"],
    shape: (a) => (a[0].length >= 1 ? [] : undefined),
    attrs: [],
    target: false,
    flops: null,
    grads: ["expand(g, x)"],
    tex: "\\textstyle\\sum {x}",
    evaluate: (_n, [x]) => Float64Array.of(x.reduce((a, b) => a + b, 0)),
    // s = sum_i x_i
    emit: (k) => {
      const [r, c] = rowsCols(k.shapeOf(0));
      return [
        decl("let", "acc", zero),
        ...rows(r, (i) => [loop("j", num(c), [assign(id("acc"), k.at(0, i, J), "+=")])]),
        assign(k.out(zero, zero), id("acc")),
      ];
    },
    // each sample's sum is one row's sum
    batch: (b, _n, [x], B) => b.node("rowsum", [reshapeOf(b, x.id, [B, size(x.shape)])]),
  }),
  /** sum along the last axis */
  rowsum: kernel({
    linear: true,
    args: ["x"],
    shape: (a) => (a[0].length >= 1 ? dropLast(a[0]) : undefined),
    attrs: [],
    target: false,
    flops: null,
    grads: ["rowexpand(g, x)"],
    tex: "\\operatorname{rowsum}\\left({x}\\right)",
    evaluate: rowReduce((row) => row.reduce((a, b) => a + b, 0)),
    // y_i = sum_j x_ij
    emit: (k) => {
      const [r, c] = rowsCols(k.shapeOf(0));
      return [
        ...rows(r, (i) => [
          decl("let", "acc", zero),
          loop("j", num(c), [assign(id("acc"), k.at(0, i, J), "+=")]),
          assign(k.out(zero, i), id("acc")),
        ]),
      ];
    },
    batch: (b, _n, [x]) => b.node("rowsum", [x.id]),
  }),
  /** sum x down to `target`, the inverse of broadcast */
  reduce_to: kernel({
    linear: true,
    args: ["x"],
    shape: (a, t) => (t && broadcastsTo(t, a[0]) && !sameShape(t, a[0]) ? t : undefined),
    attrs: [],
    target: true,
    flops: null,
    grads: ["expand(g, x)"],
    tex: "\\operatorname{unbroadcast}\\left({x}\\right)",
    evaluate: (n, [x], [s]) => {
      const out = new Float64Array(size(n.shape));
      for (let i = 0; i < x.length; i++) out[sourceIndex(n.shape, s, i)] += x[i];
      return out;
    },
    // y = x summed over the axes that broadcast_to(y, shape(x)) would repeat
    emit: (k) => {
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
    batch: (b, n, [x], B) => batchedReduceTo(b, x, n.shape, B),
  }),
  /** sum over attrs.axes (reduced away) */
  reduce_sum: kernel({
    linear: true,
    args: ["x"],
    shape: (a, _t, at) => reducedShape(a[0], at?.axes),
    attrs: ["axes"],
    target: false,
    flops: null,
    // reduce <-> broadcast: each element of x gets the cotangent of the sum it went into
    grads: [(b, n, g) => unreduce(b, g, n.attrs!.axes!, b.shape(n.args[0]))],
    show: ["expand(g, x)"],
    tex: sumTex,
    evaluate: (n, [x], [s]) => reduceRef(x, s, n.attrs!.axes!, n.shape, 0, (a, v) => a + v),
    emit: reduceAxes(zero, (acc, v) => bin("+", acc, v)),
    batch: (b, n, [x]) => b.node(n.op, [x.id], { attrs: shiftedAxes(n) }),
  }),
  /** max over attrs.axes */
  reduce_max: extremeOverAxes(">"),
  /** min over attrs.axes */
  reduce_min: extremeOverAxes("<"),
} satisfies Record<string, KernelDef>;

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

/** reduce_max/min's cotangent: the extremes of each group (x == y spread back), g / their count */
function shareAmongExtremes(b: GraphBuilder, n: OpNode, g: number): number {
  const axes = n.attrs!.axes!;
  const full = b.shape(n.args[0]);
  const mask = b.elementwise("eq", [n.args[0], unreduce(b, n.id, axes, full)]);
  const count = b.node("reduce_sum", [mask], { attrs: { axes: [...axes] } });
  return b.elementwise("mul", [mask, unreduce(b, b.elementwise("div", [g, count]), axes, full)]);
}

/**
 * reduce_max (beats ">") and reduce_min ("<") over attrs.axes. NaN wins, as in NumPy; the
 * extremes of each reduced group share its cotangent evenly (jnp.max, torch.amax): mask / count.
 */
function extremeOverAxes(beats: ">" | "<"): KernelDef {
  const init = beats === ">" ? -Infinity : Infinity;
  const wins = (a: number, v: number) => Number.isNaN(a) || (beats === ">" ? v > a : v < a) || Number.isNaN(v);
  return kernel({
    args: ["x"],
    shape: (a, _t, at) => reducedShape(a[0], at?.axes),
    attrs: ["axes"],
    target: false,
    flops: null,
    grads: [(b, n, g) => shareAmongExtremes(b, n, g)],
    show: ["extremes(g, x)"],
    tex: extremeTex(beats === ">" ? "\\max" : "\\min"),
    evaluate: (n, [x], [s]) => reduceRef(x, s, n.attrs!.axes!, n.shape, init, (a, v) => (wins(a, v) ? v : a)),
    emit: reduceAxes(beats === ">" ? neg(id("Infinity")) : id("Infinity"), extremum(beats)),
    batch: (b, n, [x]) => b.node(n.op, [x.id], { attrs: shiftedAxes(n) }),
  });
}
