import type { MathNode } from "mathjs";
import { evaluateNodes, type Values } from "../eval/evaluate.js";
import type { Graph, Node } from "../ir/graph.js";
import { originNote } from "../util/text.js";
import { children, dependsOnParams } from "../ir/graph.js";
import { elementwiseDef, opInfo, ops } from "../ops/index.js";
import type { Analysis } from "../pipeline.js";
import { parsedRules } from "../rules/formula.js";
import type { Shape } from "../shape/shape.js";
import { apply, num, size, special, substitute, sym, tidy, toTex } from "./math.js";
import { nameTex, shapeTex } from "./symbols.js";
import { ExplainError } from "./errors.js";

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

export interface Equation {
  readonly lhs: string;
  /** lhs = steps[0] = steps[1] = ... */
  readonly steps: readonly string[];
  readonly note?: string;
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
  const fwd = a.canonical;
  refuseDeepFormulas(fwd, a.forward.file);
  const sy = new Symbols(fwd);
  const visible = fwd.nodes.filter((x) => x.op !== "const");
  const table = at ? valuesAt(a, visible, sy, at) : undefined;
  const { sweep, finals } = sweepSection(a, sy);
  return {
    file: a.forward.file,
    lossSymbol: sy.lossSymbol,
    tensor: fwd.nodes.some((x) => x.shape.length > 0),
    softmaxCrossEntropy: fwd.nodes.some((x) => x.op === "sce"),
    model: modelSection(sy),
    order: visible.map((x) => sy.unitTex(x)),
    units: unitsSection(sy),
    childSets: visible
      .filter((x) => sy.kids[x.id].length > 0)
      .map((x) => ({
        lhs: `S(${sy.unitTex(x)})`,
        steps: [`\\{${sy.kids[x.id].map((c) => sy.unitTex(fwd.nodes[c])).join(", ")}\\}`],
      })),
    locals: localsSection(sy),
    sweep,
    finals,
    ...(table ? { table } : {}),
    nodes: visible.map((x) => ({
      id: x.id,
      label: sy.unitTex(x),
      kind: (x.op === "param" ? "param" : x.op === "input" ? "input" : "unit") as "param" | "input" | "unit",
      op: x.op,
      args: x.args.filter((arg) => fwd.nodes[arg].op !== "const"),
      constants: x.args.filter((arg) => fwd.nodes[arg].op === "const").map((arg) => fwd.nodes[arg].value!),
    })),
    loss: fwd.loss,
  };
}

/**
 * How the derivation names things: u_k for units (or the user's name in closed forms), the
 * loss's symbol, adjoints ∂ℓ/∂u or ∇_u ℓ; display symbols carry a key whose TeX is looked up
 * when an expression is printed.
 */
class Symbols {
  readonly kids: number[][];
  readonly lossSymbol: string;
  private readonly unitIndex = new Map<number, number>();
  private readonly texOfKey = new Map<string, string>();

  constructor(readonly fwd: Graph) {
    this.kids = children(fwd);
    const lossNode = fwd.nodes[fwd.loss];
    const lossName = lossNode.hint && lossNode.hint !== "loss" ? lossNode.hint : undefined;
    this.lossSymbol = lossName ? nameTex(lossName, []) : "\\ell";
    for (const node of fwd.nodes)
      if (opInfo(node.op).kind !== "leaf") this.unitIndex.set(node.id, this.unitIndex.size + 1);
  }

  isLeaf(x: Node): boolean {
    return x.op === "param" || x.op === "input";
  }

  /** a unit of the decomposition (not a leaf, not a constant) */
  isUnit(x: Node): boolean {
    return this.unitIndex.has(x.id);
  }

  /** a unit the user named, other than the loss */
  isNamed(x: Node): boolean {
    return !this.isLeaf(x) && x.hint !== undefined && x.id !== this.fwd.loss;
  }

  /** u_k (or the leaf's name): how the decomposition names a node */
  unitTex(x: Node): string {
    if (this.isLeaf(x)) return nameTex(x.name!, x.shape);
    return `${x.shape.length ? "\\mathbf{u}" : "u"}_{${this.unitIndex.get(x.id)}}`;
  }

  /** in closed forms a unit the user named is written by its name */
  namedTex(x: Node): string {
    return this.isNamed(x) ? nameTex(x.hint!, x.shape) : this.unitTex(x);
  }

  adjTex(t: string, s: Shape): string {
    return s.length === 0
      ? `\\frac{\\partial ${this.lossSymbol}}{\\partial ${t}}`
      : `\\nabla_{${t}} ${this.lossSymbol}`;
  }

  private key(kind: string, id: number, tex: string, s: Shape): MathNode {
    const k = `${kind}${id}`;
    this.texOfKey.set(k, tex);
    return sym(k, s);
  }

  unitSym(x: Node): MathNode {
    return this.key("u", x.id, this.unitTex(x), x.shape);
  }
  namedSym(x: Node): MathNode {
    return this.key("n", x.id, this.namedTex(x), x.shape);
  }
  adjSym(x: Node): MathNode {
    return this.key("d", x.id, this.adjTex(this.unitTex(x), x.shape), x.shape);
  }
  adjNamedSym(x: Node): MathNode {
    return this.key("e", x.id, this.adjTex(this.namedTex(x), x.shape), x.shape);
  }

  tex(m: MathNode): string {
    return toTex(m, (k) => this.texOfKey.get(k) ?? k);
  }

  /** an operand as a display node: a number, or the node's unit (or user) symbol */
  operand(id: number, named: boolean): MathNode {
    const x = this.fwd.nodes[id];
    if (x.op === "const") return num(x.value!);
    return named ? this.namedSym(x) : this.unitSym(x);
  }

  define(x: Node, args: MathNode[]): MathNode {
    return apply(x.op, args, x.target, x.attrs);
  }

  /** the rule's contribution of child v (operand i) to its operand's adjoint, with g bound */
  contribution(v: Node, i: number, gNode: MathNode, operands: (id: number) => MathNode, y: MathNode): MathNode {
    const rule = parsedRules[v.op as keyof typeof parsedRules];
    const env: Record<string, MathNode> = { g: gNode, y };
    ops[v.op].args.forEach((name, k) => (env[name] = operands(v.args[k])));
    return substitute(rule.display[i]!, env);
  }

  /** the edges out of u: each child v and the operand position i at which it reads u */
  edges(u: number): { v: Node; i: number }[] {
    return this.kids[u].flatMap((c) => {
      const v = this.fwd.nodes[c];
      const rule = parsedRules[v.op as keyof typeof parsedRules];
      return v.args.flatMap((arg, i) => (arg === u && rule.grads[i] ? [{ v, i }] : []));
    });
  }
}

/** The model as mathematics: each value the user named, as one formula down to the names it uses. */
function modelSection(sy: Symbols): Equation[] {
  const { fwd } = sy;
  const modelExpr = (id: number, root: number): MathNode => {
    const x = fwd.nodes[id];
    if (x.op === "const") return num(x.value!);
    if (sy.isLeaf(x) || (id !== root && x.hint !== undefined)) return sy.namedSym(x);
    return sy.define(
      x,
      x.args.map((arg) => modelExpr(arg, root)),
    );
  };
  return fwd.nodes
    .filter((x) => !sy.isLeaf(x) && x.hint !== undefined)
    .map((x) => ({
      lhs: x.id === fwd.loss ? sy.lossSymbol : sy.namedTex(x),
      steps: [sy.tex(tidy(modelExpr(x.id, x.id)))],
    }));
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
      const rhs = sy.define(
        x,
        x.args.map((arg) => sy.operand(arg, false)),
      );
      return { lhs: sy.unitTex(x), steps: [sy.tex(rhs)], ...(notes.length ? { note: notes.join(" ") } : {}) };
    });
}

/** Local derivatives, one per edge into a unit that depends on a param (lecture 4.6.1). */
function localsSection(sy: Symbols): Equation[] {
  const { fwd } = sy;
  const active = dependsOnParams(fwd);
  const locals: Equation[] = [];
  for (const v of fwd.nodes) {
    if (!sy.isUnit(v)) continue;
    const rule = parsedRules[v.op as keyof typeof parsedRules];
    v.args.forEach((arg, i) => {
      const u = fwd.nodes[arg];
      if (!active[arg] || !rule.grads[i] || u.op === "const") return;
      locals.push(localDerivative(sy, v, u, i));
    });
  }
  return locals;
}

/** ∂v/∂u for scalars (with the lecture's σ'(z) where the op has one), else the vector-Jacobian product */
function localDerivative(sy: Symbols, v: Node, u: Node, i: number): Equation {
  const operands = (id: number) => sy.operand(id, false);
  if (v.shape.length === 0 && u.shape.length === 0) {
    const d = sy.tex(tidy(sy.contribution(v, i, num(1), operands, sy.unitSym(v))));
    const prime = elementwiseDef(v.op)?.prime;
    const named = prime && v.args.length === 1 ? sy.tex(special(`prime:${v.op}`, [operands(u.id)], [])) : undefined;
    return {
      lhs: `\\frac{\\partial ${sy.unitTex(v)}}{\\partial ${sy.unitTex(u)}}`,
      steps: named !== undefined && named !== d ? [named, d] : [d],
    };
  }
  const d = tidy(sy.contribution(v, i, sy.adjSym(v), operands, sy.unitSym(v)));
  return {
    lhs: `\\left(\\frac{\\partial ${sy.unitTex(v)}}{\\partial ${sy.unitTex(u)}}\\right)^{\\top} ${sy.adjTex(sy.unitTex(v), v.shape)}`,
    steps: [sy.tex(d)],
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
    if (x.op === "const") return num(x.value!);
    if (this.sy.isLeaf(x)) return this.sy.namedSym(x);
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
    if (this.sy.isNamed(this.sy.fwd.nodes[id])) return this.sy.operand(id, true);
    const c = this.closedForward(id);
    return size(c) <= FORWARD_LIMIT ? c : this.sy.operand(id, true);
  }

  smallAdjoint(v: Node): MathNode {
    const c = this.adjoint.get(v.id)!;
    return size(c) <= (this.sy.isNamed(v) ? NAMED_ADJOINT_LIMIT : ADJOINT_LIMIT) ? c : this.sy.adjNamedSym(v);
  }

  /** a derivative in the lecture's notation: σ'(z) for a one-operand op that has one, else the rule */
  local(v: Node, i: number, gNode: MathNode): MathNode {
    const prime = elementwiseDef(v.op)?.prime;
    if (prime && v.args.length === 1)
      return apply("mul", [gNode, special(`prime:${v.op}`, [this.smallForward(v.args[0])], v.shape)]);
    return this.sy.contribution(v, i, gNode, (id) => this.smallForward(id), this.smallForward(v.id));
  }
}

/** The sweep (4.6.2/4.6.3): each adjoint as the sum over its children, then the params' gradients. */
function sweepSection(a: Analysis, sy: Symbols): { sweep: Equation[]; finals: Equation[] } {
  const { fwd } = sy;
  const closed = new ClosedForms(sy);
  const sweep = a.sweep.map((step) => sweepStep(sy, closed, fwd.nodes[step.node]));
  const finals = fwd.params.map((p) => {
    const x = fwd.nodes[p.node];
    const c = closed.adjoint.get(p.node);
    return {
      lhs: `${sy.adjTex(sy.unitTex(x), x.shape)}${x.shape.length ? ` \\in ${shapeTex(x.shape)}` : ""}`,
      steps: [c ? sy.tex(c) : "0"],
    };
  });
  return { sweep, finals };
}

/** one line of the sweep: ∂ℓ/∂u in the lecture's notation, with the local derivatives, in closed form */
function sweepStep(sy: Symbols, closed: ClosedForms, u: Node): Equation {
  const { lossSymbol } = sy;
  const lhs = `${sy.adjTex(sy.unitTex(u), u.shape)}${u.shape.length ? ` \\in ${shapeTex(u.shape)}` : ""}`;
  if (u.id === sy.fwd.loss) {
    closed.adjoint.set(u.id, num(1));
    return { lhs, steps: ["1"] };
  }
  const es = sy.edges(u.id).filter((e) => closed.adjoint.has(e.v.id));
  if (es.length > MAX_SUM_WRITTEN) {
    // a value used by thousands of units: the sum is stated, not written term by term
    const generic =
      u.shape.length === 0
        ? `\\sum_{v \\in S(${sy.unitTex(u)})} \\frac{\\partial ${lossSymbol}}{\\partial v} \\frac{\\partial v}{\\partial ${sy.unitTex(u)}}`
        : `\\sum_{v \\in S(${sy.unitTex(u)})} \\left(\\frac{\\partial v}{\\partial ${sy.unitTex(u)}}\\right)^{\\top} \\nabla_{v} ${lossSymbol}`;
    closed.adjoint.set(u.id, sy.adjNamedSym(u));
    return { lhs, steps: [generic], note: `\\text{a sum over the ${es.length} children of } ${sy.unitTex(u)}` };
  }
  const notation = es
    .map((e) =>
      e.v.shape.length === 0 && u.shape.length === 0
        ? `\\frac{\\partial ${lossSymbol}}{\\partial ${sy.unitTex(e.v)}} \\frac{\\partial ${sy.unitTex(e.v)}}{\\partial ${sy.unitTex(u)}}`
        : `\\left(\\frac{\\partial ${sy.unitTex(e.v)}}{\\partial ${sy.unitTex(u)}}\\right)^{\\top} ${sy.adjTex(sy.unitTex(e.v), e.v.shape)}`,
    )
    .join(" + ");
  const withLocals = es.map((e) =>
    tidy(sy.contribution(e.v, e.i, sy.adjSym(e.v), (id) => sy.operand(id, false), sy.unitSym(e.v))),
  );
  const sum = (xs: MathNode[]) => xs.reduce((acc, x) => apply("add", [acc, x]));
  const total = tidy(sum(es.map((e) => closed.local(e.v, e.i, closed.smallAdjoint(e.v)))));
  closed.adjoint.set(u.id, total);
  const steps = [notation, sy.tex(sum(withLocals)), sy.tex(total)].filter((s, k, all) => k === 0 || s !== all[k - 1]);
  return { lhs, steps };
}

/** every visible node's value and gradient at a point */
function valuesAt(
  a: Analysis,
  visible: readonly Node[],
  sy: Symbols,
  at: { params: Values; inputs: Values },
): TableRow[] {
  const values = evaluateNodes(a.differentiated, at.params, at.inputs);
  const adjOf = new Map(a.sweep.map((s) => [s.node, s.adjoint]));
  return visible.map((x) => {
    const adj = adjOf.get(x.id);
    return {
      symbol: sy.unitTex(x),
      shape: x.shape,
      value: values[x.id],
      ...(adj !== undefined ? { grad: values[adj] } : {}),
    };
  });
}
