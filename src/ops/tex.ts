import type { Shape } from "../shape/shape.js";
import type { TexRule } from "./types.js";
import type { Attrs } from "./attrs.js";
import { contractGradSpec } from "./primitives.js";

/**
 * LaTeX of the ops whose attributes change what they compute: a derivation must not print
 * "Σ x" for a sum over one axis or "x" for a window of x. Each is a TexRule (src/ops/types.ts).
 */

/** the axes an op reduces over, as a subscript; none when it reduces over every axis of its operand */
function axesScript(axes: readonly number[] | undefined, operand: Shape | undefined): string {
  if (!axes || (operand && axes.length === operand.length)) return "";
  return `_{\\text{${axes.length > 1 ? "axes" : "axis"} } ${axes.join(", ")}}`;
}

/** Σ over the given axes */
export const sumTex: TexRule = (n) => `\\textstyle\\sum${axesScript(n.attrs?.axes, n.operands?.[0])} {x}`;

/** max or min over the given axes */
export const extremeTex =
  (name: "\\max" | "\\min"): TexRule =>
  (n) =>
    `${name}${axesScript(n.attrs?.axes, n.operands?.[0])} {x}`;

/** one axis of a window, Python's start:stop:step (a whole axis is ":") */
function windowAxis(start: number, step: number, count: number, dim: number | undefined): string {
  if (start === 0 && step === 1 && count === dim) return ":";
  if (count === 1) return String(start);
  const stop = start + step * count;
  return `${start}:${stop < 0 ? "" : stop}${step === 1 ? "" : `:${step}`}`;
}

/** the window a slice reads (or a pad writes), as x_[a:b, :] */
function windowTex(n: Parameters<TexRule>[0], window: Shape, whole: Shape | undefined): string {
  const starts = n.attrs?.starts ?? [];
  const steps = n.attrs?.steps ?? [];
  const axes = window.map((count, k) => windowAxis(starts[k] ?? 0, steps[k] ?? 1, count, whole?.[k]));
  return `\\left[${axes.join(",\\,")}\\right]`;
}

/** x_[window]: the elements a slice reads */
export const sliceTex: TexRule = (n) => `{x}_{${windowTex(n, n.shape, n.operands?.[0])}}`;

/** a slice's derivative: its cotangent written into the window, zeros elsewhere (pad_[window](g)) */
export const sliceGradTex = (n: Parameters<TexRule>[0]): { tex: string; operands: number[] } => ({
  tex: `\\operatorname{pad}_{${windowTex(n, n.shape, n.operands?.[0])}}\\left({g}\\right)`,
  operands: [],
});

/** a pad's derivative: the window of its cotangent (g_[window]) */
export const padGradTex = (n: Parameters<TexRule>[0]): { tex: string; operands: number[] } => ({
  tex: `{g}_{${windowTex(n, n.operands?.[0] ?? [], n.shape)}}`,
  operands: [],
});

/** x written into the window of a zero tensor of the result's shape */
export const padTex: TexRule = (n) =>
  `\\operatorname{pad}_{${windowTex(n, n.operands?.[0] ?? [], n.shape)}}\\left({x}\\right)`;

/** x's axes reordered */
export const permuteTex: TexRule = (n) =>
  `\\operatorname{permute}_{(${(n.attrs?.perm ?? []).join(", ")})}\\left({x}\\right)`;

/** x's elements, row-major, in the result's shape */
export const reshapeTex: TexRule = (n) =>
  `\\operatorname{reshape}_{${n.shape.length ? n.shape.join(" \\times ") : "\\mathbb{R}"}}\\left({x}\\right)`;

/** einsum_{spec}(operands): the subscripts in typewriter type, only letters and , -> kept */
const einsumText = (spec: string, operands: string) =>
  `\\operatorname{einsum}_{\\texttt{${spec.replace(/[^A-Za-z,>-]/g, "")}}}\\left(${operands}\\right)`;

/** an einsum, with its subscripts */
export const einsumTex =
  (operands: string): TexRule =>
  (n) =>
    einsumText(n.attrs?.spec ?? "", operands);

/** the index along one axis */
export const iotaTex: TexRule = (n) => `\\operatorname{index}_{\\text{axis } ${n.attrs?.axis ?? 0}}`;

/** NumPy take (and its transpose), with the axis when it is not the first */
export const takeTex =
  (name: string, operands: string): TexRule =>
  (n) =>
    `\\operatorname{${name}}${n.attrs?.axis ? `_{\\text{axis } ${n.attrs.axis}}` : ""}\\left(${operands}\\right)`;

/**
 * An einsum's derivative for operand i: the cotangent contracted with the other operands, to
 * operand i's subscripts (contractGradSpec), written as that einsum.
 */
export const einsumGradTex =
  (names: readonly string[]) =>
  (n: { readonly attrs?: Attrs }, i: number): { tex: string; operands: number[] } => {
    const { spec, others } = contractGradSpec(n.attrs?.spec ?? "", i, names.length);
    const operands = ["{g}", ...others.map((k) => `{${names[k]}}`)].join(", ");
    return {
      tex: einsumText(spec, operands),
      operands: others,
    };
  };

/** the window's sizes, with the stride and dilation where they are not 1: 5 \\times 5, stride 2 */
function windowsScript(n: Parameters<TexRule>[0], cols: Shape | undefined): string {
  const steps = n.attrs?.steps ?? [];
  const dilation = n.attrs?.dilation ?? [];
  const k = cols ? cols.slice(cols.length - 2 * steps.length, cols.length - steps.length) : [];
  const extra = (name: string, v: readonly number[]) =>
    v.some((x) => x !== 1) ? `,\\,\\text{${name} } ${v.join(" \\times ")}` : "";
  return `${k.join(" \\times ")}${extra("stride", steps)}${extra("dilation", dilation)}`;
}

/** im2col: every window of x as a column */
export const unfoldTex: TexRule = (n) => `\\operatorname{unfold}_{${windowsScript(n, n.shape)}}\\left({x}\\right)`;

/** col2im: the columns added back where their windows read */
export const foldTex: TexRule = (n) => `\\operatorname{fold}_{${windowsScript(n, n.operands?.[0])}}\\left({y}\\right)`;
