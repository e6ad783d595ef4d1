import { assign, iadd, imul, loop, num, type Expr } from "../code/syntax.js";
import { size, unfoldFits, type Shape } from "../shape/shape.js";
import { batchedShape } from "./batching.js";
import { I, nest, zero } from "./loops.js";
import { foldTex, unfoldTex } from "./tex.js";
import { kernel, type GraphBuilder, type KernelDef, type OpNode } from "./types.js";

/**
 * Sliding windows, the two ops a convolution is a matrix product through (im2col, as Caffe and
 * PyTorch's unfold compute it): `unfold` copies every window of the last n axes into a column,
 * `fold` adds the columns back (col2im). They are each other's transpose, so each is the other's
 * derivative, like slice and pad.
 *
 *   unfold: x [...lead, S_1..S_n] -> [...lead, K_1..K_n, O_1..O_n],
 *           y[l, k, o] = x[l, o * steps + k * dilation]        (K and O from the target shape)
 *   fold:   y [...lead, K, O] -> [...lead, S] (the target), the transpose: each y[l, k, o] added
 *           into x[l, o * steps + k * dilation]
 */

/** the window axes' count, and the operand position that window position o, kernel offset k reads */
function windowMap(n: OpNode): { axes: number; at: (o: readonly Expr[], k: readonly Expr[]) => Expr[] } {
  const { steps, dilation } = n.attrs!;
  const axes = steps!.length;
  return {
    axes,
    at: (o, k) => o.map((e, a) => iadd(imul(num(steps![a]), e), imul(num(dilation![a]), k[a]))),
  };
}

/** the reference semantics of both: for each element (lead, k, o) of the columns, the flat index of `whole` it reads (unfold) or adds into (fold) */
function sources(whole: Shape, cols: Shape, steps: readonly number[], dilation: readonly number[]): Int32Array {
  const n = steps.length;
  const lead = cols.length - 2 * n;
  const st = whole.map((_, a) => size(whole.slice(a + 1)));
  const idx = new Array<number>(cols.length).fill(0);
  const out = new Int32Array(size(cols));
  for (let c = 0; c < out.length; c++) {
    let at = 0;
    for (let a = 0; a < lead; a++) at += idx[a] * st[a];
    for (let a = 0; a < n; a++) at += (idx[lead + n + a] * steps[a] + idx[lead + a] * dilation[a]) * st[lead + a];
    out[c] = at;
    // the next multi-index, row-major
    for (let a = cols.length - 1; a >= 0 && ++idx[a] === cols[a]; a--) idx[a] = 0;
  }
  return out;
}

const windowAttrs = (n: OpNode) => ({ steps: n.attrs!.steps!, dilation: n.attrs!.dilation! });

/** fold or unfold of a cotangent, back to `target` */
const other = (op: "fold" | "unfold") => (b: GraphBuilder, n: OpNode, g: number) =>
  b.node(op, [g], { target: b.shape(n.args[0]), attrs: windowAttrs(n) });

export const windows = {
  unfold: kernel({
    linear: true,
    args: ["x"],
    shape: (a, t, at) => (t && unfoldFits(a[0], t, at?.steps, at?.dilation) ? t : undefined),
    attrs: ["steps", "dilation"],
    target: true,
    flops: null,
    // unfold <-> fold: each window's cotangent added back where the window read it
    grads: [other("fold")],
    show: ["unfoldback(g, x)"],
    tex: unfoldTex,
    evaluate: (n, [x], [s]) => {
      const from = sources(s, n.shape, n.attrs!.steps!, n.attrs!.dilation!);
      return Float64Array.from(from, (f) => x[f]);
    },
    // y[l, k, o] = x[l, o * steps + k * dilation], the window positions o innermost (a row of a column)
    emit: (k) => {
      const w = windowMap(k.node);
      const lead = k.node.shape.length - 2 * w.axes;
      return nest(k.node.shape, 0, (idx) => [
        assign(
          k.outIdx(idx),
          k.atIdx(0, [...idx.slice(0, lead), ...w.at(idx.slice(lead + w.axes), idx.slice(lead, lead + w.axes))]),
        ),
      ]);
    },
    batch: (b, n, [x], B) => b.node("unfold", [x.id], { target: batchedShape(B, n.shape), attrs: windowAttrs(n) }),
  }),
  fold: kernel({
    linear: true,
    args: ["y"],
    shape: (a, t, at) => (t && unfoldFits(t, a[0], at?.steps, at?.dilation) ? t : undefined),
    attrs: ["steps", "dilation"],
    target: true,
    flops: null,
    grads: [other("unfold")],
    show: ["foldback(g, y)"],
    tex: foldTex,
    evaluate: (n, [y], [s]) => {
      const out = new Float64Array(size(n.shape));
      sources(n.shape, s, n.attrs!.steps!, n.attrs!.dilation!).forEach((f, c) => (out[f] += y[c]));
      return out;
    },
    // zeros, then each column element added where its window read it (overlapping windows add up)
    emit: (k) => {
      const w = windowMap(k.node);
      const cols = k.shapeOf(0);
      const lead = cols.length - 2 * w.axes;
      return [
        loop("i", num(size(k.node.shape)), [assign(k.out(zero, I), zero)]),
        ...nest(cols, 0, (idx) => [
          assign(
            k.outIdx([...idx.slice(0, lead), ...w.at(idx.slice(lead + w.axes), idx.slice(lead, lead + w.axes))]),
            k.atIdx(0, idx),
            "+=",
          ),
        ]),
      ];
    },
    batch: (b, n, [y], B) => b.node("fold", [y.id], { target: batchedShape(B, n.shape), attrs: windowAttrs(n) }),
  }),
} satisfies Record<string, KernelDef>;
