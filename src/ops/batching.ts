import type { Shape } from "../shape/shape.js";
import type { BatchArg, BatchRule, GraphBuilder } from "./types.js";

/**
 * Helpers of the batching rules (each definition's `batch`; batch/vmap.ts runs them): a
 * per-sample value of shape s becomes [B, ...s]; operands that do not depend on the samples stay
 * unbatched and are broadcast where an op needs them batched.
 */

export const batchedShape = (B: number, s: Shape): Shape | undefined => (s.length <= 1 ? [B, ...s] : undefined);

/** lift an operand to [B, ...s]: a batched scalar spreads along rows, an unbatched value broadcasts */
export function lift(b: GraphBuilder, a: BatchArg, s: Shape, B: number): number | undefined {
  const target = batchedShape(B, s);
  if (!target) return undefined;
  if (!a.batched) return b.broadcastTo(a.id, target);
  if (a.shape.length === s.length) return a.id;
  if (a.shape.length === 0) return b.node("rowbcast", [a.id], { target });
  return undefined;
}

/** elementwise ops: the same op on operands lifted to the batched shape */
export const elementwiseBatch: BatchRule = (b, n, args, B) => {
  const lifted = args.map((a) => lift(b, a, n.shape, B));
  return lifted.some((x) => x === undefined) ? undefined : b.node(n.op, lifted as number[]);
};

/** row-wise ops (softmax, logsumexp, sce) act on each row of [B, n] as on one vector */
export const rowwiseBatch: BatchRule = (b, n, args, B) => {
  if (args.some((a) => a.shape.length !== 1)) return undefined;
  const lifted = args.map((a) => lift(b, a, a.shape, B));
  return lifted.some((x) => x === undefined) ? undefined : b.node(n.op, lifted as number[]);
};
