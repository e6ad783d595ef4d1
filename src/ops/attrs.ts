import type { Shape } from "../shape/shape.js";

/**
 * Static attributes of the axis-generic primitives (lax-style). Every field is plain data, so a
 * node's attributes print, hash and compare as JSON.
 *   axes    reduce_sum / reduce_max / reduce_min: the axes reduced away (ascending)
 *   perm    permute: result axis k is operand axis perm[k]
 *   starts, steps   slice: result index i reads operand index starts + steps * i per axis;
 *                   pad (its transpose): operand index i lands at starts + steps * i
 *   spec    contract1 / contract2: einsum subscripts "ij,jk->ik" (see shape/contract.ts)
 *   steps, dilation   unfold (im2col): window position o, kernel offset k of each of the last
 *                     n axes read operand index o * steps + k * dilation; fold (its transpose)
 *                     adds them back there
 *   axis    iota: the result holds its index along this axis
 */
export interface Attrs {
  readonly axes?: readonly number[];
  readonly perm?: readonly number[];
  readonly starts?: readonly number[];
  readonly steps?: readonly number[];
  readonly spec?: string;
  readonly axis?: number;
  readonly dilation?: readonly number[];
}

/** The attributes, as text for hash keys and the IR dump ("" when there are none). */
export function attrsText(a: Attrs | undefined): string {
  if (!a) return "";
  const parts: string[] = [];
  if (a.axes) parts.push(`axes=[${a.axes.join(",")}]`);
  if (a.perm) parts.push(`perm=[${a.perm.join(",")}]`);
  if (a.starts) parts.push(`starts=[${a.starts.join(",")}]`);
  if (a.steps) parts.push(`steps=[${a.steps.join(",")}]`);
  if (a.spec !== undefined) parts.push(`spec=${a.spec}`);
  if (a.axis !== undefined) parts.push(`axis=${a.axis}`);
  if (a.dilation) parts.push(`dilation=[${a.dilation.join(",")}]`);
  return parts.join(" ");
}

/**
 * The hash-consing key: two nodes are the same node exactly when their keys are equal. One
 * home for this fact; the builder and the verifier both use it (-0 and 0 are different constants).
 */
export function nodeKey(
  op: string,
  args: readonly number[],
  n: { readonly value?: number; readonly name?: string; readonly target?: Shape; readonly attrs?: Attrs },
): string {
  // most nodes are an op of operands and nothing else: their key is the shortest
  if (n.value === undefined && n.name === undefined && !n.target && !n.attrs) return `${op}(${args.join(",")})|||`;
  const v = n.value === undefined ? "" : Object.is(n.value, -0) ? "-0" : String(n.value);
  return `${op}(${args.join(",")})${v}|${n.name ?? ""}|${n.target ? n.target.join("x") : ""}|${attrsText(n.attrs)}`;
}

/** How a node's attributes differ from the names its op declares (every one present, no other), or undefined if they match. */
export function attrsMismatch(declared: readonly (keyof Attrs)[], given: Attrs | undefined): string | undefined {
  // the common case, checked without allocating: an op without attributes, given none
  if (given === undefined && declared.length === 0) return undefined;
  const have = Object.keys(given ?? {}).filter((k) => given![k as keyof Attrs] !== undefined);
  const missing = declared.filter((k) => !have.includes(k));
  const extra = have.filter((k) => !declared.includes(k as keyof Attrs));
  if (!missing.length && !extra.length) return undefined;
  return [missing.length ? `lacks ${missing.join(", ")}` : "", extra.length ? `does not take ${extra.join(", ")}` : ""]
    .filter(Boolean)
    .join(" and ");
}
