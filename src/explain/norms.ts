import type { Graph, Node } from "../ir/graph.js";
import { sourceIndex } from "../ops/reference.js";
import { keptShape, size, type Shape } from "../shape/shape.js";
import { refuseFalse, type LayerEquation } from "./layers.js";
import type { Symbols } from "./view.js";

/**
 * Batch and layer normalization's backward pass in the closed form a course derives by hand
 * (lecture 4.4's remedy): with x̂ = (x − μ)/σ over the normalized axes, y = γ x̂ + β and
 * δ = ∇_y ℓ, the gains' and shifts' gradients are sums of δ x̂ and δ, and the input's is
 * (1/σ)(g − mean(g) − x̂ mean(g x̂)) with g = γ δ. gradc differentiates the means and the
 * variance op by op, so these are not the sweep's lines: each is checked at the derivation's
 * points against the sweep's numbers by loops of its own (checkNorm).
 */

/** one batch_norm or layer_norm of the model, found in the lowered graph (src/lang/layers.ts normalized) */
export interface NormLayer {
  readonly kind: "batch" | "layer";
  /** the call's result, its input, gains and shifts (as the source passes them) */
  readonly out: Node;
  readonly x: Node;
  readonly gamma: Node;
  readonly beta: Node;
  /** x̂ and σ (kept shape) as the graph computes them, and γ broadcast to x's shape */
  readonly xhat: number;
  readonly sigma: number;
  readonly gammaWide: number;
  /** the gains' shape as broadcast against x: [C, 1, 1] per channel, [D] per feature */
  readonly gainShape: Shape;
  /** the axes the statistics run over */
  readonly axes: readonly number[];
  /** the nodes whose adjoints are each gradient through this layer alone (undefined: shared, not shown) */
  readonly through: { readonly gamma?: number; readonly beta?: number; readonly x?: number };
}

const strip = (g: Graph, id: number): Node => {
  const n = g.nodes[id];
  return n.op === "broadcast" || n.op === "reshape" ? strip(g, n.args[0]) : n;
};

/** The normalizations the layers module lowered, each from its result: γ x̂ + β, x̂ = (x − μ) / σ. */
export function normLayers(g: Graph): NormLayer[] {
  const users: number[][] = g.nodes.map(() => []);
  for (const n of g.nodes) for (const a of new Set(n.args)) users[a].push(n.id);
  return g.nodes.flatMap((out): NormLayer[] => {
    const kind = /^batch_norm\(/.test(out.origin?.text ?? "")
      ? "batch"
      : /^layer_norm\(/.test(out.origin?.text ?? "")
        ? "layer"
        : undefined;
    if (!kind || out.op !== "add") return [];
    const scaled = g.nodes[out.args[0]];
    const xhat = scaled.op === "mul" ? g.nodes[scaled.args[0]] : undefined;
    const centered = xhat?.op === "div" ? g.nodes[xhat.args[0]] : undefined;
    const mean = centered?.op === "sub" ? strip(g, centered.args[1]) : undefined;
    const sum = mean?.op === "mul" ? strip(g, mean.args[0]) : undefined;
    if (!xhat || !centered || !sum || sum.op !== "reduce_sum") return [];
    const x = g.nodes[centered.args[0]];
    // the gain's and the shift's own nodes under their broadcasts: a reshape (per channel) or the param
    const under = (id: number) => {
      const n = g.nodes[id];
      return n.op === "broadcast" ? g.nodes[n.args[0]] : n;
    };
    const [gammaNode, betaNode] = [under(scaled.args[1]), under(out.args[1])];
    // the printed ∇γ is the whole gradient: γ (through its reshape) feeds this layer alone
    const single = (node: Node) => {
      for (let n = node; ; n = g.nodes[n.args[0]]) {
        if (users[n.id].length !== 1) return undefined;
        if (n.op !== "reshape") return node.id;
      }
    };
    // x's gradient is this layer's alone when x feeds nothing but its mean and its centering
    const inside = users[x.id].every((u) => u === centered.id || u === sum.id);
    return [
      {
        kind,
        out,
        x,
        gamma: strip(g, scaled.args[1]),
        beta: strip(g, out.args[1]),
        xhat: xhat.id,
        sigma: strip(g, xhat.args[1]).id,
        gammaWide: scaled.args[1],
        gainShape: gammaNode.shape,
        axes: sum.attrs!.axes!,
        through: {
          gamma: single(gammaNode),
          beta: single(betaNode),
          ...(inside ? { x: x.id } : {}),
        },
      },
    ];
  });
}

/** the axes as a person names them: n, h, w for a batch of images */
function axisNames(l: NormLayer): string {
  if (l.kind === "layer") return "\\text{the last axis}";
  const rank = l.x.shape.length;
  return rank === 4 ? "n,h,w" : rank === 3 ? "n,l" : "n";
}

/** The by-hand lines of one normalization, in the vector form of 4.6.4, those the check can hold to the sweep. */
export function normEquations(l: NormLayer, sy: Symbols, hasAdjoint: (id: number) => boolean): LayerEquation[] {
  const name = (x: Node) => (sy.isShown(x) ? sy.namedTex(x) : "y");
  const [X, G, B, Y] = [name(l.x), name(l.gamma), name(l.beta), name(l.out)];
  const over = axisNames(l);
  const mean = (t: string) => `\\overline{${t}}`;
  const out: LayerEquation[] = [
    {
      lhs: "\\hat{X}",
      steps: [`\\frac{${X} - \\mu}{\\sqrt{\\sigma^{2} + \\varepsilon}}`],
      note: `\\mu,\\ \\sigma^{2}: \\text{mean, variance over } ${over}`,
    },
    { lhs: Y, steps: [`${G} \\odot \\hat{X} + ${B}`] },
  ];
  if (!hasAdjoint(l.out.id)) return out;
  out.push({ lhs: "\\delta", steps: [sy.adjTex(Y, l.out.shape)] });
  const sum = l.kind === "batch" ? `\\sum_{${over}}` : "\\sum_{\\text{rows}}";
  const shown = (id: number | undefined) => id !== undefined && hasAdjoint(id);
  if (shown(l.through.gamma)) out.push({ lhs: sy.adjTex(G, l.gamma.shape), steps: [`${sum} \\delta \\odot \\hat{X}`] });
  if (shown(l.through.beta)) out.push({ lhs: sy.adjTex(B, l.beta.shape), steps: [`${sum} \\delta`] });
  if (shown(l.through.x)) {
    const closed =
      l.kind === "batch"
        ? `\\frac{${G}}{\\sigma} \\odot \\left(\\delta - ${mean("\\delta")} - \\hat{X} \\odot ${mean("\\delta \\odot \\hat{X}")}\\right)`
        : `\\frac{1}{\\sigma} \\odot \\left(g - ${mean("g")} - \\hat{X} \\odot ${mean("g \\odot \\hat{X}")}\\right)`;
    out.push({
      lhs: sy.adjTex(X, l.x.shape),
      steps: [closed],
      note:
        l.kind === "batch"
          ? `\\overline{v}: \\text{mean over } ${over}`
          : `g = ${G} \\odot \\delta,\\ \\overline{v}: \\text{row mean}`,
    });
  }
  return out;
}

/**
 * Each printed gradient of a normalization evaluated from its closed form with loops of its own
 * (x̂, σ and γ as the forward computes them, δ from the sweep), against the sweep's adjoints.
 */
export function checkNorm(
  l: NormLayer,
  value: (id: number) => Float64Array,
  adjoint: (id: number) => Float64Array | undefined,
  where: string,
  strict: boolean,
): void {
  const delta = adjoint(l.out.id);
  if (!delta) return;
  const shape = l.x.shape;
  const kept = keptShape(shape, l.axes);
  const [xhat, sigma, gamma] = [value(l.xhat), value(l.sigma), value(l.gammaWide)];
  // each element's group (its statistics) and its gain's and shift's index
  const n = size(shape);
  const group = Int32Array.from({ length: n }, (_, i) => sourceIndex(kept, shape, i));
  const count = n / size(kept);
  const at = Int32Array.from({ length: n }, (_, i) => sourceIndex(l.gainShape, shape, i));
  const dGamma = new Float64Array(size(l.gamma.shape));
  const dBeta = new Float64Array(size(l.beta.shape));
  const meanG = new Float64Array(size(kept));
  const meanGX = new Float64Array(size(kept));
  for (let i = 0; i < n; i++) {
    dGamma[at[i]] += delta[i] * xhat[i];
    dBeta[at[i]] += delta[i];
    const gi = gamma[i] * delta[i];
    meanG[group[i]] += gi / count;
    meanGX[group[i]] += (gi * xhat[i]) / count;
  }
  const dx = Float64Array.from(
    { length: n },
    (_, i) => (gamma[i] * delta[i] - meanG[group[i]] - xhat[i] * meanGX[group[i]]) / sigma[group[i]],
  );
  const expect = (line: string, id: number | undefined, side: Float64Array, s: Shape) =>
    refuseFalse("normalization", line, id === undefined ? undefined : adjoint(id), side, s, where, strict);
  expect("∇γ", l.through.gamma, dGamma, l.gamma.shape);
  expect("∇β", l.through.beta, dBeta, l.beta.shape);
  expect("∇x", l.through.x, dx, shape);
}
