import type { MathNode } from "mathjs";
import { evaluateNodes, type Values } from "../eval/evaluate.js";
import type { Graph, Node } from "../ir/graph.js";
import { originNote } from "../util/text.js";
import { dependsOnParams } from "../ir/graph.js";
import { differentiate, type Differentiated, type SweepStep } from "../autodiff/differentiate.js";
import { elementwiseDef, opInfo } from "../ops/index.js";
import type { Analysis } from "../pipeline.js";
import { size as shapeSize, type Shape } from "../shape/shape.js";
import { apply, constOf, num, prime, size, tidy } from "./math.js";
import { Symbols, type Edge } from "./view.js";
import { nameTex, shapeTex } from "./symbols.js";
import { sourceExpr } from "./source.js";
import type { TExpr } from "../check/program.js";
import { InternalError } from "../diagnostics/internal.js";
import { ExplainError } from "./errors.js";
import { checkEquations, type Tensor } from "./check.js";
import { parsePoint } from "./point.js";
import { recursionEquations } from "./recursion.js";
import { handLayers, type HandLayer } from "./by-hand.js";

export { ExplainError };

/**
 * Closed forms stay readable: a forward expansion larger than FORWARD_LIMIT, or an adjoint
 * larger than ADJOINT_LIMIT, is written by its symbol instead. Nodes the user named (h_k) are
 * always written by name, and their adjoints become named symbols (∂f/∂h_k, the lecture's
 * recursion in 4.3) once larger than NAMED_ADJOINT_LIMIT.
 */
const FORWARD_LIMIT = 12;
const ADJOINT_LIMIT = 30;
const NAMED_ADJOINT_LIMIT = 8;
/** the largest closed form (in display nodes) one step of the sweep writes out */
const STEP_LIMIT = 400;

export interface Equation {
  readonly lhs: string;
  /** lhs = steps[0] = steps[1] = ... */
  readonly steps: readonly string[];
  readonly note?: string;
  /**
   * What the numeric check evaluates (src/explain/check.ts): the value the lhs stands for, and
   * each step's display tree (undefined: notation, true by definition, such as Σ_v ∂ℓ/∂v ∂v/∂u)
   */
  readonly sides?: { readonly truth: MathNode; readonly steps: readonly (MathNode | undefined)[] };
}

export interface TableRow {
  readonly symbol: string;
  readonly shape: Shape;
  readonly value: Float64Array;
  /** df/du at the point; undefined for nodes the loss does not depend on through a param */
  readonly grad?: Float64Array;
}

/** Everything a worked derivation shows, as LaTeX fragments plus numbers. */
export interface Derivation {
  readonly file: string;
  readonly lossSymbol: string;
  readonly tensor: boolean;
  /** the model has a softmax cross-entropy (softmax_cross_entropy, cross_entropy): lecture 4.6.4's softmax(z) − y applies */
  readonly softmaxCrossEntropy: boolean;
  readonly model: readonly Equation[];
  readonly order: readonly string[];
  readonly units: readonly Equation[];
  readonly childSets: readonly Equation[];
  readonly locals: readonly Equation[];
  readonly sweep: readonly Equation[];
  readonly finals: readonly Equation[];
  /** each convolution's, normalization's, pool's and attention's backward pass by hand (src/explain/layers.ts, norms.ts, pooling.ts, attention.ts): one block per layer, in the model's order */
  readonly layers: readonly (readonly Equation[])[];
  /** backpropagation through time: each recursive family's gradient at a generic step, from the sweep's lines renamed (src/explain/recursion.ts) */
  readonly recursion: readonly Equation[];
  readonly table?: readonly TableRow[];
  /** the graph, for pictures: node id -> label data */
  readonly nodes: readonly {
    readonly id: number;
    readonly label: string;
    readonly kind: "param" | "input" | "unit";
    readonly op: string;
    readonly args: readonly number[];
    /** the constants among its operands (drawn as their values, not as nodes of the graph) */
    readonly constants: readonly number[];
  }[];
  /** the loss node: the picture draws what it depends on */
  readonly loss: number;
}

/** A sweep step sums over at most this many children term by term; more are stated as a Σ. */
const MAX_SUM_WRITTEN = 64;

/** A named value's formula may nest this many operations; a deeper one is no formula a person reads. */
const MAX_FORMULA_DEPTH = 200;

/**
 * Each user-named value is written as one formula down to the names it uses: refuse, with the
 * line, a formula nested deeper than MAX_FORMULA_DEPTH (a sum of 3,000 terms), instead of
 * building a display tree that deep.
 */
function refuseDeepFormulas(fwd: Graph, file: string): void {
  const depth = new Map<number, number>();
  for (const x of fwd.nodes) {
    const stop = (id: number) => {
      const n = fwd.nodes[id];
      return n.op === "param" || n.op === "input" || n.op === "const" || n.hint !== undefined;
    };
    const d = 1 + Math.max(0, ...x.args.map((arg) => (stop(arg) ? 0 : (depth.get(arg) ?? 0))));
    depth.set(x.id, d);
    if (d > MAX_FORMULA_DEPTH) {
      const where = x.origin ? ` (${originNote(x.origin.text, 40)})` : "";
      throw new ExplainError("E540", { file, limit: MAX_FORMULA_DEPTH, where });
    }
  }
}

/** The worked derivation of an analysis (lecture 4.6), section by section, optionally with values at a point. */
export function derive(a: Analysis, at?: { params: Values; inputs: Values }): Derivation {
  // the program as written (the canonical forms are the generated code's business), differentiated for the sweep
  const fwd = a.forward;
  refuseDeepFormulas(fwd, fwd.file);
  const written = differentiate(fwd);
  const sy = new Symbols(fwd);
  const shown = fwd.nodes.filter((x) => sy.isShown(x));
  const { sweep, finals, closedOf } = sweepSection(written.sweep, sy);
  const model = modelSection(a, sy);
  const units = unitsSection(sy);
  const locals = localsSection(sy);
  const checked = [...model, ...units, ...locals, ...sweep, ...finals];
  // the layers written by hand, one block each, in the model's order
  const byHand = handLayers(fwd);
  const active = new Set(written.sweep.map((s) => s.node));
  const hasAdjoint = (id: number) => active.has(id);
  const layers = byHand.map((l) => l.equations(sy, hasAdjoint));
  checkAt(written, fwd, checked, byHand, parsePoint(`random:${CHECK_SEED}`, fwd), `random:${CHECK_SEED}`, true);
  if (at) checkAt(written, fwd, checked, byHand, at, "the given point", false);
  const table = at ? valuesAt(a, written, shown, sy, at) : undefined;
  return {
    file: fwd.file,
    lossSymbol: sy.lossSymbol,
    tensor: shown.some((x) => x.shape.length > 0),
    softmaxCrossEntropy: shown.some((x) => x.op === "sce"),
    model,
    order: shown.map((x) => sy.unitTex(x)),
    units,
    childSets: shown
      .filter((x) => sy.kids(x.id).length > 0)
      .map((x) => ({
        lhs: `S(${sy.unitTex(x)})`,
        steps: [
          `\\{${sy
            .kids(x.id)
            .map((c) => sy.unitTex(fwd.nodes[c]))
            .join(", ")}\\}`,
        ],
      })),
    locals,
    sweep,
    finals,
    layers,
    recursion: recursionEquations(sy, closedOf),
    ...(table ? { table } : {}),
    nodes: shown.map((x) => pictureNode(sy, x)),
    loss: fwd.loss,
  };
}

/** a node of the picture: its shown operands (through broadcasts) and its constant operands' values */
function pictureNode(sy: Symbols, x: Node): Derivation["nodes"][number] {
  const through = (id: number): number => {
    const n = sy.fwd.nodes[id];
    return opInfo(n.op).implicit && !sy.constant[id] ? through(n.args[0]) : id;
  };
  const operands = x.args.map(through);
  // a constant operand is drawn as its value (when it folds to one number)
  const constantValue = (id: number): number[] => {
    const v = constOf(sy.operand(id, false));
    return v === undefined ? [] : [v];
  };
  return {
    id: x.id,
    label: sy.unitTex(x),
    kind: x.op === "param" ? "param" : x.op === "input" ? "input" : "unit",
    op: x.op,
    args: operands.filter((id) => !sy.constant[id]),
    constants: operands.filter((id) => sy.constant[id]).flatMap(constantValue),
  };
}

/**
 * The model as the student wrote it: each value the source names, in source order, as its
 * expression (builtin calls as called, src/explain/source.ts), down to the names it uses.
 */
function modelSection(a: Analysis, sy: Symbols): Equation[] {
  const { program, names } = a;
  const byName = new Map(program.assigns.map((x) => [x.name, x]));
  const shownName = (x: (typeof program.assigns)[number]) => (x.hidden ? x.hint : x.name);
  const ref = (name: string): MathNode => {
    const id = names.get(name);
    if (id === undefined) throw new InternalError(`explain: '${name}' has no node`);
    const assigned = byName.get(name);
    // a def's argument (hidden, unnamed) is written as what it stands for
    if (assigned && shownName(assigned) === undefined) return sourceExpr(assigned.value, program, ref);
    return sy.sourceSym(sy.fwd.nodes[id], assigned ? shownName(assigned)! : name);
  };
  const equation = (lhs: string, id: number, value: TExpr): Equation => {
    const rhs = sourceExpr(value, program, ref);
    return { lhs, steps: [sy.tex(rhs)], sides: { truth: sy.unitSym(sy.fwd.nodes[id]), steps: [rhs] } };
  };
  const rows = program.assigns.flatMap((x) => {
    const id = names.get(x.name);
    const name = shownName(x);
    if (id === undefined || name === undefined || !sy.live[id] || id === sy.fwd.loss) return [];
    return [equation(nameTex(name, sy.fwd.nodes[id].shape), id, x.value)];
  });
  return [...rows, equation(sy.lossSymbol, sy.fwd.loss, program.loss.value)];
}

/** The decomposition into units u_1..u_n, each one op of earlier units (lecture 4.6.1). */
function unitsSection(sy: Symbols): Equation[] {
  const { fwd } = sy;
  return fwd.nodes
    .filter((x) => sy.isUnit(x))
    .map((x) => {
      const notes = [
        sy.isNamed(x) ? `(= ${sy.namedTex(x)})` : x.id === fwd.loss ? `(= ${sy.lossSymbol})` : "",
        x.shape.length ? `\\in ${shapeTex(x.shape)}` : "",
      ].filter(Boolean);
      const rhs = tidy(
        sy.define(
          x,
          x.args.map((arg) => sy.operand(arg, false)),
        ),
      );
      return {
        lhs: sy.unitTex(x),
        steps: [sy.tex(rhs)],
        ...(notes.length ? { note: notes.join(" ") } : {}),
        sides: { truth: sy.unitSym(x), steps: [rhs] },
      };
    });
}

/** Local derivatives, one per edge into a unit from a unit that depends on a param (lecture 4.6.1). */
function localsSection(sy: Symbols): Equation[] {
  const { fwd } = sy;
  const active = dependsOnParams(fwd);
  return fwd.nodes
    .filter((u) => active[u.id] && sy.isShown(u))
    .flatMap((u) => sy.edges(u.id).map((e) => ({ u, e })))
    .sort((p, q) => p.e.v.id - q.e.v.id || p.e.i - q.e.i)
    .map(({ u, e }) => localDerivative(sy, e, u));
}

/** ∂v/∂u for scalars (with the lecture's σ'(z) where the op has one), else the vector-Jacobian product */
function localDerivative(sy: Symbols, e: Edge, u: Node): Equation {
  const { v } = e;
  const operands = (id: number) => sy.operand(id, false);
  if (v.shape.length === 0 && u.shape.length === 0) {
    const d = tidy(sy.edgeContribution(e, num(1), operands, sy.unitSym(v)));
    const named = elementwiseDef(v.op)?.prime && v.args.length === 1 ? prime(v.op, operands(u.id)) : undefined;
    const both = named !== undefined && sy.tex(named) !== sy.tex(d);
    return {
      lhs: `\\frac{\\partial ${sy.unitTex(v)}}{\\partial ${sy.unitTex(u)}}`,
      steps: both ? [sy.tex(named), sy.tex(d)] : [sy.tex(d)],
      sides: { truth: sy.edgeVjp(e, num(1)), steps: both ? [named, d] : [d] },
    };
  }
  const d = tidy(sy.edgeContribution(e, sy.adjSym(v), operands, sy.unitSym(v)));
  // the Jacobian's shape (lecture 4.2: entries of v by entries of u, flattened), so the
  // product (n × m)(m) = (n) is visibly well-defined
  const [m, n] = [shapeSize(v.shape), shapeSize(u.shape)];
  return {
    lhs: `\\left(\\frac{\\partial ${sy.unitTex(v)}}{\\partial ${sy.unitTex(u)}}\\right)^{\\top} ${sy.adjTex(sy.unitTex(v), v.shape)}`,
    note: `\\tfrac{\\partial ${sy.unitTex(v)}}{\\partial ${sy.unitTex(u)}} \\in \\mathbb{R}^{${m} \\times ${n}}`,
    steps: [sy.tex(d)],
    sides: { truth: sy.edgeVjp(e, sy.adjSym(v)), steps: [d] },
  };
}

/**
 * Closed forms for the sweep: forward expansions and adjoints, each written by its symbol
 * once it grows past its limit (FORWARD_LIMIT, ADJOINT_LIMIT, NAMED_ADJOINT_LIMIT).
 */
class ClosedForms {
  readonly adjoint = new Map<number, MathNode>();
  private readonly forward = new Map<number, MathNode>();
  constructor(private readonly sy: Symbols) {}

  private closedForward(id: number): MathNode {
    const x = this.sy.fwd.nodes[id];
    if (this.sy.isLeaf(x)) return this.sy.namedSym(x);
    if (this.sy.constant[id]) return this.sy.operand(id, true);
    const have = this.forward.get(id);
    if (have) return have;
    const e = tidy(
      this.sy.define(
        x,
        x.args.map((arg) => this.smallForward(arg)),
      ),
    );
    this.forward.set(id, e);
    return e;
  }

  smallForward(id: number): MathNode {
    const x = this.sy.fwd.nodes[id];
    if (this.sy.isNamed(x)) return this.sy.operand(id, true);
    const c = this.closedForward(id);
    return size(c) <= FORWARD_LIMIT || !this.sy.isShown(x) ? c : this.sy.operand(id, true);
  }

  smallAdjoint(v: Node): MathNode {
    const c = this.adjoint.get(v.id)!;
    return size(c) <= (this.sy.isNamed(v) ? NAMED_ADJOINT_LIMIT : ADJOINT_LIMIT) ? c : this.sy.adjNamedSym(v);
  }

  /** an edge's derivative in the lecture's notation: σ'(z) for a one-operand op that has one, else the rule */
  local(e: Edge, gNode: MathNode): MathNode {
    const { v } = e;
    if (elementwiseDef(v.op)?.prime && v.args.length === 1 && e.via.length === 0)
      return apply("mul", [gNode, prime(v.op, this.smallForward(v.args[0]))]);
    return this.sy.edgeContribution(e, gNode, (id) => this.smallForward(id), this.smallForward(v.id));
  }
}

/** The sweep (4.6.2/4.6.3): each adjoint as the sum over its children, then the params' gradients. */
function sweepSection(
  steps: readonly SweepStep[],
  sy: Symbols,
): { sweep: Equation[]; finals: Equation[]; closedOf: Map<number, MathNode> } {
  const { fwd } = sy;
  const closed = new ClosedForms(sy);
  // each shown node's gradient in its last written form (a tree the check evaluates)
  const closedOf = new Map<number, MathNode>();
  const sweep = steps
    .filter((step) => sy.isShown(fwd.nodes[step.node]))
    .map((step) => {
      const e = sweepStep(sy, closed, fwd.nodes[step.node]);
      const last = e.sides?.steps[e.sides.steps.length - 1];
      if (last) closedOf.set(step.node, last);
      return e;
    });
  const finals = fwd.params.map((p) => {
    const x = fwd.nodes[p.node];
    const c = closed.adjoint.get(p.node);
    if (c) closedOf.set(p.node, c);
    return {
      lhs: `${sy.adjTex(sy.unitTex(x), x.shape)}${x.shape.length ? ` \\in ${shapeTex(x.shape)}` : ""}`,
      steps: [c ? sy.tex(c) : "0"],
      sides: { truth: sy.adjSym(x), steps: [c ?? num(0)] },
    };
  });
  return { sweep, finals, closedOf };
}

/** one line of the sweep: ∂ℓ/∂u in the lecture's notation, with the local derivatives, in closed form */
function sweepStep(sy: Symbols, closed: ClosedForms, u: Node): Equation {
  const { lossSymbol } = sy;
  const lhs = `${sy.adjTex(sy.unitTex(u), u.shape)}${u.shape.length ? ` \\in ${shapeTex(u.shape)}` : ""}`;
  if (u.id === sy.fwd.loss) {
    closed.adjoint.set(u.id, num(1));
    return { lhs, steps: ["1"], sides: { truth: sy.adjSym(u), steps: [num(1)] } };
  }
  const es = sy.edges(u.id).filter((e) => closed.adjoint.has(e.v.id));
  if (es.length > MAX_SUM_WRITTEN) {
    // a value used by thousands of units: the sum is stated, not written term by term
    const generic =
      u.shape.length === 0
        ? `\\sum_{v \\in S(${sy.unitTex(u)})} \\frac{\\partial ${lossSymbol}}{\\partial v} \\frac{\\partial v}{\\partial ${sy.unitTex(u)}}`
        : `\\sum_{v \\in S(${sy.unitTex(u)})} \\left(\\frac{\\partial v}{\\partial ${sy.unitTex(u)}}\\right)^{\\top} \\nabla_{v} ${lossSymbol}`;
    closed.adjoint.set(u.id, sy.adjNamedSym(u));
    return {
      lhs,
      steps: [generic],
      note: `\\text{a sum over the ${es.length} children of } ${sy.unitTex(u)}`,
      sides: { truth: sy.adjSym(u), steps: [undefined] },
    };
  }
  const notation = es
    .map((e) =>
      e.v.shape.length === 0 && u.shape.length === 0
        ? `\\frac{\\partial ${lossSymbol}}{\\partial ${sy.unitTex(e.v)}} \\frac{\\partial ${sy.unitTex(e.v)}}{\\partial ${sy.unitTex(u)}}`
        : `\\left(\\frac{\\partial ${sy.unitTex(e.v)}}{\\partial ${sy.unitTex(u)}}\\right)^{\\top} ${sy.adjTex(sy.unitTex(e.v), e.v.shape)}`,
    )
    .join(" + ");
  const withLocals = es.map((e) =>
    tidy(sy.edgeContribution(e, sy.adjSym(e.v), (id) => sy.operand(id, false), sy.unitSym(e.v))),
  );
  const sum = (xs: MathNode[]) => (xs.length ? tidy(xs.reduce((acc, x) => apply("add", [acc, x]))) : num(0));
  const total = tidy(sum(es.map((e) => closed.local(e, closed.smallAdjoint(e.v)))));
  // a closed form past STEP_LIMIT (a LeNet kernel's 25 offsets, each an einsum of a substituted
  // adjoint) is not a line anyone reads, nor one KaTeX expands: the adjoint keeps its symbol
  const readable = (t: MathNode) => size(t) <= STEP_LIMIT;
  closed.adjoint.set(u.id, readable(total) ? total : sy.adjNamedSym(u));
  const trees = [undefined, sum(withLocals), total];
  const texts = [notation || "0", sy.tex(trees[1]!), sy.tex(total)];
  // a trivial step (the local derivative is 1: ∂ℓ/∂u = ∂ℓ/∂v) says nothing the notation did not
  const trivial = es.length === 1 && trees[1]!.type === "SymbolNode";
  const keep = texts.map((t, k) => k === 0 || (t !== texts[k - 1] && !(k === 1 && trivial) && readable(trees[k]!)));
  return {
    lhs,
    steps: texts.filter((_, k) => keep[k]),
    sides: { truth: sy.adjSym(u), steps: trees.filter((_, k) => keep[k]) },
  };
}

/** the seed of the random point every derivation is checked at */
const CHECK_SEED = 1;

/**
 * Every printed equation, evaluated at a point: symbols u_k and user names bind to the units'
 * values, ∂ℓ/∂u and ∇_u ℓ to the adjoints the autodiff computes on the program as written
 * (zero where the loss does not depend on u).
 */
function checkAt(
  written: Differentiated,
  fwd: Graph,
  equations: readonly Equation[],
  byHand: readonly HandLayer[],

  at: { params: Values; inputs: Values },
  where: string,
  strict: boolean,
): void {
  const values = evaluateNodes(written.graph, at.params, at.inputs);
  const adjOf = new Map(written.sweep.map((s) => [s.node, s.adjoint]));
  const adjoint = (id: number) => (adjOf.has(id) ? values[adjOf.get(id)!] : undefined);
  for (const l of byHand) l.check((id) => values[id], adjoint, where, strict);
  const bind = (key: string): Tensor | undefined => {
    // keys end with the node's id: u12, n12, d12, e12, m3_12
    const id = Number(/(\d+)$/.exec(key)?.[1]);
    const x = fwd.nodes[id];
    if (!x) return undefined;
    if (key[0] !== "d" && key[0] !== "e") return { shape: x.shape, value: values[id] };
    const adj = adjOf.get(id);
    return { shape: x.shape, value: adj === undefined ? new Float64Array(values[id].length) : values[adj] };
  };
  checkEquations(
    equations.flatMap((e) =>
      e.sides ? [{ text: `${e.lhs} = ${e.steps.join(" = ")}`, truth: e.sides.truth, sides: e.sides.steps }] : [],
    ),
    bind,
    where,
    strict,
  );
}

/**
 * Every shown node's value and gradient at a point: values from the canonical graph (the
 * numerically stable forms the generated module computes, so the table and the module agree),
 * the params' gradients from it too, the units' adjoints from the program as written.
 */
function valuesAt(
  a: Analysis,
  written: Differentiated,
  shown: readonly Node[],
  sy: Symbols,
  at: { params: Values; inputs: Values },
): TableRow[] {
  const stable = evaluateNodes(a.differentiated, at.params, at.inputs);
  const plain = evaluateNodes(written.graph, at.params, at.inputs);
  const stableAdj = new Map(a.sweep.map((s) => [s.node, s.adjoint]));
  const plainAdj = new Map(written.sweep.map((s) => [s.node, s.adjoint]));
  return shown.map((x) => {
    const c = a.canonicalOf.get(x.id);
    const value = c !== undefined ? stable[c] : plain[x.id];
    const adj =
      x.op === "param" && c !== undefined && stableAdj.has(c)
        ? stable[stableAdj.get(c)!]
        : plainAdj.has(x.id)
          ? plain[plainAdj.get(x.id)!]
          : undefined;
    return { symbol: sy.unitTex(x), shape: x.shape, value, ...(adj !== undefined ? { grad: adj } : {}) };
  });
}
