import type { Graph, Node } from "../ir/graph.js";
import { size, type Shape } from "../shape/shape.js";
import { refuseFalse, usersOf, type LayerEquation } from "./layers.js";
import { nameTex } from "./symbols.js";
import type { Symbols } from "./view.js";

/**
 * Pooling's backward pass as a course writes it by hand (the CNN lecture after 4.6): a
 * max-pool routes each window's δ to the window's first maximum (row-major, PyTorch's tie
 * rule) and nothing to the others; an average pool spreads it evenly over the window. gradc
 * lowers a pool to one strided slice per kernel offset folded with max or +, and differentiates
 * those op by op; these lines are checked at the derivation's points against the sweep's
 * numbers by loops of their own (checkPool).
 */

/** one max_pool2d or avg_pool2d of the model, found in the lowered graph (src/lang/layers.ts poolLower) */
export interface PoolLayer {
  readonly kind: "max" | "avg";
  /** the call's result and its input */
  readonly out: Node;
  readonly x: Node;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  /** x, when its gradient is this layer's alone (undefined: shared, not shown) */
  readonly through: { readonly x?: number };
}

/** the operands of a left fold a ∘ b ∘ c … with op ∘, in order */
function folded(g: Graph, n: Node, op: string): Node[] {
  if (n.op !== op) return [n];
  return [...folded(g, g.nodes[n.args[0]], op), g.nodes[n.args[1]]];
}

/** The pools the layers module lowered, each from its result. */
export function poolLayers(g: Graph): PoolLayer[] {
  const users = usersOf(g);
  return g.nodes.flatMap((out): PoolLayer[] => {
    const kind = /^max_pool2d\(/.test(out.origin?.text ?? "")
      ? "max"
      : /^avg_pool2d\(/.test(out.origin?.text ?? "")
        ? "avg"
        : undefined;
    if (!kind) return [];
    const sum = kind === "avg" && out.op === "mul" ? g.nodes[out.args[0]] : out;
    const parts = folded(g, sum, kind === "max" ? "max" : "add");
    if (parts.length < 2 || parts.some((p) => p.op !== "slice" || p.args[0] !== parts[0].args[0])) return [];
    const source = g.nodes[parts[0].args[0]];
    // max pads with -inf: select(inside, pad(x), -inf); avg with zeros: pad(x)
    const pad = source.op === "select" ? g.nodes[source.args[1]] : source.op === "pad" ? source : undefined;
    const x = pad ? g.nodes[pad.args[0]] : source;
    const r = x.shape.length;
    const at = (v: readonly number[]) => [v[r - 2], v[r - 1]] as const;
    const last = parts[parts.length - 1].attrs!;
    const kernel = [last.starts![r - 2] + 1, last.starts![r - 1] + 1] as const;
    if (kernel[0] * kernel[1] !== parts.length) return [];
    // x's gradient is this layer's alone when x (and its padding) feed nothing but the windows
    const windows = new Set(parts.map((p) => p.id));
    const feedsOnly = (id: number, into: Set<number>) => users[id].every((u) => into.has(u));
    const alone = pad
      ? users[x.id].length === 1 &&
        (source === pad
          ? feedsOnly(pad.id, windows)
          : feedsOnly(pad.id, new Set([source.id])) && feedsOnly(source.id, windows))
      : feedsOnly(x.id, windows);
    return [
      {
        kind,
        out,
        x,
        kernel,
        stride: at(parts[0].attrs!.steps!),
        padding: pad ? at(pad.attrs!.starts!) : [0, 0],
        through: alone ? { x: x.id } : {},
      },
    ];
  });
}

/** The by-hand lines of one pool, in index form, those the check can hold to the sweep. */
export function poolEquations(l: PoolLayer, sy: Symbols, hasAdjoint: (id: number) => boolean): LayerEquation[] {
  const name = (x: Node) => (sy.isShown(x) ? sy.namedTex(x) : x.hint ? nameTex(x.hint, x.shape) : "y");
  const [X, Y] = [name(l.x), name(l.out)];
  const lead = l.x.shape.length === 4 ? ["n", "c"] : ["c"];
  const idx = (t: string, i: readonly string[]) =>
    `${t.includes("_") ? `\\left(${t}\\right)` : t}_{${[...lead, ...i].join(",\\,")}}`;
  const padded = l.padding.some((p) => p > 0);
  const Xt = padded ? "\\tilde{X}" : X;
  const reads = (s: number, p: string, k: string) => `${s === 1 ? "" : s}${p} + ${k}`;
  const window = idx(Xt, [reads(l.stride[0], "p", "i"), reads(l.stride[1], "q", "j")]);
  const count = l.kernel[0] * l.kernel[1];
  const fill = l.kind === "max" ? "-\\infty" : "0";
  const out: LayerEquation[] = [
    {
      lhs: idx(Y, ["p", "q"]),
      steps: [l.kind === "max" ? `\\max_{i,j} ${window}` : `\\frac{1}{${count}} \\sum_{i,j} ${window}`],
      note: padded
        ? `\\tilde{X} = \\operatorname{pad}_{${l.padding.join(",")}}\\left(${X}\\right) \\text{ with } ${fill}`
        : `i < ${l.kernel[0]},\\ j < ${l.kernel[1]}`,
    },
  ];
  if (!hasAdjoint(l.out.id)) return out;
  out.push({ lhs: "\\delta", steps: [sy.adjTex(Y, l.out.shape)] });
  if (l.through.x === undefined || !hasAdjoint(l.through.x)) return out;
  const dX = idx(sy.adjTex(X, l.x.shape), ["u", "v"]);
  out.push(
    l.kind === "max"
      ? {
          lhs: dX,
          steps: [`\\sum_{p,q} ${idx("\\delta", ["p", "q"])} \\left[(u, v) = m_{p,q}\\right]`],
          note: "m_{p,q}: \\text{the first maximum of window } p,q",
        }
      : {
          lhs: dX,
          steps: [`\\frac{1}{${count}} \\sum_{p,q:\\ (u, v) \\in w_{p,q}} ${idx("\\delta", ["p", "q"])}`],
          note: "w_{p,q}: \\text{window } p,q \\text{ in } " + X,
        },
  );
  return out;
}

/**
 * A pool's value and its input's gradient, from the windows themselves (padding −∞ for max, 0
 * for avg; a window's δ to its first maximum in row-major order, or spread over it), against
 * the sweep's numbers.
 */
export function checkPool(
  l: PoolLayer,
  value: (id: number) => Float64Array,
  adjoint: (id: number) => Float64Array | undefined,
  where: string,
  strict: boolean,
): void {
  const shape = l.x.shape;
  const r = shape.length;
  const [H, W] = [shape[r - 2], shape[r - 1]];
  const [P, Q] = [l.out.shape[r - 2], l.out.shape[r - 1]];
  const planes = size(shape.slice(0, r - 2));
  const x = value(l.x.id);
  const delta = adjoint(l.out.id);
  const y = new Float64Array(planes * P * Q);
  const dx = new Float64Array(x.length);
  const count = l.kernel[0] * l.kernel[1];
  for (let c = 0; c < planes; c++)
    for (let p = 0; p < P; p++)
      for (let q = 0; q < Q; q++) {
        // the window's elements, row-major; outside x: -inf (max) or 0 (avg), and no gradient
        let [best, at, total] = [-Infinity, -1, 0];
        for (let i = 0; i < l.kernel[0]; i++)
          for (let j = 0; j < l.kernel[1]; j++) {
            const [u, v] = [l.stride[0] * p + i - l.padding[0], l.stride[1] * q + j - l.padding[1]];
            const inside = u >= 0 && u < H && v >= 0 && v < W;
            const e = inside ? x[(c * H + u) * W + v] : l.kind === "max" ? -Infinity : 0;
            total += e;
            if (e > best) [best, at] = [e, inside ? (c * H + u) * W + v : -1];
            if (l.kind === "avg" && inside && delta) dx[(c * H + u) * W + v] += delta[(c * P + p) * Q + q] / count;
          }
        y[(c * P + p) * Q + q] = l.kind === "max" ? best : total / count;
        if (l.kind === "max" && delta && at >= 0) dx[at] += delta[(c * P + p) * Q + q];
      }
  const expect = (line: string, truth: Float64Array | undefined, side: Float64Array, s: Shape) =>
    refuseFalse("pooling", line, truth, side, s, where, strict);
  expect("y", value(l.out.id), y, l.out.shape);
  if (delta && l.through.x !== undefined) expect("∇x", adjoint(l.through.x), dx, shape);
}
