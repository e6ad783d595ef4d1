import type { Graph, Node } from "../ir/graph.js";
import { contract } from "../ops/reference.js";
import type { OpNode } from "../ops/types.js";
import { parseSpec } from "../shape/contract.js";
import type { Shape } from "../shape/shape.js";
import { refuseFalse, usersOf, type LayerEquation } from "./layers.js";
import { nameTex } from "./symbols.js";
import type { Symbols } from "./view.js";

/**
 * Scaled dot-product attention's backward pass as a course writes it by hand (the attention
 * lecture after 4.6): per head, S = c Q Kᵀ, P = softmax(S) row by row, O = P V; with
 * δ = ∇_O ℓ, ∇V = Pᵀ δ, ∇P = δ Vᵀ, ∇S = P ⊙ (∇P − rowsum(P ⊙ ∇P)) (softmax's
 * Jacobian–vector product), ∇Q = c ∇S K and ∇K = c ∇Sᵀ Q. gradc differentiates the einsums
 * and the softmax op by op; these lines are checked at the derivation's points against the
 * sweep's numbers (checkAttention).
 */

/** one product's letters: the per-head batch letters, then each operand's subscripts and the result's */
interface Product {
  readonly spec: string;
  readonly operands: readonly [Node, Node];
}

/** one attention of the model: softmax(c · Q Kᵀ (masked)) V, found in the lowered graph */
export interface AttentionLayer {
  readonly Q: Node;
  readonly K: Node;
  readonly V: Node;
  /** the scaled scores, the softmax's result and the product with V */
  readonly S: Node;
  readonly P: Node;
  readonly O: Node;
  readonly scores: Product;
  readonly output: Product;
  /** c in S = c Q Kᵀ */
  readonly scale: number;
  /** where(M, S, fill) before the softmax: the mask's node (0/1, broadcast to S) and the fill */
  readonly mask?: { readonly cond: number; readonly fill: number };
  /** the letters of a head's matrices: t (queries), s (keys), d (Q's and K's features), e (V's) */
  readonly letters: { readonly t: string; readonly s: string; readonly d: string; readonly e: string };
  /** the per-head batch letters of the scores (n, h), in order */
  readonly heads: string;
  /** the nodes whose adjoints are each gradient through this layer alone (undefined: shared, not shown) */
  readonly through: {
    readonly Q?: number;
    readonly K?: number;
    readonly V?: number;
    readonly P?: number;
    readonly S?: number;
  };
}

/** a constant's value through broadcasts and negations (undefined: not a constant) */
function constantOf(g: Graph, id: number): number | undefined {
  const n = g.nodes[id];
  if (n.op === "const") return n.value;
  if (n.op === "broadcast") return constantOf(g, n.args[0]);
  if (n.op === "neg") {
    const v = constantOf(g, n.args[0]);
    return v === undefined ? undefined : -v;
  }
  return undefined;
}

/** a product as einsum: a contraction, or a matrix product (its second operand read through a transpose) */
function asProduct(g: Graph, n: Node): Product | undefined {
  if (n.op === "contract2") return { spec: n.attrs!.spec!, operands: [g.nodes[n.args[0]], g.nodes[n.args[1]]] };
  if (n.op !== "matmul") return undefined;
  const b = g.nodes[n.args[1]];
  return b.op === "transpose"
    ? { spec: "ik,jk->ij", operands: [g.nodes[n.args[0]], g.nodes[b.args[0]]] }
    : { spec: "ik,kj->ij", operands: [g.nodes[n.args[0]], b] };
}

/** c and the product in c · product (S = product / c', c' · product, product · c', or the product) */
function scaled(g: Graph, S: Node): { readonly product: Node; readonly scale: number } {
  if (S.op === "div" || S.op === "mul") {
    const c = constantOf(g, S.args[1]);
    if (c !== undefined && c !== 0) return { product: g.nodes[S.args[0]], scale: S.op === "div" ? 1 / c : c };
    const first = S.op === "mul" ? constantOf(g, S.args[0]) : undefined;
    if (first !== undefined) return { product: g.nodes[S.args[1]], scale: first };
  }
  return { product: S, scale: 1 };
}

/**
 * The letters when the scores are c Σ_d Q[…t…d] K[…s…d] over the batch letters, ending in t, s
 * (the softmax's rows are the keys s), and the output Σ_s P[…t, s] V[…s…e], each head's
 * matrices with one feature letter: undefined for any other product.
 */
function headLetters(scores: string, output: string): (AttentionLayer["letters"] & { heads: string }) | undefined {
  const [sc, out] = [parseSpec(scores), parseSpec(output)];
  if (!sc || !out || sc.inputs.length !== 2 || out.inputs.length !== 2) return undefined;
  const distinct = (s: string) => new Set(s).size === s.length;
  if (![...sc.inputs, sc.output, ...out.inputs, out.output].every(distinct)) return undefined;
  const [q, k] = sc.inputs;
  const o = sc.output;
  const [t, s] = [o[o.length - 2], o[o.length - 1]];
  const heads = o.slice(0, -2);
  const features = [...q].filter((c) => k.includes(c) && !o.includes(c));
  const exactly = (sub: string, letters: string) =>
    sub.length === letters.length && [...letters].every((c) => sub.includes(c));
  if (features.length !== 1 || !exactly(q, heads + t + features[0]) || !exactly(k, heads + s + features[0]))
    return undefined;
  // the output product, in its own letters: P[heads', t', s'] V[heads', s', e] -> [heads', t', e]
  const [p, v] = out.inputs;
  if (p.length !== o.length) return undefined;
  const [t2, s2, heads2] = [p[p.length - 2], p[p.length - 1], p.slice(0, -2)];
  const e = [...v].filter((c) => c !== s2 && !heads2.includes(c));
  if (e.length !== 1 || !exactly(v, heads2 + s2 + e[0]) || !exactly(out.output, heads2 + t2 + e[0])) return undefined;
  // each head's output is a t × e matrix, V an s × e one
  if (out.output.indexOf(t2) > out.output.indexOf(e[0]) || v.indexOf(s2) > v.indexOf(e[0])) return undefined;
  if (q.indexOf(t) > q.indexOf(features[0])) return undefined;
  return { t, s, d: features[0], e: e[0], heads };
}

/** The attentions of a graph: each last-axis softmax between a product of Q and K and a product with V. */
export function attentionLayers(g: Graph): AttentionLayer[] {
  const users = usersOf(g);
  const only = (id: number) => (users[id].length === 1 ? g.nodes[users[id][0]] : undefined);
  return g.nodes.flatMap((P): AttentionLayer[] => {
    if (P.op !== "softmax" || P.shape.length < 2) return [];
    const z = g.nodes[P.args[0]];
    const masked = z.op === "select" ? constantOf(g, z.args[2]) : undefined;
    const S = masked !== undefined ? g.nodes[z.args[1]] : z;
    const { product, scale } = scaled(g, S);
    const scores = asProduct(g, product);
    const O = only(P.id);
    const output = O && O.args[0] === P.id ? asProduct(g, O) : undefined;
    if (!O || !scores || !output) return [];
    const letters = headLetters(scores.spec, output.spec);
    if (!letters) return [];
    const [Q, K] = scores.operands;
    const V = output.operands[1];
    const keyPath = g.nodes[product.args[1]];
    const distinct = Q.id !== K.id && Q.id !== V.id && K.id !== V.id;
    // a gradient printed is the whole gradient: the node feeds this layer alone
    const alone = (id: number, via: number) =>
      distinct && users[id].length === 1 && users[id][0] === via ? id : undefined;
    const { heads, ...rest } = letters;
    return [
      {
        Q,
        K,
        V,
        S,
        P,
        O,
        scores,
        output,
        scale,
        ...(masked !== undefined ? { mask: { cond: z.args[0], fill: masked } } : {}),
        letters: rest,
        heads,
        through: {
          Q: alone(Q.id, product.id),
          K:
            keyPath.op === "transpose" && keyPath.args[0] === K.id
              ? alone(keyPath.id, product.id) === undefined
                ? undefined
                : alone(K.id, keyPath.id)
              : alone(K.id, product.id),
          V: alone(V.id, O.id),
          P: alone(P.id, O.id),
          S: users[S.id].length === 1 ? S.id : undefined,
        },
      },
    ];
  });
}

// ---- the equations --------------------------------------------------------------------------------

/** a number as a person writes it: 10^{9} for a power of ten, else its shortest decimal */
function numberTex(v: number): string {
  const sign = v < 0 ? "-" : "";
  const a = Math.abs(v);
  const power = Math.log10(a);
  if (a >= 1e4 && Number.isInteger(power)) return `${sign}10^{${power}}`;
  return `${sign}${String(Number(a.toPrecision(6)))}`;
}

/** c as a factor in front of a product: \frac{1}{4} for 1/4, nothing for 1 */
function factorTex(c: number): string {
  if (c === 1) return "";
  const inverse = 1 / c;
  if (Number.isInteger(inverse) && inverse > 0) return `\\frac{1}{${inverse}} `;
  return `${numberTex(c)} `;
}

/** The by-hand lines of one attention, per head, those the check can hold to the sweep. */
export function attentionEquations(
  l: AttentionLayer,
  sy: Symbols,
  hasAdjoint: (id: number) => boolean,
): LayerEquation[] {
  const name = (x: Node, fallback: string) =>
    sy.isShown(x) ? sy.namedTex(x) : x.hint ? nameTex(x.hint, x.shape) : fallback;
  const [Q, K, V, S, P, O] = [
    name(l.Q, "Q"),
    name(l.K, "K"),
    name(l.V, "V"),
    name(l.S, "S"),
    name(l.P, "P"),
    name(l.O, "O"),
  ];
  const { d, s } = l.letters;
  const keysByRow = l.scores.spec.split(",")[1];
  // K as each head's s × d matrix is K, or its transpose when K is laid out d before s
  const rowsAreKeys = keysByRow.indexOf(s) < keysByRow.indexOf(d);
  const Kt = rowsAreKeys ? `${K}^{\\top}` : K;
  const c = factorTex(l.scale);
  const heads = l.heads.length ? `\\text{for each } ${[...l.heads].join(",\\,")}` : undefined;
  const out: LayerEquation[] = [
    { lhs: S, steps: [`${c}${Q} ${Kt}`], ...(heads ? { note: heads } : {}) },
    {
      lhs: P,
      steps: [
        l.mask
          ? `\\operatorname{softmax}\\left(\\operatorname{where}\\left(M, ${S}, ${numberTex(l.mask.fill)}\\right)\\right)`
          : `\\operatorname{softmax}\\left(${S}\\right)`,
      ],
      note: l.mask ? "\\text{by rows; } M \\text{: the mask}" : "\\text{by rows}",
    },
    { lhs: O, steps: [`${P} ${V}`] },
  ];
  if (!hasAdjoint(l.O.id)) return out;
  const dP = sy.adjTex(P, l.P.shape);
  const dS = sy.adjTex(S, l.S.shape);
  out.push({ lhs: "\\delta", steps: [sy.adjTex(O, l.O.shape)] });
  const shown = (id: number | undefined) => id !== undefined && hasAdjoint(id);
  if (shown(l.through.V)) out.push({ lhs: sy.adjTex(V, l.V.shape), steps: [`${P}^{\\top} \\delta`] });
  if (shown(l.through.P)) out.push({ lhs: dP, steps: [`\\delta ${V}^{\\top}`] });
  if (shown(l.through.S) && shown(l.through.P))
    out.push({
      lhs: dS,
      steps: [
        `${l.mask ? "M \\odot " : ""}${P} \\odot \\left(${dP} - \\operatorname{rowsum}\\left(${P} \\odot ${dP}\\right)\\right)`,
      ],
      note: "\\text{softmax's Jacobian-vector product}",
    });
  if (shown(l.through.S) && shown(l.through.Q))
    out.push({ lhs: sy.adjTex(Q, l.Q.shape), steps: [`${c}${dS}\\, ${rowsAreKeys ? K : `${K}^{\\top}`}`] });
  if (shown(l.through.S) && shown(l.through.K))
    out.push({
      lhs: sy.adjTex(K, l.K.shape),
      steps: [rowsAreKeys ? `${c}\\left(${dS}\\right)^{\\top} ${Q}` : `${c}${Q}^{\\top} ${dS}`],
    });
  return out;
}

// ---- the check --------------------------------------------------------------------------------------

/** an einsum of two operands, by the reference contraction (the evaluator's oracle) */
function einsum(spec: string, a: Float64Array, b: Float64Array, shapes: readonly [Shape, Shape], out: Shape) {
  return contract({ attrs: { spec }, shape: out } as unknown as OpNode, [a, b], shapes);
}

/** the same product with one operand's gradient as its result: its subscripts from the others' */
function gradSpec(spec: string, operand: 0 | 1): string {
  const { inputs, output } = parseSpec(spec)!;
  return `${output},${inputs[1 - operand]}->${inputs[operand]}`;
}

/**
 * Each printed line of an attention evaluated from its by-hand form (the products by the
 * reference contraction, softmax and its Jacobian–vector product by loops over the rows),
 * against the sweep's numbers at the point.
 */
export function checkAttention(
  l: AttentionLayer,
  value: (id: number) => Float64Array,
  adjoint: (id: number) => Float64Array | undefined,
  where: string,
  strict: boolean,
): void {
  const expect = (line: string, truth: Float64Array | undefined, side: Float64Array, shape: Shape) =>
    refuseFalse("attention", line, truth, side, shape, where, strict);
  const [q, k, v] = [value(l.Q.id), value(l.K.id), value(l.V.id)];
  const { inputs, output: os } = parseSpec(l.scores.spec)!;
  const [qs, ks] = inputs;
  const S = einsum(l.scores.spec, q, k, [l.Q.shape, l.K.shape], l.S.shape).map((x) => l.scale * x);
  expect("S", value(l.S.id), S, l.S.shape);
  const n = l.S.shape[l.S.shape.length - 1];
  const mask = l.mask ? value(l.mask.cond) : undefined;
  // P row by row: softmax of the (masked) scores, shifted by the row's maximum
  const P = new Float64Array(S.length);
  for (let r = 0; r < S.length; r += n) {
    const z = (j: number) => (mask && mask[r + j] === 0 ? l.mask!.fill : S[r + j]);
    let top = -Infinity;
    for (let j = 0; j < n; j++) top = Math.max(top, z(j));
    let total = 0;
    for (let j = 0; j < n; j++) total += P[r + j] = Math.exp(z(j) - top);
    for (let j = 0; j < n; j++) P[r + j] /= total;
  }
  expect("P", value(l.P.id), P, l.P.shape);
  const Vshape = l.V.shape;
  expect("O", value(l.O.id), einsum(l.output.spec, P, v, [l.P.shape, Vshape], l.O.shape), l.O.shape);
  const delta = adjoint(l.O.id);
  if (!delta) return;
  const through = (id: number | undefined) => (id === undefined ? undefined : adjoint(id));
  expect(
    "∇V",
    through(l.through.V),
    einsum(gradSpec(l.output.spec, 1), delta, P, [l.O.shape, l.P.shape], Vshape),
    Vshape,
  );
  const dP = einsum(gradSpec(l.output.spec, 0), delta, v, [l.O.shape, Vshape], l.P.shape);
  expect("∇P", through(l.through.P), dP, l.P.shape);
  // softmax's Jacobian–vector product, row by row; a masked score gets nothing
  const dS = new Float64Array(S.length);
  for (let r = 0; r < S.length; r += n) {
    let dot = 0;
    for (let j = 0; j < n; j++) dot += P[r + j] * dP[r + j];
    for (let j = 0; j < n; j++) dS[r + j] = mask && mask[r + j] === 0 ? 0 : P[r + j] * (dP[r + j] - dot);
  }
  expect("∇S", through(l.through.S), dS, l.S.shape);
  const scaledBy = (x: Float64Array) => x.map((y) => l.scale * y);
  const dQ = einsum(`${os},${ks}->${qs}`, dS, k, [l.S.shape, l.K.shape], l.Q.shape);
  const dK = einsum(`${os},${qs}->${ks}`, dS, q, [l.S.shape, l.Q.shape], l.K.shape);
  expect("∇Q", through(l.through.Q), scaledBy(dQ), l.Q.shape);
  expect("∇K", through(l.through.K), scaledBy(dK), l.K.shape);
}
