import { bin, iadd, imul, num, assign, loop, type Expr } from "../code/syntax.js";
import {
  broadcastsTo,
  dropLast,
  permutedShape,
  rowsCols,
  sameShape,
  size,
  windowFits,
  type Shape,
} from "../shape/shape.js";
import { alignedRight, batchedShape } from "./batching.js";
import { floorDiv, I, nest, zero } from "./loops.js";
import { inversePerm, padOf, permuteOf, reshapeOf, sliceOf } from "./primitives.js";
import { ravel, sourceIndex, unravel } from "./reference.js";
import { padGradTex, padTex, permuteTex, reshapeTex, sliceGradTex, sliceTex } from "./tex.js";
import { kernel, view, type KernelDef, ViewDef } from "./types.js";

/**
 * Movement ops: views (index maps over another node's elements, never materialized) and pad,
 * slice's transpose. Their derivatives are each other: broadcast <-> reduce, permute <-> the
 * inverse permute, reshape <-> reshape back, slice <-> pad.
 */
export const movement = {
  /** NumPy broadcast of x to `target` */
  broadcast: view({
    implicit: true,
    linear: true,
    args: ["x"],
    shape: (a, t) => (t && broadcastsTo(a[0], t) ? t : undefined),
    attrs: [],
    target: true,
    flops: null,
    // the adjoint of a broadcast sums over the broadcast axes
    grads: ["reduce_to(g, x)"],
    tex: "{x}",
    evaluate: (n, [x], [s]) => Float64Array.from({ length: size(n.shape) }, (_, i) => x[sourceIndex(s, n.shape, i)]),
    // NumPy broadcast: a source dimension of 1 (or a missing leading one) repeats. In a flat loop,
    // a source that is the target's trailing axes (a bias) is read at flat % its size, and one
    // that is its leading axes (a row statistic) at ⌊flat / the rest⌋, instead of unravelling
    view: (pos, source, n) => {
      const flat = pos.flatOnly && flatBroadcast(pos.flat(), source, n.shape);
      if (flat) return { flat };
      const idx = pos.idx();
      const off = n.shape.length - source.length;
      return { idx: source.map((d, k) => (d === 1 ? zero : idx[k + off])) };
    },
    // a batched scalar spread along a vector is a row broadcast; else align the batch axis left
    batch: (b, n, [x], B) =>
      x.shape.length === 0 && n.shape.length === 1
        ? b.node("rowbcast", [x.id], { target: batchedShape(B, n.shape) })
        : b.broadcastTo(alignedRight(b, x, n.shape.length, B), batchedShape(B, n.shape)),
  }),
  /** each row of `target` filled with one element of v: [m] -> [m, n], scalar -> [n] */
  rowbcast: view({
    implicit: true,
    linear: true,
    args: ["v"],
    shape: (a, t) => (t && t.length >= 1 && sameShape(dropLast(t), a[0]) ? t : undefined),
    attrs: [],
    target: true,
    flops: null,
    grads: ["rowsum(g)"],
    tex: "{v}",
    evaluate: (n, [v]) => {
      const c = n.shape[n.shape.length - 1];
      return Float64Array.from({ length: size(n.shape) }, (_, i) => v[Math.floor(i / c)]);
    },
    // element (..., c) of each row is that row's value v[...]: flat index ⌊flat / c⌋
    view: (pos, _, n) =>
      pos.flatOnly
        ? { flat: floorDiv(pos.flat(), n.shape[n.shape.length - 1], size(n.shape)) }
        : { idx: pos.idx().slice(0, -1) },
    batch: (b, n, [v], B) => b.node("rowbcast", [v.id], { target: batchedShape(B, n.shape) }),
  }),
  transpose: view({
    linear: true,
    args: ["x"],
    shape: (a) => (a[0].length === 2 ? [a[0][1], a[0][0]] : undefined),
    attrs: [],
    target: false,
    flops: null,
    grads: ["transpose(g)"],
    tex: "{x}^{\\top}",
    evaluate: (n, [x], [s]) => {
      const [m, k] = rowsCols(s);
      return Float64Array.from({ length: m * k }, (_, i) => x[(i % m) * k + Math.floor(i / m)]);
    },
    // (r, c) of X^T is (c, r) of X
    view: (pos) => ({ idx: [...pos.idx()].reverse() }),
    batch: (b, _n, [x]) => b.node("permute", [x.id], { attrs: { perm: [0, 2, 1] } }),
  }),
  /** result axis k is operand axis attrs.perm[k] */
  permute: view({
    linear: true,
    args: ["x"],
    shape: (a, _t, at) => (a[0].length >= 2 ? permutedShape(a[0], at?.perm) : undefined),
    attrs: ["perm"],
    target: false,
    flops: null,
    // permute <-> the inverse permutation
    grads: [(b, n, g) => permuteOf(b, g, inversePerm(n.attrs!.perm!))],
    show: ["unpermute(g, x)"],
    tex: permuteTex,
    evaluate: (n, [x], [s]) => {
      const perm = n.attrs!.perm!;
      return Float64Array.from({ length: x.length }, (_, i) => {
        const idx = unravel(i, n.shape);
        const src = new Array<number>(s.length);
        perm.forEach((p, k) => (src[p] = idx[k]));
        return x[ravel(src, s)];
      });
    },
    // result axis k is source axis perm[k]
    view: (pos, source, n) => {
      const idx = pos.idx();
      const src = new Array<Expr>(source.length);
      n.attrs!.perm!.forEach((p, k) => (src[p] = idx[k]));
      return { idx: src };
    },
    batch: (b, n, [x]) => b.node("permute", [x.id], { attrs: { perm: [0, ...n.attrs!.perm!.map((p) => p + 1)] } }),
  }),
  /** the same elements in row-major order, shaped `target` */
  reshape: view({
    linear: true,
    args: ["x"],
    shape: (a, t) => (t && size(t) === size(a[0]) && !sameShape(t, a[0]) ? t : undefined),
    attrs: [],
    target: true,
    flops: null,
    // reshape <-> reshape back
    grads: [(b, n, g) => reshapeOf(b, g, b.shape(n.args[0]))],
    show: ["unreshape(g, x)"],
    tex: reshapeTex,
    evaluate: (_n, [x]) => Float64Array.from(x),
    // the same elements in the same order
    view: (pos) => ({ flat: pos.flat() }),
    batch: (b, n, [x], B) => reshapeOf(b, x.id, batchedShape(B, n.shape)),
  }),
  /** result index i reads operand index starts + steps * i on each axis; shaped `target` */
  slice: view({
    linear: true,
    args: ["x"],
    shape: (a, t, at) => (windowFits(a[0], t, at?.starts, at?.steps) ? t : undefined),
    attrs: ["starts", "steps"],
    target: true,
    flops: null,
    // slice <-> pad: the window's cotangent, zeros elsewhere
    grads: [(b, n, g) => padOf(b, g, n.attrs!.starts!, n.attrs!.steps!, b.shape(n.args[0]))],
    show: ["unslice(g, x)"],
    showGrad: sliceGradTex,
    tex: sliceTex,
    evaluate: (n, [x], [s]) => {
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
    // index i reads start + step * i
    view: (pos, _source, n) => ({
      idx: pos.idx().map((e, k) => iadd(num(n.attrs!.starts![k]), imul(num(n.attrs!.steps![k]), e))),
    }),
    batch: (b, n, [x], B) =>
      b.node("slice", [x.id], {
        target: batchedShape(B, n.shape),
        attrs: { starts: [0, ...n.attrs!.starts!], steps: [1, ...n.attrs!.steps!] },
      }),
  }),
  /** zeros of shape `target`, with operand index i written at starts + steps * i (slice's transpose) */
  pad: kernel({
    linear: true,
    args: ["x"],
    shape: (a, t, at) => (t && windowFits(t, a[0], at?.starts, at?.steps) ? t : undefined),
    attrs: ["starts", "steps"],
    target: true,
    flops: null,
    grads: [(b, n, g) => sliceOf(b, g, n.attrs!.starts!, n.attrs!.steps!, b.shape(n.args[0]))],
    show: ["unpad(g, x)"],
    showGrad: padGradTex,
    tex: padTex,
    evaluate: (n, [x], [s]) => {
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
    // zeros, then x written at start + step * i
    emit: (k) => {
      const { starts, steps } = k.node.attrs!;
      const at = (idx: Expr[]) => idx.map((e, a) => iadd(num(starts![a]), imul(num(steps![a]), e)));
      return [
        loop("i", num(size(k.node.shape)), [assign(k.out(zero, I), zero)]),
        ...nest(k.shapeOf(0), 0, (idx) => [assign(k.outIdx(at(idx)), k.atIdx(0, idx))]),
      ];
    },
    batch: (b, n, [x], B) =>
      b.node("pad", [x.id], {
        target: batchedShape(B, n.shape),
        attrs: { starts: [0, ...n.attrs!.starts!], steps: [1, ...n.attrs!.steps!] },
      }),
  }),
} satisfies Record<string, ViewDef | KernelDef>;

/**
 * A broadcast's source index from the target's flat index, when the axes the source keeps (the
 * target's extents > 1 that it does not repeat along) are one contiguous block: ⌊flat / the
 * extents after the block⌋ % the block's size (a bias: flat % size; a row statistic:
 * ⌊flat / row length⌋). Undefined for two blocks or more, which read by multi-index.
 */
function flatBroadcast(flat: Expr, source: Shape, target: Shape): Expr | undefined {
  const off = target.length - source.length;
  const axes = target.map((d, k) => ({ d, kept: k >= off && source[k - off] === d })).filter((a) => a.d !== 1);
  const first = axes.findIndex((a) => a.kept);
  if (first < 0) return zero;
  let end = axes.length;
  while (!axes[end - 1].kept) end--;
  if (axes.slice(first, end).some((a) => !a.kept)) return undefined;
  const q = floorDiv(flat, size(axes.slice(end).map((a) => a.d)), size(target));
  return first === 0 ? q : bin("%", q, num(size(axes.slice(first, end).map((a) => a.d))));
}
