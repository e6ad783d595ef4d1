import type { Graph, Node } from "../ir/graph.js";
import { InternalError } from "../diagnostics/internal.js";
import { size, type Shape } from "../shape/shape.js";
import { disagreement } from "./check.js";
import { nameTex } from "./symbols.js";
import type { Symbols } from "./view.js";

/**
 * A convolution's backward pass as a course writes it by hand (the CNN lecture after 4.6):
 * with δ = ∇_y ℓ, the filters' gradient is the (padded) input correlated with δ, the bias's
 * is δ summed over positions, and the input's is a full convolution of δ with the flipped
 * kernel. gradc computes a convolution through im2col (unfold, one matrix product, fold), so
 * these are not the sweep's lines: each is written here in index form and checked at the
 * derivation's points against the sweep's own numbers by loops of its own (checkConv).
 */

/** one conv2d/conv1d of the model (groups = 1), found in the lowered graph */
export interface ConvLayer {
  /** the call's result (after the bias), its input x, filters W, bias b */
  readonly out: Node;
  readonly x: Node;
  readonly W: Node;
  readonly bias?: Node;
  /** the node whose adjoint is δ = ∇_y ℓ (the product's, read through reshapes, when there is no bias) */
  readonly delta: number;
  /** the nodes whose adjoints are each gradient through this layer alone (undefined: shared, not shown) */
  readonly through: { readonly W?: number; readonly bias?: number; readonly padded?: number; readonly x?: number };
  readonly batched: boolean;
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly dilation: readonly number[];
  readonly padding: readonly number[];
}

/** a node's users in the graph */
export function usersOf(g: Graph): number[][] {
  const users: number[][] = g.nodes.map(() => []);
  for (const n of g.nodes) for (const a of new Set(n.args)) users[a].push(n.id);
  return users;
}

/** The convolutions the layers module lowered (src/lang/layers.ts convLower), each from its unfold. */
export function convLayers(g: Graph): ConvLayer[] {
  const users = usersOf(g);
  const only = (id: number, op: string): Node | undefined => {
    const u = users[id];
    return u.length === 1 && g.nodes[u[0]].op === op ? g.nodes[u[0]] : undefined;
  };
  return g.nodes.flatMap((cols) => {
    if (cols.op !== "unfold") return [];
    const src = g.nodes[cols.args[0]];
    const pad = src.op === "pad" ? src : undefined;
    const x = pad ? g.nodes[pad.args[0]] : src;
    const product = only(only(cols.id, "reshape")?.id ?? -1, "matmul") ?? contraction(g, users, cols);
    const n = cols.attrs!.steps!.length;
    const batched = x.shape.length === n + 2;
    // the product [N?, F, positions] shaped [N?, F, ...out] (flatten(y) may reshape the product itself)
    const rank = n + 1 + (batched ? 1 : 0);
    const y =
      product?.shape.length === rank
        ? product
        : product &&
          users[product.id].map((u) => g.nodes[u]).find((u) => u.op === "reshape" && u.shape.length === rank);
    if (!product || !y) return [];
    const weights = g.nodes[product.args[0]];
    const added = users[y.id].length === 1 ? g.nodes[users[y.id][0]] : undefined;
    const biasPath = added?.op === "add" ? g.nodes[added.args[1]] : undefined;
    const biasShape = biasPath?.op === "broadcast" ? g.nodes[biasPath.args[0]] : biasPath;
    const bias = biasShape?.op === "reshape" ? g.nodes[biasShape.args[0]] : undefined;
    const out = bias ? added! : y;
    if (!/^conv[12]d\(/.test(out.origin?.text ?? "")) return [];
    const single = (id: number) => (users[id].length === 1 ? id : undefined);
    return [
      {
        out,
        x,
        W: g.nodes[weights.args[0]],
        ...(bias ? { bias } : {}),
        delta: bias ? out.id : product.id,
        through: {
          // the printed ∇W is the whole gradient: W (and its reshape) feed this layer alone
          W: single(weights.args[0]) === undefined ? undefined : single(weights.id),
          ...(bias ? { bias: single(bias.id) === undefined ? undefined : single(biasShape!.id) } : {}),
          padded: pad ? single(pad.id) : single(x.id),
          ...(pad ? { x: single(x.id) } : {}),
        },
        batched,
        kernel: cols.shape.slice(cols.shape.length - 2 * n, cols.shape.length - n),
        stride: cols.attrs!.steps!,
        dilation: cols.attrs!.dilation!,
        padding: pad ? pad.attrs!.starts!.slice(pad.shape.length - n) : new Array<number>(n).fill(0),
      },
    ];
  });
}

/** a batched conv's product: the filters against each sample's columns ("fk,nkp->nfp") */
function contraction(g: Graph, users: number[][], cols: Node): Node | undefined {
  const r = users[cols.id].length === 1 ? g.nodes[users[cols.id][0]] : undefined;
  const p = r?.op === "reshape" && users[r.id].length === 1 ? g.nodes[users[r.id][0]] : undefined;
  return p?.op === "contract2" && p.attrs?.spec === "fk,nkp->nfp" ? p : undefined;
}

// ---- the equations --------------------------------------------------------------------------------

/** the letters of one spatial axis (or two): output positions, kernel offsets, input positions */
const letters = (n: number) =>
  n === 2 ? { p: ["p", "q"], k: ["i", "j"], u: ["u", "v"] } : { p: ["p"], k: ["i"], u: ["u"] };

/** s p + d i, as a person writes it */
function reads(s: number, p: string, d: number, k: string): string {
  return `${s === 1 ? "" : s}${p} + ${d === 1 ? "" : d}${k}`;
}

/** t_{idx}, parenthesized when t has a subscript of its own */
const at = (t: string, idx: readonly string[]) =>
  `${t.includes("_") ? `\\left(${t}\\right)` : t}_{${idx.join(",\\,")}}`;

export interface LayerEquation {
  readonly lhs: string;
  readonly steps: readonly string[];
  readonly note?: string;
}

/** The by-hand lines of one convolution, in index form (lecture notation), those the check can hold to the sweep. */
export function convEquations(c: ConvLayer, sy: Symbols, hasAdjoint: (id: number) => boolean): LayerEquation[] {
  const n = c.kernel.length;
  const L = letters(n);
  const lead = c.batched ? ["n"] : [];
  // a value the source names by its name; an unnamed one as its unit; a result no unit shows (a reshape read past) as y
  const name = (x: Node) => (sy.isShown(x) ? sy.namedTex(x) : x.hint ? nameTex(x.hint, x.shape) : "y");
  const [X, W, Y] = [name(c.x), name(c.W), name(c.out)];
  const padded = c.padding.some((p) => p > 0);
  const Xt = padded ? `\\tilde{X}` : X;
  const window = L.p.map((p, a) => reads(c.stride[a], p, c.dilation[a], L.k[a]));
  const xAt = at(Xt, [...lead, "c", ...window]);
  const wAt = at(W, ["f", "c", ...L.k]);
  const delta = (idx: readonly string[]) => at("\\delta", [...lead, "f", ...idx]);
  const sum = (over: readonly string[]) => `\\sum_{${over.join(",")}}`;
  const out: LayerEquation[] = [];
  const simple = c.stride.every((s) => s === 1) && c.dilation.every((d) => d === 1);
  out.push({
    lhs: at(Y, [...lead, "f", ...L.p]),
    steps: [`${c.bias ? `${at(sy.unitTex(c.bias), ["f"])} + ` : ""}${sum(["c", ...L.k])} ${wAt}\\, ${xAt}`],
    note: padded
      ? `\\tilde{X} = \\operatorname{pad}_{${c.padding.join(",")}}\\left(${X}\\right)`
      : "\\text{a cross-correlation}",
  });
  if (!hasAdjoint(c.delta)) return out;
  out.push({ lhs: "\\delta", steps: [sy.adjTex(Y, c.out.shape)] });
  const shown = (id: number | undefined) => id !== undefined && hasAdjoint(id);
  if (shown(c.through.W))
    out.push({
      lhs: at(sy.adjTex(W, c.W.shape), ["f", "c", ...L.k]),
      steps: [`${sum([...lead, ...L.p])} ${delta(L.p)}\\, ${xAt}`],
      note: "\\text{the input correlated with } \\delta",
    });
  if (c.bias && shown(c.through.bias))
    out.push({
      lhs: at(sy.adjTex(sy.unitTex(c.bias), c.bias.shape), ["f"]),
      steps: [`${sum([...lead, ...L.p])} ${delta(L.p)}`],
    });
  if (shown(c.through.padded)) {
    // input position u reads window position p at offset i when u = s p + d i
    const back = L.u.map((u, a) => {
      const shifted = `${u} - ${c.dilation[a] === 1 ? "" : c.dilation[a]}${L.k[a]}`;
      return c.stride[a] === 1 ? shifted : `(${shifted}) / ${c.stride[a]}`;
    });
    const flipped = `${sum(["f", ...L.k])} ${wAt}\\, ${delta(back)}`;
    out.push({
      lhs: at(sy.adjTex(Xt, c.x.shape), [...lead, "c", ...L.u]),
      steps: [flipped],
      note: simple ? "\\text{full convolution, kernel flipped}" : "\\text{whole, in-range positions}",
    });
    if (padded && shown(c.through.x))
      out.push({
        lhs: at(sy.adjTex(X, c.x.shape), [...lead, "c", ...L.u]),
        steps: [
          at(`\\nabla_{\\tilde{X}} ${sy.lossSymbol}`, [...lead, "c", ...L.u.map((u, a) => `${u} + ${c.padding[a]}`)]),
        ],
      });
  }
  return out;
}

// ---- the check --------------------------------------------------------------------------------------

/**
 * A by-hand line's value (`side`, from the loops of a check) against the sweep's (`truth`;
 * undefined: nothing to hold it to): a false line is an internal error, never printed.
 */
export function refuseFalse(
  layer: string,
  line: string,
  truth: Float64Array | undefined,
  side: Float64Array,
  shape: Shape,
  where: string,
  strict: boolean,
): void {
  if (!truth) return;
  const wrong = disagreement({ shape, value: truth }, { shape, value: side }, strict);
  if (wrong)
    throw new InternalError(`the derivation would print a false ${layer} line (${line}, at ${where}: ${wrong})`);
}

/** row-major strides */
const stridesOf = (s: Shape) => s.map((_, k) => size(s.slice(k + 1)));

/** The terms of a layer's sum, W[f, c, k] times the padded input at window p, offset k: its sizes, and a walk over every term. */
interface Terms {
  readonly N: number;
  readonly C: number;
  readonly F: number;
  readonly positions: number;
  readonly offsets: number;
  /** the padded input's shape (without the batch axis) */
  readonly padded: Shape;
  /** (sample, f, c, p, k, flat index into the padded input, into x or -1 in the padding) for every term */
  visit(term: (s: number, f: number, ch: number, p: number, k: number, pi: number, xi: number) => void): void;
}

function termsOf(c: ConvLayer): Terms {
  const n = c.kernel.length;
  const N = c.batched ? c.x.shape[0] : 1;
  const [C, ...S] = c.x.shape.slice(c.batched ? 1 : 0);
  const [F, ...O] = c.out.shape.slice(c.batched ? 1 : 0);
  const K = c.kernel;
  // term (p, k) reads padded position s p + d k per axis, x's at that minus the padding
  const P = S.map((d, a) => d + 2 * c.padding[a]);
  const [sx, sp, so, sk] = [stridesOf(S), stridesOf(P), stridesOf(O), stridesOf(K)];
  const [positions, offsets] = [size(O), size(K)];
  const padAt = new Int32Array(positions * offsets);
  const xAt = new Int32Array(positions * offsets);
  for (let p = 0; p < positions; p++)
    for (let k = 0; k < offsets; k++) {
      let [pi, xi] = [0, 0];
      for (let a = 0; a < n; a++) {
        const u = c.stride[a] * (Math.floor(p / so[a]) % O[a]) + c.dilation[a] * (Math.floor(k / sk[a]) % K[a]);
        pi += u * sp[a];
        const inside = u - c.padding[a];
        xi = xi < 0 || inside < 0 || inside >= S[a] ? -1 : xi + inside * sx[a];
      }
      padAt[p * offsets + k] = pi;
      xAt[p * offsets + k] = xi;
    }
  const [padded, inner] = [size(P), size(S)];
  return {
    N,
    C,
    F,
    positions,
    offsets,
    padded: P,
    visit: (term) => {
      for (let s = 0; s < N; s++)
        for (let f = 0; f < F; f++)
          for (let ch = 0; ch < C; ch++)
            for (let p = 0; p < positions; p++)
              for (let k = 0; k < offsets; k++) {
                const [pi, xi] = [padAt[p * offsets + k], xAt[p * offsets + k]];
                term(s, f, ch, p, k, (s * C + ch) * padded + pi, xi < 0 ? -1 : (s * C + ch) * inner + xi);
              }
    },
  };
}

/**
 * Each printed line of a convolution evaluated with loops of its own, straight from its index
 * form (not through unfold or fold), against the sweep's numbers at the point: the layer's value,
 * and the adjoints of the nodes that carry each gradient through this layer alone.
 */
export function checkConv(
  c: ConvLayer,
  value: (id: number) => Float64Array,
  adjoint: (id: number) => Float64Array | undefined,
  where: string,
  strict: boolean,
): void {
  const { N, C, F, positions, offsets, padded, visit } = termsOf(c);
  const [x, W] = [value(c.x.id), value(c.W.id)];
  const b = c.bias ? value(c.bias.id) : undefined;
  const delta = adjoint(c.delta);
  const y = new Float64Array(N * F * positions);
  if (b) for (let i = 0; i < y.length; i++) y[i] = b[Math.floor(i / positions) % F];
  visit((s, f, ch, p, k, _pi, xi) => {
    if (xi >= 0) y[(s * F + f) * positions + p] += W[(f * C + ch) * offsets + k] * x[xi];
  });
  const expect = (line: string, truth: Float64Array | undefined, side: Float64Array, shape: Shape) =>
    refuseFalse("convolution", line, truth, side, shape, where, strict);
  expect("y", value(c.out.id), y, c.out.shape);
  if (!delta) return;
  const dW = new Float64Array(W.length);
  const db = new Float64Array(F);
  const dxp = new Float64Array(N * C * size(padded));
  const dx = new Float64Array(x.length);
  visit((s, f, ch, p, k, pi, xi) => {
    const d = delta[(s * F + f) * positions + p];
    if (ch === 0 && k === 0) db[f] += d;
    dxp[pi] += W[(f * C + ch) * offsets + k] * d;
    if (xi < 0) return;
    dW[(f * C + ch) * offsets + k] += d * x[xi];
    dx[xi] += W[(f * C + ch) * offsets + k] * d;
  });
  const through = (id: number | undefined) => (id === undefined ? undefined : adjoint(id));
  expect("∇W", through(c.through.W), dW, c.W.shape);
  if (c.bias) expect("∇b", through(c.through.bias), db, c.bias.shape);
  if (c.padding.some((p) => p > 0)) {
    expect("∇x̃", through(c.through.padded), dxp, [...(c.batched ? [N] : []), C, ...padded]);
    expect("∇x", through(c.through.x), dx, c.x.shape);
  } else expect("∇x", through(c.through.padded), dx, c.x.shape);
}
