import type { MathNode } from "mathjs";
import { evaluateNodes, type Values } from "../eval/evaluate.js";
import { originNote, type Graph, type Node } from "../ir/graph.js";
import { children, dependsOnParams } from "../ir/graph.js";
import { opInfo, ops } from "../ir/ops.js";
import type { Analysis } from "../pipeline.js";
import { parsedRules } from "../rules/formula.js";
import { rules } from "../rules/table.js";
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
  }[];
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
      throw new ExplainError(
        `${file} has a formula nested more than ${MAX_FORMULA_DEPTH} operations deep${where}: derivations and graphs are written for a person to read; name intermediate values (s1 = ..., s2 = ...) and try again`,
      );
    }
  }
}

// long: the derivation's sections share one symbol table (units, adjoints, closed forms); #12 rebuilds the derivation as equations over named terms
export function derive(a: Analysis, at?: { params: Values; inputs: Values }): Derivation {
  const g: Graph = a.differentiated;
  const fwd = a.canonical;
  const kids = children(fwd);
  const lossNode = fwd.nodes[fwd.loss];
  const lossName = lossNode.hint && lossNode.hint !== "loss" ? lossNode.hint : undefined;
  const lossSymbol = lossName ? nameTex(lossName, []) : "\\ell";

  // ---- symbols ------------------------------------------------------------------------------
  const unitIndex = new Map<number, number>();
  for (const node of fwd.nodes) if (opInfo(node.op).kind !== "leaf") unitIndex.set(node.id, unitIndex.size + 1);
  const isLeaf = (x: Node) => x.op === "param" || x.op === "input";
  const texOfKey = new Map<string, string>();
  /** u_k (or the leaf's name): how the decomposition names a node */
  const unitTex = (x: Node) =>
    isLeaf(x) ? nameTex(x.name!, x.shape) : `${x.shape.length ? "\\mathbf{u}" : "u"}_{${unitIndex.get(x.id)}}`;
  /** in closed forms a unit the user named is written by its name */
  const namedTex = (x: Node) => (!isLeaf(x) && x.hint && x.id !== fwd.loss ? nameTex(x.hint, x.shape) : unitTex(x));
  const adjTex = (t: string, s: Shape) =>
    s.length === 0 ? `\\frac{\\partial ${lossSymbol}}{\\partial ${t}}` : `\\nabla_{${t}} ${lossSymbol}`;
  const key = (kind: string, id: number, tex: string, s: Shape) => {
    const k = `${kind}${id}`;
    texOfKey.set(k, tex);
    return sym(k, s);
  };
  const unitSym = (x: Node) => key("u", x.id, unitTex(x), x.shape);
  const namedSym = (x: Node) => key("n", x.id, namedTex(x), x.shape);
  const adjSym = (x: Node) => key("d", x.id, adjTex(unitTex(x), x.shape), x.shape);
  const adjNamedSym = (x: Node) => key("e", x.id, adjTex(namedTex(x), x.shape), x.shape);
  const tex = (m: MathNode) => toTex(m, (k) => texOfKey.get(k) ?? k);

  const operand = (id: number, named: boolean): MathNode => {
    const x = fwd.nodes[id];
    if (x.op === "const") return num(x.value!);
    return named ? namedSym(x) : unitSym(x);
  };
  const define = (x: Node, args: MathNode[]) => apply(x.op, args, x.target, x.attrs);

  // ---- the model as mathematics, stopping at the user's names -------------------------------
  const named = fwd.nodes.filter((x) => !isLeaf(x) && x.hint !== undefined);
  const modelExpr = (id: number, root: number): MathNode => {
    const x = fwd.nodes[id];
    if (x.op === "const") return num(x.value!);
    if (isLeaf(x) || (id !== root && x.hint !== undefined)) return namedSym(x);
    return define(
      x,
      x.args.map((arg) => modelExpr(arg, root)),
    );
  };
  refuseDeepFormulas(fwd, a.forward.file);
  const model: Equation[] = named.map((x) => ({
    lhs: x.id === fwd.loss ? lossSymbol : namedTex(x),
    steps: [tex(tidy(modelExpr(x.id, x.id)))],
  }));

  // ---- decomposition, order, child sets -----------------------------------------------------
  const visible = fwd.nodes.filter((x) => x.op !== "const");
  const order = visible.map(unitTex);
  const units: Equation[] = fwd.nodes
    .filter((x) => unitIndex.has(x.id))
    .map((x) => {
      const notes = [
        x.hint && x.id !== fwd.loss ? `(= ${namedTex(x)})` : x.id === fwd.loss ? `(= ${lossSymbol})` : "",
        x.shape.length ? `\\in ${shapeTex(x.shape)}` : "",
      ].filter(Boolean);
      return {
        lhs: unitTex(x),
        steps: [
          tex(
            define(
              x,
              x.args.map((arg) => operand(arg, false)),
            ),
          ),
        ],
        ...(notes.length ? { note: notes.join(" ") } : {}),
      };
    });
  const childSets: Equation[] = visible
    .filter((x) => kids[x.id].length > 0)
    .map((x) => ({
      lhs: `S(${unitTex(x)})`,
      steps: [`\\{${kids[x.id].map((c) => unitTex(fwd.nodes[c])).join(", ")}\\}`],
    }));

  // ---- activity: only nodes that depend on a param get adjoints -----------------------------
  const active = dependsOnParams(fwd);

  /** the rule's contribution of child v (operand i) to its operand's adjoint, with g bound */
  const contribution = (
    v: Node,
    i: number,
    gNode: MathNode,
    operands: (id: number) => MathNode,
    y: MathNode,
  ): MathNode => {
    const rule = parsedRules[v.op as keyof typeof parsedRules];
    const env: Record<string, MathNode> = { g: gNode, y };
    ops[v.op].args.forEach((name, k) => (env[name] = operands(v.args[k])));
    return substitute(rule.display[i]!, env);
  };
  const edges = (u: number) =>
    kids[u].flatMap((c) => {
      const v = fwd.nodes[c];
      const rule = parsedRules[v.op as keyof typeof parsedRules];
      return v.args.flatMap((arg, i) => (arg === u && rule.grads[i] ? [{ v, i }] : []));
    });

  // local derivatives, one per edge into an active node (lecture 4.6.1)
  const locals: Equation[] = [];
  for (const v of fwd.nodes) {
    if (!unitIndex.has(v.id)) continue;
    const rule = parsedRules[v.op as keyof typeof parsedRules];
    v.args.forEach((arg, i) => {
      const u = fwd.nodes[arg];
      if (!active[arg] || !rule.grads[i] || u.op === "const") return;
      if (v.shape.length === 0 && u.shape.length === 0) {
        const d = tidy(contribution(v, i, num(1), (id) => operand(id, false), unitSym(v)));
        const prime = rules[v.op as keyof typeof rules].prime;
        const steps =
          prime && v.args.length === 1 ? [tex(special(`prime:${v.op}`, [operand(arg, false)], [])), tex(d)] : [tex(d)];
        locals.push({
          lhs: `\\frac{\\partial ${unitTex(v)}}{\\partial ${unitTex(u)}}`,
          steps: steps.filter((s, k) => k === 0 || s !== steps[0]),
        });
      } else {
        const d = tidy(contribution(v, i, adjSym(v), (id) => operand(id, false), unitSym(v)));
        locals.push({
          lhs: `\\left(\\frac{\\partial ${unitTex(v)}}{\\partial ${unitTex(u)}}\\right)^{\\top} ${adjTex(unitTex(v), v.shape)}`,
          steps: [tex(d)],
        });
      }
    });
  }

  // ---- closed forms -------------------------------------------------------------------------
  const forward = new Map<number, MathNode>();
  const closedForward = (id: number): MathNode => {
    const x = fwd.nodes[id];
    if (x.op === "const") return num(x.value!);
    if (isLeaf(x)) return namedSym(x);
    const have = forward.get(id);
    if (have) return have;
    const e = tidy(define(x, x.args.map(smallForward)));
    forward.set(id, e);
    return e;
  };
  const isNamed = (x: Node) => !isLeaf(x) && x.hint !== undefined && x.id !== fwd.loss;
  const smallForward = (id: number) => {
    if (isNamed(fwd.nodes[id])) return operand(id, true);
    const c = closedForward(id);
    return size(c) <= FORWARD_LIMIT ? c : operand(id, true);
  };
  const adjoint = new Map<number, MathNode>();
  const smallAdjoint = (v: Node) => {
    const c = adjoint.get(v.id)!;
    return size(c) <= (isNamed(v) ? NAMED_ADJOINT_LIMIT : ADJOINT_LIMIT) ? c : adjNamedSym(v);
  };
  // a derivative in the lecture's notation: σ'(z) for a one-operand op that has one, else the rule
  const localClosed = (v: Node, i: number, gNode: MathNode): MathNode => {
    const prime = rules[v.op as keyof typeof rules].prime;
    if (prime && v.args.length === 1)
      return apply("mul", [gNode, special(`prime:${v.op}`, [smallForward(v.args[0])], v.shape)]);
    return contribution(v, i, gNode, smallForward, smallForward(v.id));
  };

  // ---- the sweep (4.6.2/4.6.3) ----------------------------------------------------------------
  const sweep: Equation[] = [];
  for (const step of a.sweep) {
    const u = fwd.nodes[step.node];
    const lhs = `${adjTex(unitTex(u), u.shape)}${u.shape.length ? ` \\in ${shapeTex(u.shape)}` : ""}`;
    if (u.id === fwd.loss) {
      adjoint.set(u.id, num(1));
      sweep.push({ lhs, steps: ["1"] });
      continue;
    }
    const es = edges(u.id).filter((e) => adjoint.has(e.v.id));
    if (es.length > MAX_SUM_WRITTEN) {
      // a value used by thousands of units: the sum is stated, not written term by term
      const scalar = u.shape.length === 0;
      const generic = scalar
        ? `\\sum_{v \\in S(${unitTex(u)})} \\frac{\\partial ${lossSymbol}}{\\partial v} \\frac{\\partial v}{\\partial ${unitTex(u)}}`
        : `\\sum_{v \\in S(${unitTex(u)})} \\left(\\frac{\\partial v}{\\partial ${unitTex(u)}}\\right)^{\\top} \\nabla_{v} ${lossSymbol}`;
      adjoint.set(u.id, adjNamedSym(u));
      sweep.push({ lhs, steps: [generic], note: `\\text{a sum over the ${es.length} children of } ${unitTex(u)}` });
      continue;
    }
    const scalarEdge = (e: { v: Node }) => e.v.shape.length === 0 && u.shape.length === 0;
    const notation = es
      .map((e) =>
        scalarEdge(e)
          ? `\\frac{\\partial ${lossSymbol}}{\\partial ${unitTex(e.v)}} \\frac{\\partial ${unitTex(e.v)}}{\\partial ${unitTex(u)}}`
          : `\\left(\\frac{\\partial ${unitTex(e.v)}}{\\partial ${unitTex(u)}}\\right)^{\\top} ${adjTex(unitTex(e.v), e.v.shape)}`,
      )
      .join(" + ");
    const withLocals = es.map((e) =>
      tidy(contribution(e.v, e.i, adjSym(e.v), (id) => operand(id, false), unitSym(e.v))),
    );
    const sum = (xs: MathNode[]) => xs.reduce((acc, x) => apply("add", [acc, x]));
    const closed = tidy(sum(es.map((e) => localClosed(e.v, e.i, smallAdjoint(e.v)))));
    adjoint.set(u.id, closed);
    const steps = [notation, tex(sum(withLocals)), tex(closed)].filter((s, k, all) => k === 0 || s !== all[k - 1]);
    sweep.push({ lhs, steps });
  }

  const finals: Equation[] = fwd.params.map((p) => {
    const x = fwd.nodes[p.node];
    const c = adjoint.get(p.node);
    return {
      lhs: `${adjTex(unitTex(x), x.shape)}${x.shape.length ? ` \\in ${shapeTex(x.shape)}` : ""}`,
      steps: [c ? tex(c) : "0"],
    };
  });

  // ---- values at a point --------------------------------------------------------------------
  let table: TableRow[] | undefined;
  if (at) {
    const values = evaluateNodes(g, at.params, at.inputs);
    const adjOf = new Map(a.sweep.map((s) => [s.node, s.adjoint]));
    table = visible.map((x) => {
      const adj = adjOf.get(x.id);
      return {
        symbol: unitTex(x),
        shape: x.shape,
        value: values[x.id],
        ...(adj !== undefined ? { grad: values[adj] } : {}),
      };
    });
  }

  const nodes = visible.map((x) => ({
    id: x.id,
    label: unitTex(x),
    kind: (x.op === "param" ? "param" : x.op === "input" ? "input" : "unit") as "param" | "input" | "unit",
    op: x.op,
    args: x.args.filter((arg) => fwd.nodes[arg].op !== "const"),
  }));

  return {
    file: a.forward.file,
    lossSymbol,
    tensor: fwd.nodes.some((x) => x.shape.length > 0),
    model,
    order,
    units,
    childSets,
    locals,
    sweep,
    finals,
    ...(table ? { table } : {}),
    nodes,
  };
}
