import { assign, id, loop, num, type Expr } from "../code/syntax.js";
import { sameShape, size, strides, type Shape } from "../shape/shape.js";
import { batchedShape } from "./batching.js";
import { checkIndices, I, nest, zero } from "./loops.js";
import { permuteOf } from "./primitives.js";
import { checkedIndex, takeSources, unravelShape } from "./reference.js";
import { iotaTex, takeTex } from "./tex.js";
import { kernel, type KernelCtx, KernelDef } from "./types.js";

/** Ops that read integer data: gather (NumPy's take) and its transpose scatter-add, one-hot labels, and iota (an index as a value). */
export const indexing = {
  /** NumPy take: x's axis attrs.axis indexed by the integers `ids` (any rank) */
  gather: kernel({
    args: ["x", "ids"],
    shape: (a, _t, at) => takeShape(a[0], a[1], at?.axis),
    indices: (a, _s, at) => [1, a[0][at!.axis!]],
    attrs: ["axis"],
    target: false,
    flops: null,
    // gather <-> scatter-add: each gathered element's cotangent goes back to the row it came from (repeats add up)
    grads: [
      (b, n, g) =>
        b.node("scatter_add", [g, n.args[1]], { target: [...b.shape(n.args[0])], attrs: { axis: n.attrs!.axis! } }),
      "0",
    ],
    show: ["scatter(g, x)", "0"],
    tex: takeTex("take", "{x}, {ids}"),
    evaluate: (n, [x, ids], [xs, is]) =>
      Float64Array.from(takeSources(xs, ids, is, n.attrs!.axis!, n.shape), (src) => x[src]),
    // y[..., j, ...] = x[..., ids[j], ...]
    emit: (k) => {
      const r = k.shapeOf(1).length;
      return [
        ...checkIndices(k, 1, k.shapeOf(0)[k.node.attrs!.axis!]),
        ...nest(k.node.shape, 0, (idx) => [assign(k.outIdx(idx), k.atIdx(0, takeIndex(k, idx, r)))]),
      ];
    },
    // ids shared by all samples: a gather one axis further right; per-sample ids into a shared
    // table: one gather, its batch axis (where the ids' axes land) moved first
    batch: (b, n, [x, ids]) => {
      const axis = n.attrs!.axis!;
      if (!ids.batched) return b.node("gather", [x.id, ids.id], { attrs: { axis: axis + 1 } });
      if (x.batched) return undefined;
      const all = b.node("gather", [x.id, ids.id], { attrs: { axis } });
      const perm = [axis, ...[...Array(n.shape.length + 1).keys()].filter((k) => k !== axis)];
      return permuteOf(b, all, perm);
    },
  }),
  /** gather's transpose: zeros of shape `target`, each slice of g added at its index along attrs.axis (repeats accumulate) */
  scatter_add: kernel({
    args: ["g", "ids"],
    shape: (a, t, at) =>
      t && at?.axis !== undefined && sameShape(takeShape(t, a[1], at.axis) ?? [-1], a[0]) ? t : undefined,
    indices: (_a, s, at) => [1, s[at!.axis!]],
    attrs: ["axis"],
    target: true,
    flops: null,
    grads: [(b, n, g) => b.node("gather", [g, n.args[1]], { attrs: { axis: n.attrs!.axis! } }), "0"],
    show: ["gatherback(g, g)", "0"],
    tex: takeTex("scatter", "{g}, {ids}"),
    evaluate: (n, [g, ids], [, is]) => {
      const out = new Float64Array(size(n.shape));
      takeSources(n.shape, ids, is, n.attrs!.axis!, unravelShape(n, is)).forEach((dst, i) => (out[dst] += g[i]));
      return out;
    },
    // y = 0; y[..., ids[j], ...] += g[..., j, ...]
    emit: (k) => {
      const r = k.shapeOf(1).length;
      return [
        ...checkIndices(k, 1, k.node.shape[k.node.attrs!.axis!]),
        loop("i", num(size(k.node.shape)), [assign(k.out(zero, I), zero)]),
        ...nest(k.shapeOf(0), 0, (idx) => [assign(k.outIdx(takeIndex(k, idx, r)), k.atIdx(0, idx), "+=")]),
      ];
    },
    batch: (b, n, [g, ids], B) =>
      g.batched && !ids.batched
        ? b.node("scatter_add", [g.id, ids.id], {
            target: batchedShape(B, n.shape),
            attrs: { axis: n.attrs!.axis! + 1 },
          })
        : undefined,
  }),
  /** 1 at [..., labels[...]] of a last axis of length target's last, 0 elsewhere */
  one_hot: kernel({
    args: ["labels"],
    shape: (a, t) => (t && t.length === a[0].length + 1 && sameShape(t.slice(0, -1), a[0]) ? t : undefined),
    indices: (_a, s) => [0, s[s.length - 1]],
    attrs: [],
    target: true,
    flops: null,
    // integer data: no gradient
    grads: ["0"],
    tex: "\\operatorname{onehot}\\left({labels}\\right)",
    evaluate: (n, [labels]) => {
      const k = n.shape[n.shape.length - 1];
      const out = new Float64Array(size(n.shape));
      labels.forEach((v, i) => (out[i * k + checkedIndex(v, k, "one_hot")] = 1));
      return out;
    },
    // y = 0; y[i, labels[i]] = 1
    emit: (k) => {
      const classes = k.node.shape[k.node.shape.length - 1];
      return [
        ...checkIndices(k, 0, classes),
        loop("i", num(size(k.node.shape)), [assign(k.out(zero, I), zero)]),
        loop("q0", num(size(k.shapeOf(0))), [assign(k.out(id("q0"), k.atFlat(0, id("q0"))), num(1))]),
      ];
    },
    batch: (b, n, [labels], B) => b.node("one_hot", [labels.id], { target: batchedShape(B, n.shape) }),
  }),
  /** the index along attrs.axis at every element of `target` (arange, eye, tril masks) */
  iota: kernel({
    args: [],
    shape: (_a, t, at) => (t && at?.axis !== undefined && at.axis >= 0 && at.axis < t.length ? t : undefined),
    attrs: ["axis"],
    target: true,
    flops: null,
    // constant: no operands
    grads: [],
    tex: iotaTex,
    evaluate: (n) =>
      Float64Array.from(
        { length: size(n.shape) },
        (_, i) => Math.floor(i / strides(n.shape)[n.attrs!.axis!]) % n.shape[n.attrs!.axis!],
      ),
    // y = the index along attrs.axis
    emit: (k) => nest(k.node.shape, 0, (idx) => [assign(k.outIdx(idx), idx[k.node.attrs!.axis!])]),
    // no operands: never batched
    batch: null,
  }),
} satisfies Record<string, KernelDef>;

/** take(x, ids, axis): the operand's index for a result (or cotangent) multi-index, ids read in place */
function takeIndex(k: KernelCtx, idx: readonly Expr[], idsRank: number): Expr[] {
  const axis = k.node.attrs!.axis!;
  return [...idx.slice(0, axis), k.atIdx(1, idx.slice(axis, axis + idsRank)), ...idx.slice(axis + idsRank)];
}

/** take(x, ids, axis): x's shape with its axis replaced by the shape of ids */
function takeShape(x: Shape, ids: Shape, axis: number | undefined): Shape | undefined {
  if (axis === undefined || !(axis >= 0 && axis < x.length)) return undefined;
  return [...x.slice(0, axis), ...ids, ...x.slice(axis + 1)];
}
