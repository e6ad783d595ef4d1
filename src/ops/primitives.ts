import { asBatchedProduct, formatSpec, parseSpec, type Spec } from "../shape/contract.js";
import { inversePerm, keptShape, sameShape, type Shape } from "../shape/shape.js";
import type { GraphBuilder as Builder } from "./types.js";

/**
 * Constructors of the generic primitives in canonical form, for lowering and for the
 * derivative rules: an identity is no node at all, and a rank-2 axis swap is the transpose
 * the matrix kernels know.
 */

/** x with its axes permuted (result axis k = operand axis perm[k]) */
export function permuteOf(b: Builder, x: number, perm: readonly number[]): number {
  if (perm.every((p, k) => p === k)) return x;
  if (perm.length === 2) return b.node("transpose", [x]);
  return b.node("permute", [x], { attrs: { perm: [...perm] } });
}

/** x reshaped (same elements, row-major) */
export function reshapeOf(b: Builder, x: number, shape: Shape): number {
  if (sameShape(b.shape(x), shape)) return x;
  // reshape(reshape(x)) = reshape(x): one view over the original
  const n = b.nodes[x];
  const src = n.op === "reshape" ? n.args[0] : x;
  return sameShape(b.shape(src), shape) ? src : b.node("reshape", [src], { target: [...shape] });
}

/** g, whose shape is x's with `axes` reduced away, spread back over x's shape (reduce_sum's transpose) */
export function unreduce(b: Builder, g: number, axes: readonly number[], full: Shape): number {
  return b.broadcastTo(reshapeOf(b, g, keptShape(full, axes)), full);
}

/** the strided window of x (start + step * i along each axis), shaped `window` */
export function sliceOf(
  b: Builder,
  x: number,
  starts: readonly number[],
  steps: readonly number[],
  window: Shape,
): number {
  const full = b.shape(x);
  if (sameShape(full, window) && starts.every((s) => s === 0) && steps.every((s) => s === 1)) return x;
  return b.node("slice", [x], { target: [...window], attrs: { starts: [...starts], steps: [...steps] } });
}

/** zeros shaped `full` with x written into the strided window (slice's transpose) */
export function padOf(b: Builder, x: number, starts: readonly number[], steps: readonly number[], full: Shape): number {
  if (sameShape(full, b.shape(x)) && starts.every((s) => s === 0) && steps.every((s) => s === 1)) return x;
  return b.node("pad", [x], { target: [...full], attrs: { starts: [...starts], steps: [...steps] } });
}

/** contraction of operand `i` out of a contraction's cotangent g: the einsum with that operand's subscripts as its result */
export function contractGrad(b: Builder, spec: string, operands: readonly number[], g: number, i: number): number {
  const { spec: gradSpec, others } = contractGradSpec(spec, i, operands.length);
  const target = [...b.shape(operands[i])];
  const args = [g, ...others.map((k) => operands[k])];
  if (args.length === 1) return b.node("contract1", args, { target, attrs: { spec: gradSpec } });
  const [s, pair] = productOrder(parseSpec(gradSpec)!, args);
  const ordered = formatSpec(s);
  return summedAfter(b, ordered, pair, target) ?? b.node("contract2", pair, { target, attrs: { spec: ordered } });
}

/**
 * The operands in the order that reads as a matrix product: the result's last letter from the
 * second ("fk,nfp->nkp", Wᵀ G per n, not "nfp,fk->nkp"), so that the products' kernels, which
 * write C = A B row by row, take it as it is.
 */
function productOrder(s: Spec, args: readonly number[]): [Spec, number[]] {
  const last = s.output[s.output.length - 1];
  const [x, y] = s.inputs;
  if (last === undefined || !x.includes(last) || y.includes(last)) return [s, [...args]];
  return [{ inputs: [y, x], output: s.output }, [args[1], args[0]]];
}

/**
 * A product summed over several letters, as a weight's gradient over a batch Σ_n G_n P_nᵀ
 * ("nfp,nkp->fk"), is no matrix product; with all but one of its shared summed letters kept in
 * the result, it is a batched one ("nfp,nkp->nfk", the matmul schedules per n), then summed
 * away: the product kernels and a sum instead of the generic loops. The letter left summed is
 * the one stored last in the first operand (its rows stay contiguous). Undefined when that does
 * not make a batched product.
 */
function summedAfter(b: Builder, spec: string, args: readonly number[], target: Shape): number | undefined {
  const s = parseSpec(spec)!;
  if (asBatchedProduct(spec)) return undefined;
  const [x, y] = s.inputs;
  const shared = [...x].filter((c) => y.includes(c) && !s.output.includes(c));
  if (shared.length < 2) return undefined;
  const kept = shared.slice(0, -1);
  const batched = formatSpec({ inputs: s.inputs, output: kept.join("") + s.output });
  if (!asBatchedProduct(batched)) return undefined;
  const sizes = kept.map((c) => b.shape(args[0])[x.indexOf(c)]);
  const each = b.node("contract2", args, { target: [...sizes, ...target], attrs: { spec: batched } });
  return b.node("reduce_sum", [each], { attrs: { axes: kept.map((_, k) => k) } });
}

/**
 * The einsum that is operand i's gradient: the cotangent (the result's subscripts) contracted
 * with the other operands, to operand i's subscripts ("ij,jk->ik", i = 0: "ik,jk->ij").
 */
export function contractGradSpec(spec: string, i: number, operands: number): { spec: string; others: number[] } {
  const s = parseSpec(spec)!;
  const others = Array.from({ length: operands }, (_, k) => k).filter((k) => k !== i);
  return {
    spec: formatSpec({ inputs: [s.output, ...others.map((k) => s.inputs[k])], output: s.inputs[i] }),
    others,
  };
}

export { inversePerm };
