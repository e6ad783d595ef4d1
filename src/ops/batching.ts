import { formatSpec, parseSpec } from "../shape/contract.js";
import { sameShape, type Shape } from "../shape/shape.js";
import { reshapeOf } from "./primitives.js";
import type { BatchArg, BatchRule, GraphBuilder, OpNode } from "./types.js";

/**
 * Helpers of the batching rules (each definition's `batch`; batch/vmap.ts runs them), as JAX's
 * vmap: a per-sample value of shape s becomes [B, ...s], at any rank; operands that do not depend
 * on the samples stay unbatched and are broadcast where an op needs them batched.
 */

/** [B, ...s] */
export const batchedShape = (B: number, s: Shape): Shape => [B, ...s];

/** an operand with the batch axis: itself if it has one, else broadcast along it */
export function withBatch(b: GraphBuilder, a: BatchArg, B: number): number {
  return a.batched ? a.id : b.broadcastTo(a.id, batchedShape(B, a.shape));
}

/**
 * Elementwise ops (operands of the node's own shape) and ops along the last axis (softmax,
 * logsumexp, sce): the same op on the batched operands, the batch axis one more leading axis.
 */
export const sameOpBatch: BatchRule = (b, n, args, B) =>
  b.node(
    n.op,
    args.map((a) => withBatch(b, a, B)),
  );

/** ops with `axes` or `axis` attributes on a batched operand: the same axes, one further right */
export const shiftedAxes = (n: OpNode): { axes: number[] } => ({ axes: n.attrs!.axes!.map((a) => a + 1) });

/**
 * A product as an einsum over batched operands: the per-sample subscripts `spec` ("mn,n->m"), a
 * fresh letter for the batch axis on each batched operand and on the result.
 */
export function batchedContraction(b: GraphBuilder, spec: string, args: readonly BatchArg[], n: OpNode, B: number) {
  const s = parseSpec(spec)!;
  const used = new Set([...spec]);
  const z = [..."zyxwvutsrqponmlkjihgfedcba"].find((c) => !used.has(c))!;
  const batched = { inputs: s.inputs.map((sub, i) => (args[i].batched ? z + sub : sub)), output: z + s.output };
  const target = batchedShape(B, n.shape);
  return b.node(
    args.length === 1 ? "contract1" : "contract2",
    args.map((a) => a.id),
    { target, attrs: { spec: formatSpec(batched) } },
  );
}

/**
 * A batched x [B, ...xs] as [B, 1, ..., 1, ...xs] of rank 1 + `rank`: NumPy aligns shapes on the
 * right, so the batch axis must not meet the per-sample axes of a longer shape.
 */
export function alignedRight(b: GraphBuilder, x: BatchArg, rank: number, B: number): number {
  const ones = new Array<number>(rank - x.shape.length).fill(1);
  return reshapeOf(b, x.id, [B, ...ones, ...x.shape]);
}

/** sum to `t` of a batched x [B, ...xs] (t broadcasts to xs): reduce_to to [B, 1.., ...t], then drop the ones */
export function batchedReduceTo(b: GraphBuilder, x: BatchArg, t: Shape, B: number): number {
  const aligned = [B, ...new Array<number>(x.shape.length - t.length).fill(1), ...t];
  const full = batchedShape(B, x.shape);
  const summed = sameShape(aligned, full) ? x.id : b.node("reduce_to", [x.id], { target: aligned });
  return reshapeOf(b, summed, batchedShape(B, t));
}
