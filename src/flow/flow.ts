import { integerBounds } from "../ir/integers.js";
import { elementwiseDef, ops as opTable, type Op } from "../ops/index.js";
import { irTerms, matchTerm, p, v } from "../optimize/pattern.js";
import { evaluateNodes, userRecord } from "../eval/evaluate.js";
import type { Analysis } from "../pipeline.js";
import { size, type Shape } from "../shape/shape.js";
import { normal, uniform01 } from "../util/random.js";

/** How params start: xavier (matrices N(0, 2/(fan_in + fan_out)), the rest N(0, 1)), normal:σ, or uniform:a. */
export type Init =
  | { readonly kind: "xavier" }
  | { readonly kind: "normal"; readonly std: number }
  | { readonly kind: "uniform"; readonly limit: number };

export function parseInit(s: string): Init | undefined {
  if (s === "xavier") return { kind: "xavier" };
  const m = /^(normal|uniform):([0-9.eE+-]+)$/.exec(s);
  if (!m || !(Number(m[2]) > 0)) return undefined;
  return m[1] === "normal" ? { kind: "normal", std: Number(m[2]) } : { kind: "uniform", limit: Number(m[2]) };
}

function draw(shape: Shape, init: Init, next: () => number, uni: () => number): number | Float64Array {
  const scale =
    init.kind === "normal"
      ? init.std
      : init.kind === "xavier" && shape.length === 2
        ? Math.sqrt(2 / (shape[0] + shape[1]))
        : 1;
  const one = () => (init.kind === "uniform" ? (uni() * 2 - 1) * init.limit : next() * scale);
  return shape.length === 0 ? one() : Float64Array.from({ length: size(shape) }, one);
}

export interface FlowRow {
  readonly layer: number;
  /** family name -> magnitude (|x| for scalars, the 2-norm for tensors) */
  readonly values: Readonly<Record<string, number>>;
}

export interface Flow {
  /** columns: gradient magnitudes of indexed families, e.g. "∂f/∂h" and "∇w" */
  readonly columns: readonly string[];
  readonly rows: readonly FlowRow[];
  readonly loss: number;
}

const norm = (v: Float64Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));

/**
 * Gradient magnitudes per layer at a seeded random point (lecture 4.4): for every indexed
 * family of the source (h_1..h_L, w_1..w_L), |∂f/∂h_k| and ‖∇w_k‖. Values of every node
 * come from the reference evaluator over the differentiated graph.
 */
export function gradientFlow(a: Analysis, init: Init, seed: number): Flow {
  const g = a.canonical;
  const next = normal(seed);
  const uni = uniform01(seed + 1);
  const params = userRecord<number | Float64Array>();
  const inputs = userRecord<number | Float64Array>();
  for (const l of g.params) params[l.name] = draw(l.shape, init, next, uni);
  const bounds = integerBounds(g);
  for (const l of g.inputs) {
    // integer data (ids, labels): uniform over its valid values
    if (l.int)
      inputs[l.name] =
        l.shape.length === 0
          ? Math.floor(uni() * (bounds.get(l.name) ?? 5))
          : Float64Array.from({ length: size(l.shape) }, () => Math.floor(uni() * (bounds.get(l.name) ?? 5)));
    else inputs[l.name] = draw(l.shape, { kind: "normal", std: 1 }, next, uni);
  }
  const values = evaluateNodes(a.differentiated, params, inputs);
  const adjoint = new Map(a.sweep.map((s) => [s.node, s.adjoint]));
  const families = new Map<string, Map<number, number>>();
  const add = (column: string, k: number, v: number) => {
    if (!families.has(column)) families.set(column, new Map());
    families.get(column)!.set(k, v);
  };
  for (const n of g.nodes) {
    const name = n.name ?? n.hint;
    const m = name ? /^(.*)_(\d+)$/.exec(name) : null;
    if (!m || n.op === "const") continue;
    const adj = adjoint.get(n.id);
    if (adj === undefined) continue;
    const v = norm(values[adj]);
    add(n.op === "param" ? `‖∇${m[1]}‖` : `|∂f/∂${m[1]}|`, Number(m[2]), v);
  }
  const columns = [...families.keys()].sort((x, y) =>
    x.startsWith("|") === y.startsWith("|") ? x.localeCompare(y) : x.startsWith("|") ? -1 : 1,
  );
  const layers = [...new Set([...families.values()].flatMap((f) => [...f.keys()]))].sort((x, y) => x - y);
  const rows = layers.map((k) => ({
    layer: k,
    values: Object.fromEntries(
      columns.flatMap((c) => (families.get(c)!.has(k) ? [[c, families.get(c)!.get(k)!]] : [])),
    ),
  }));
  return { columns, rows, loss: values[g.loss][0] };
}

export function flowTable(f: Flow): string {
  const fmt = (v: number | undefined) => (v === undefined ? "" : v === 0 ? "0" : v.toExponential(3));
  const widths = [5, ...f.columns.map((c) => Math.max(c.length, 10))];
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join("  ");
  return (
    [
      line(["layer", ...f.columns]),
      ...f.rows.map((r) => line([String(r.layer), ...f.columns.map((c) => fmt(r.values[c]))])),
    ].join("\n") + "\n"
  );
}

/** The first hidden-gradient column's change per layer, as a geometric mean: < 1 vanishes, > 1 explodes. */
export function decayPerLayer(f: Flow): { column: string; factor: number } | undefined {
  const column = f.columns.find((c) => c.startsWith("|")) ?? f.columns[0];
  const pts = f.rows.filter((r) => r.values[column] > 0).map((r) => [r.layer, r.values[column]] as const);
  if (pts.length < 2) return undefined;
  const [k0, v0] = pts[0];
  const [k1, v1] = pts[pts.length - 1];
  return { column, factor: (v0 / v1) ** (1 / (k1 - k0)) };
}

/**
 * The activations of a model (the ops whose rule states a bound on their derivative), with that
 * bound, for the flow verdict: "tanh' ≤ 1" for a tanh chain, never sigmoid's for it.
 */
export function activationNotes(a: Analysis): { op: string; bound: string }[] {
  const ops = new Set(a.forward.nodes.map((n) => n.op));
  return Object.keys(opTable).flatMap((op) => {
    const bound = elementwiseDef(op)?.bound;
    return bound !== undefined && ops.has(op as Op) ? [{ op, bound }] : [];
  });
}

/**
 * How layer k's gradient reaches layer k−1, read off the program (lecture 4.3 and 4.4), when every
 * layer of the hidden family `h` has one of two forms: h_k = φ(w_k h_(k-1) [+ b_k]) ("plain":
 * ∂f/∂h_(k-1) = ∂f/∂h_k · φ'(z_k) w_k), or the skip connection h_k = h_(k-1) + φ(w_k h_(k-1) [+ b_k])
 * ("skip": the factor is 1 + φ'(z_k) w_k). Anything else (a batch norm, a matrix) is undefined:
 * its factor is the layer's Jacobian ∂h_k/∂h_(k-1), and the verdict says only that.
 */
export function layerRecurrence(
  a: Analysis,
  family: string,
): { form: "plain" | "skip"; activation: string } | undefined {
  const g = a.canonical;
  const terms = irTerms(g);
  const layer = new Map<number, number>();
  for (const n of g.nodes) {
    const m = /^(.*)_(\d+)$/.exec(n.name ?? n.hint ?? "");
    if (m && m[1] === family && n.op !== "const") layer.set(Number(m[2]), n.id);
  }
  const isParam = (id: number) => g.nodes[id].op === "param";
  // φ(w h [+ b]) with h the previous layer and w (and b) params: its activation, or undefined
  const unit = (id: number, prev: number): string | undefined => {
    const n = g.nodes[id];
    if (n.args.length !== 1 || elementwiseDef(n.op)?.bound === undefined) return undefined;
    const pre = terms.args(id)[0];
    const affine = matchTerm(terms, p("add", p("mul", v("w"), v("h")), v("b")), pre);
    const linear = matchTerm(terms, p("mul", v("w"), v("h")), pre);
    const m = affine && isParam(affine.get("b")!) ? affine : linear;
    return m && m.get("h") === prev && isParam(m.get("w")!) ? n.op : undefined;
  };
  type Form = { form: "plain" | "skip"; activation: string } | undefined;
  const forms = [...layer].flatMap(([k, id]): Form[] => {
    const prev = layer.get(k - 1);
    if (prev === undefined) return [];
    const plain = unit(id, prev);
    if (plain) return [{ form: "plain", activation: plain }];
    const n = g.nodes[id];
    const other = n.op === "add" ? n.args.find((x) => x !== prev) : undefined;
    const skip = other !== undefined && n.args.includes(prev) ? unit(other, prev) : undefined;
    return [skip ? { form: "skip", activation: skip } : undefined];
  });
  const first = forms[0];
  if (!first || forms.some((f) => f?.form !== first.form || f.activation !== first.activation)) return undefined;
  return first;
}
