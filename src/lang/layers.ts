/**
 * The layers of a deep-learning course, written with the IR's primitives, so that each derivative
 * is the composition of theirs and correct by construction: a convolution is one matrix product
 * of the filters with the windows of the (padded) input laid out as columns (unfold, im2col;
 * its transpose fold adds the columns' gradients back); pooling folds the windows with max
 * or adds them; normalization is means and variances over axes. PyTorch's semantics throughout
 * (F.conv2d's cross-correlation, output sizes rounded down, max-pool padding with -inf, average
 * pooling counting the padding as zeros, training-mode batch statistics with the biased variance). */
import { problem, type Problem } from "../diagnostics/diagnostic.js";
import type { Builder } from "../ir/build.js";
import { padOf, reshapeOf, sliceOf } from "../ops/primitives.js";
import { formatSpec } from "../shape/contract.js";
import { keptShape, sameShape, showShape, size, type Shape } from "../shape/shape.js";
import type { Builtin, Param, ShapeResult, StaticValue, Statics } from "./types.js";

const T = (name: string): Param => ({ name, kind: "tensor" });
const ints = (name: string, value: number): Param => ({ name, kind: "ints", default: [value] });
const isErr = (x: unknown): x is Problem => typeof x === "object" && x !== null && "code" in x;

/** The layout of a convolution or a pooling: the input's leading axes, channels, spatial sizes and windows. */
interface Windows {
  /** the axes before the spatial ones: [N, C] (batched) or [C] */
  readonly lead: Shape;
  readonly size: readonly number[];
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly padding: readonly number[];
  readonly dilation: readonly number[];
  readonly out: readonly number[];
}

/** an int or one per spatial axis ([h, w]): the list the argument binder gives, one value per axis */
function perAxis(name: string, arg: string, v: StaticValue, n: number, min: number): number[] | Problem {
  const list = v as readonly number[];
  const values = list.length === 1 ? new Array<number>(n).fill(list[0]) : [...list];
  if (values.length !== n || values.some((x) => !(Number.isInteger(x) && x >= min)))
    return problem("E113", {
      arg,
      name,
      expected: `${min > 0 ? "a positive" : "a non-negative"} integer or a list of ${n}`,
      found: `[${list.join(", ")}]`,
      hint: n === 2 ? { kind: "perAxis" } : { kind: "oneAxis" },
    });
  return values;
}

/** The windows of x's last n axes: sizes rounded down as PyTorch's (in + 2p - d(k - 1) - 1) / s + 1. */
function windows(name: string, x: Shape, kernel: readonly number[], s: Statics, n: number): Windows | Problem {
  // pooling's stride defaults to its kernel
  const stride = perAxis(name, "stride", s.stride === null || s.stride === undefined ? s.kernel : s.stride, n, 1);
  const padding = perAxis(name, "padding", s.padding, n, 0);
  const dilation =
    s.dilation === undefined ? new Array<number>(n).fill(1) : perAxis(name, "dilation", s.dilation, n, 1);
  for (const v of [stride, padding, dilation]) if (isErr(v)) return v;
  const [st, pd, dl] = [stride, padding, dilation] as number[][];
  const size = x.slice(x.length - n);
  const out = size.map((d, i) => Math.floor((d + 2 * pd[i] - dl[i] * (kernel[i] - 1) - 1) / st[i]) + 1);
  if (out.some((o) => o < 1))
    return problem("E203", {
      name,
      expected: `an input at least as large as its window (${kernel.join("×")}, dilation ${dl.join("×")}, padding ${pd.join("×")})`,
      shape: showShape(x),
    });
  return { lead: x.slice(0, x.length - n), size, kernel, stride: st, padding: pd, dilation: dl, out };
}

/** x with its spatial axes padded by `padding` (zeros), then the strided window at kernel offset `at`, shaped [...lead, ...out] */
function window(b: Builder, padded: number, w: Windows, at: readonly number[]): number {
  const lead = w.lead.map(() => 0);
  return sliceOf(
    b,
    padded,
    [...lead, ...at.map((k, i) => k * w.dilation[i])],
    [...w.lead.map(() => 1), ...w.stride],
    [...w.lead, ...w.out],
  );
}

function padded(b: Builder, x: number, w: Windows): number {
  const full = [...w.lead, ...w.size.map((d, i) => d + 2 * w.padding[i])];
  return padOf(
    b,
    x,
    [...w.lead.map(() => 0), ...w.padding],
    full.map(() => 1),
    full,
  );
}

/** every kernel offset, row-major (the order in which max-pooling's ties are decided) */
function offsets(kernel: readonly number[]): number[][] {
  return kernel.reduce<number[][]>((acc, k) => acc.flatMap((o) => [...Array(k).keys()].map((i) => [...o, i])), [[]]);
}

// ---- convolution --------------------------------------------------------------------------------

interface Conv extends Windows {
  readonly batched: boolean;
  readonly channels: number;
  readonly filters: number;
  readonly groups: number;
}

function convGeometry(name: string, a: readonly Shape[], s: Statics, n: number): Conv | Problem {
  const [x, W, bias] = a;
  const form = n === 2 ? "[N, C, H, W] or [C, H, W]" : "[N, C, L] or [C, L]";
  if (x.length !== n + 1 && x.length !== n + 2)
    return problem("E203", { name, expected: `x shaped ${form}`, shape: showShape(x) });
  const groups = s.groups as number;
  const channels = x[x.length - n - 1];
  if (W.length !== n + 2 || W[1] * groups !== channels || W[0] % groups !== 0)
    return problem("E203", {
      name,
      expected: `W shaped [F, C/groups, ${n === 2 ? "KH, KW" : "K"}] with C = ${channels} channels, groups = ${groups} and F divisible by groups`,
      shape: showShape(W),
    });
  if (bias && !sameShape(bias, [W[0]]))
    return problem("E203", { name, expected: `bias shaped [${W[0]}] (one per filter)`, shape: showShape(bias) });
  const w = windows(name, x, W.slice(2), s, n);
  if (isErr(w)) return w;
  return { ...w, batched: x.length === n + 2, channels, filters: W[0], groups };
}

/**
 * im2col: the windows of the padded x as columns, cols [N?, C, K..., O...] (unfold), and the
 * convolution one matrix product of the filters [F, C·K] with the columns [C·K, O] (per group g,
 * per sample n: "gfk,ngkp->ngfp"), so it runs the product kernels; its derivatives are products
 * and fold (col2im), unfold's transpose.
 */
function convLower(b: Builder, args: readonly number[], g: Conv): number {
  const [x, W, bias] = args;
  const { groups: G, filters: F, channels: C } = g;
  const cols = b.node("unfold", [padded(b, x, g)], {
    target: [...g.lead, ...g.kernel, ...g.out],
    attrs: { steps: [...g.stride], dilation: [...g.dilation] },
  });
  const depth = (C / G) * size(g.kernel);
  const positions = size(g.out);
  const batch = g.batched ? [g.lead[0]] : [];
  let y: number;
  if (G === 1 && !g.batched)
    y = b.node("matmul", [reshapeOf(b, W, [F, depth]), reshapeOf(b, cols, [depth, positions])]);
  else {
    const [gl, N] = [G > 1 ? "g" : "", g.batched ? "n" : ""];
    y = b.node(
      "contract2",
      [
        reshapeOf(b, W, [...(G > 1 ? [G] : []), F / G, depth]),
        reshapeOf(b, cols, [...batch, ...(G > 1 ? [G] : []), depth, positions]),
      ],
      {
        target: [...batch, ...(G > 1 ? [G] : []), F / G, positions],
        attrs: { spec: formatSpec({ inputs: [`${gl}fk`, `${N}${gl}kp`], output: `${N}${gl}fp` }) },
      },
    );
  }
  const out = reshapeOf(b, y, [...batch, F, ...g.out]);
  if (bias === undefined) return out;
  return b.elementwise("add", [out, reshapeOf(b, bias, [F, ...g.out.map(() => 1)])]);
}

function conv(name: string, n: number): Builtin {
  const dims = n === 2 ? "[h, w]" : "";
  return {
    signature: `${name}(x, W, bias=b, stride=1, padding=0, dilation=1, groups=1)${dims ? `: stride, padding and dilation an int or ${dims}` : ""}`,
    params: [
      T("x"),
      T("W"),
      { name: "bias", kind: "tensor", default: null },
      ints("stride", 1),
      ints("padding", 0),
      ints("dilation", 1),
      { name: "groups", kind: "count", default: 1 },
    ],
    shape: (a, s) => {
      const g = convGeometry(name, a, s, n);
      return isErr(g) ? g : [...(g.batched ? [g.lead[0]] : []), g.filters, ...g.out];
    },
    lower: (b, args, s) =>
      convLower(
        b,
        args,
        convGeometry(
          name,
          args.map((a) => b.shape(a)),
          s,
          n,
        ) as Conv,
      ),
  };
}

// ---- pooling ------------------------------------------------------------------------------------

function poolGeometry(name: string, x: Shape, s: Statics): Windows | Problem {
  if (x.length !== 3 && x.length !== 4)
    return problem("E203", { name, expected: "x shaped [N, C, H, W] or [C, H, W]", shape: showShape(x) });
  const kernel = perAxis(name, "kernel", s.kernel, 2, 1);
  if (isErr(kernel)) return kernel;
  const w = windows(name, x, kernel, s, 2);
  if (isErr(w)) return w;
  if (w.padding.some((p, i) => 2 * p > kernel[i]))
    return problem("E113", {
      arg: "padding",
      name,
      expected: "at most half the kernel",
      found: `[${w.padding.join(", ")}]`,
      hint: { kind: "padding" },
    });
  return w;
}

/**
 * max: the windows folded left to right in row-major order with max(a, b), whose gradient goes to
 * `a` at a tie, so a window's gradient goes to its first maximum (PyTorch's); the padding is -inf.
 * avg: the windows' sum over the kernel's size, the padding counted as zeros (PyTorch's default).
 */
function poolLower(b: Builder, x: number, w: Windows, how: "max" | "avg"): number {
  let xp = padded(b, x, w);
  if (how === "max" && w.padding.some((p) => p > 0)) {
    // outside the input, -inf: select(inside, x, -inf) (an untaken branch gets no gradient)
    const inside = padded(b, b.broadcastTo(b.constant(1), b.shape(x)), w);
    xp = b.elementwise("select", [inside, xp, b.constant(-Infinity)]);
  }
  const parts = offsets(w.kernel).map((at) => window(b, xp, w, at));
  const folded = parts.reduce((acc, p) => b.elementwise(how === "max" ? "max" : "add", [acc, p]));
  const count = w.kernel.reduce((p, k) => p * k, 1);
  return how === "max" ? folded : b.elementwise("mul", [folded, b.constant(1 / count)]);
}

function pool(name: string, how: "max" | "avg"): Builtin {
  return {
    signature: `${name}(x, kernel, stride=kernel, padding=0): kernel, stride and padding an int or [h, w]`,
    params: [
      T("x"),
      { name: "kernel", kind: "ints" },
      { name: "stride", kind: "ints", default: null },
      ints("padding", 0),
    ],
    shape: (a, s) => {
      const w = poolGeometry(name, a[0], s);
      return isErr(w) ? w : [...w.lead, ...w.out];
    },
    lower: (b, [x], s) => poolLower(b, x, poolGeometry(name, b.shape(x), s) as Windows, how),
  };
}

// ---- normalization --------------------------------------------------------------------------------

/** (x - mean) / sqrt(var + eps) over `axes`, with the biased variance, as PyTorch's training mode */
function normalized(b: Builder, x: number, axes: readonly number[], eps: number): number {
  const shape = b.shape(x);
  const count = axes.reduce((p, k) => p * shape[k], 1);
  const mean = (v: number) =>
    b.elementwise("mul", [
      reshapeOf(b, b.node("reduce_sum", [v], { attrs: { axes: [...axes] } }), keptShape(shape, axes)),
      b.constant(1 / count),
    ]);
  const centered = b.elementwise("sub", [x, mean(x)]);
  const variance = mean(b.elementwise("mul", [centered, centered]));
  return b.elementwise("div", [centered, b.elementwise("sqrt", [b.elementwise("add", [variance, b.constant(eps)])])]);
}

const normParams = [T("x"), T("gamma"), T("beta"), { name: "eps", kind: "number", default: 1e-5 } as Param];

/** batch statistics per channel (axis 1): over N for [N, C], over N and L for [N, C, L], over N, H, W for [N, C, H, W] */
const batchNorm: Builtin = {
  signature: "batch_norm(x, gamma, beta, eps=1e-5): x [N, C], [N, C, L] or [N, C, H, W]; gamma and beta [C]",
  params: normParams,
  shape: (a): ShapeResult => {
    const [x, gamma, beta] = a;
    if (x.length < 2 || x.length > 4)
      return problem("E203", {
        name: "batch_norm",
        expected: "x shaped [N, C], [N, C, L] or [N, C, H, W]",
        shape: showShape(x),
      });
    for (const p of [gamma, beta])
      if (!sameShape(p, [x[1]]))
        return problem("E203", {
          name: "batch_norm",
          expected: `gamma and beta shaped [${x[1]}] (one per channel)`,
          shape: showShape(p),
        });
    return x;
  },
  lower: (b, [x, gamma, beta], s) => {
    const shape = b.shape(x);
    const axes = shape.map((_, k) => k).filter((k) => k !== 1);
    const perChannel = (v: number) => reshapeOf(b, v, [shape[1], ...shape.slice(2).map(() => 1)]);
    const y = normalized(b, x, axes, s.eps as number);
    return b.elementwise("add", [b.elementwise("mul", [y, perChannel(gamma)]), perChannel(beta)]);
  },
};

/** over the last axis, as PyTorch's LayerNorm(D) */
const layerNorm: Builtin = {
  signature: "layer_norm(x, gamma, beta, eps=1e-5): over x's last axis; gamma and beta shaped like it",
  params: normParams,
  shape: (a): ShapeResult => {
    const [x, gamma, beta] = a;
    const d = x[x.length - 1];
    if (x.length === 0)
      return problem("E203", { name: "layer_norm", expected: "a tensor of rank 1 or more", shape: showShape(x) });
    for (const p of [gamma, beta])
      if (!sameShape(p, [d]))
        return problem("E203", {
          name: "layer_norm",
          expected: `gamma and beta shaped [${d}] (x's last axis)`,
          shape: showShape(p),
        });
    return x;
  },
  lower: (b, [x, gamma, beta], s) => {
    const y = normalized(b, x, [b.shape(x).length - 1], s.eps as number);
    return b.elementwise("add", [b.elementwise("mul", [y, gamma]), beta]);
  },
};

/** The layer functions, merged into the language's builtins. */
export const layers: Readonly<Record<string, Builtin>> = {
  conv1d: conv("conv1d", 1),
  conv2d: conv("conv2d", 2),
  max_pool2d: pool("max_pool2d", "max"),
  avg_pool2d: pool("avg_pool2d", "avg"),
  batch_norm: batchNorm,
  layer_norm: layerNorm,
};
