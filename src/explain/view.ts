import type { MathNode } from "mathjs";
import type { Builder } from "../ir/build.js";
import type { Graph, Node } from "../ir/graph.js";
import { children, reachable } from "../ir/graph.js";
import { computedDef, opInfo, ops } from "../ops/index.js";
import { instantiate, parsedRules } from "../rules/formula.js";
import type { Shape } from "../shape/shape.js";
import { apply, filled, num, special, substitute, sym, tidy, toTex, written } from "./math.js";
import { nameTex } from "./symbols.js";

/**
 * An edge of the derivation: unit v reads u at operand i, possibly through broadcasts the
 * program writes implicitly (b in Xw + b); `via` lists them, v's side first
 * (v.args[i] = via[0], via[k].args[0] = via[k+1], the last one's operand is u).
 */
export interface Edge {
  readonly v: Node;
  readonly i: number;
  readonly via: readonly Node[];
}

/**
 * The program as the derivation shows it, and how it names things. Units u_1..u_n are the
 * forward graph's nodes the loss depends on, in creation order, except what a person does not
 * write as a step: constants (and arithmetic on constants alone, shown folded) and broadcasts
 * (a scalar added to a vector is broadcast implicitly). Names: u_k for units (or the user's
 * name in closed forms), the loss's symbol, adjoints ∂ℓ/∂u or ∇_u ℓ; display symbols carry a
 * key (u<id>, n<id>, d<id>, e<id>) whose TeX is looked up when an expression is printed and
 * whose value the numeric check binds.
 */
export class Symbols {
  readonly lossSymbol: string;
  /** the loss depends on it */
  readonly live: readonly boolean[];
  /** depends on no param or input: a constant, however it is computed */
  readonly constant: readonly boolean[];
  private readonly rawKids: number[][];
  private readonly unitIndex = new Map<number, number>();
  private readonly texOfKey = new Map<string, string>();

  constructor(readonly fwd: Graph) {
    this.rawKids = children(fwd);
    this.live = reachable(fwd, [fwd.loss]);
    const constant: boolean[] = [];
    for (const x of fwd.nodes) constant[x.id] = !this.isLeaf(x) && x.args.every((a) => constant[a]);
    this.constant = constant;
    const lossNode = fwd.nodes[fwd.loss];
    const lossName = lossNode.hint && lossNode.hint !== "loss" ? lossNode.hint : undefined;
    this.lossSymbol = lossName ? nameTex(lossName, []) : "\\ell";
    for (const node of fwd.nodes)
      if (opInfo(node.op).kind !== "leaf" && !this.hidden(node)) this.unitIndex.set(node.id, this.unitIndex.size + 1);
  }

  isLeaf(x: Node): boolean {
    return x.op === "param" || x.op === "input";
  }

  /** not shown as a unit: dead, a constant, or a broadcast (shown as its operand) */
  hidden(x: Node): boolean {
    return !this.isLeaf(x) && (!this.live[x.id] || this.constant[x.id] || opInfo(x.op).implicit === true);
  }

  /** a unit of the decomposition */
  isUnit(x: Node): boolean {
    return this.unitIndex.has(x.id);
  }

  /** shown in the order and the picture: the leaves and the units */
  isShown(x: Node): boolean {
    return this.isLeaf(x) || this.isUnit(x);
  }

  /** a unit the user named, other than the loss */
  isNamed(x: Node): boolean {
    return this.isUnit(x) && x.hint !== undefined && x.id !== this.fwd.loss;
  }

  /** the units that read u (through broadcasts), in creation order: S(u) */
  kids(u: number): number[] {
    const out = new Set<number>();
    const visit = (id: number) => {
      for (const c of this.rawKids[id]) {
        const x = this.fwd.nodes[c];
        if (!this.live[c]) continue;
        if (opInfo(x.op).implicit) visit(c);
        else out.add(c);
      }
    };
    visit(u);
    return [...out].sort((a, b) => a - b);
  }

  /** the edges out of u that carry a derivative: each unit v and the operand (and broadcasts) it reads u through */
  edges(u: number): Edge[] {
    return this.rawKids[u].flatMap((c) => {
      const v = this.fwd.nodes[c];
      if (!this.live[c]) return [];
      const rule = parsedRules[v.op as keyof typeof parsedRules];
      return v.args.flatMap((arg, i) => {
        if (arg !== u || !rule.grads[i]) return [];
        if (!opInfo(v.op).implicit) return [{ v, i, via: [] }];
        return this.edges(c).map((e) => ({ v: e.v, i: e.i, via: [...e.via, v] }));
      });
    });
  }

  /** the node an edge reads at v's operand i: its first broadcast, or u */
  operandAt(e: Edge): Node {
    return this.fwd.nodes[e.v.args[e.i]];
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

  /** a display symbol: its key is the kind, then the node's id last (the check reads it from there) */
  private key(kind: string, id: number, tex: string, s: Shape): MathNode {
    const k = `${kind}${id}`;
    this.texOfKey.set(k, tex);
    return sym(k, s);
  }

  private written = 0;
  /** a value as the source names it (in "The model"): the name, bound to x's value */
  sourceSym(x: Node, name: string): MathNode {
    return this.key(`m${this.written++}_`, x.id, nameTex(name, x.shape), x.shape);
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

  /** the TeX of a display tree, with some symbols written otherwise: `instead(kind, node)` (undefined: as usual) */
  texWith(m: MathNode, instead: (kind: string, x: Node) => string | undefined): string {
    return toTex(m, (k) => {
      const at = /^([a-z])(?:\d+_)?(\d+)$/.exec(k);
      return (at ? instead(at[1], this.fwd.nodes[Number(at[2])]) : undefined) ?? this.texOfKey.get(k) ?? k;
    });
  }

  /**
   * An operand as a display node: its unit (or user) symbol; a hidden node as what it stands
   * for — a constant as its folded value, a broadcast as its operand.
   */
  operand(id: number, named: boolean): MathNode {
    const x = this.fwd.nodes[id];
    if (x.op === "const") return num(x.value!);
    if (this.hidden(x))
      return tidy(
        this.define(
          x,
          x.args.map((a) => this.operand(a, named)),
        ),
      );
    return named ? this.namedSym(x) : this.unitSym(x);
  }

  /** x's op on display operands (each given its operand's shape back, if the display dropped it) */
  define(x: Node, args: MathNode[]): MathNode {
    return apply(
      x.op,
      args.map((arg, k) => filled(arg, this.fwd.nodes[x.args[k]].shape)),
      x.target,
      x.attrs,
    );
  }

  /** the rule's contribution of child v (operand i) to its operand's adjoint, with g bound */
  contribution(v: Node, i: number, gNode: MathNode, operands: (id: number) => MathNode, y: MathNode): MathNode {
    const rule = parsedRules[v.op as keyof typeof parsedRules];
    const env: Record<string, MathNode> = { g: filled(gNode, v.shape), y: filled(y, v.shape) };
    ops[v.op].args.forEach((name, k) => (env[name] = filled(operands(v.args[k]), this.fwd.nodes[v.args[k]].shape)));
    const grad = rule.grads[i];
    // a composition's display form (unpermute(g, x) & co) means the composition, on v's operands
    const composition =
      typeof grad === "function"
        ? (b: Builder, g: number) => {
            const args = v.args.map((a) => this.checkOperand(b, a));
            return grad(b, b.nodes[this.rebuilt(b, v, args)], g);
          }
        : undefined;
    // a derivative whose writing depends on the node's attributes (an einsum's subscripts): the
    // op's own showGrad, over g and the operands it names
    const shown = computedDef(v.op)?.showGrad?.(
      { attrs: v.attrs, shape: v.shape, operands: v.args.map((a) => this.fwd.nodes[a].shape) },
      i,
    );
    if (shown && composition) {
      const names = ["g", ...shown.operands.map((k) => ops[v.op].args[k])];
      return written(
        shown.tex,
        names,
        names.map((n) => env[n]),
        this.fwd.nodes[v.args[i]].shape,
        (b, [g]) => composition(b, g),
      );
    }
    return substitute(rule.display[i]!, env, composition);
  }

  /** an edge's contribution: v's rule, then each broadcast's (a sum over what it copied) */
  edgeContribution(e: Edge, gNode: MathNode, operands: (id: number) => MathNode, y: MathNode): MathNode {
    let g = this.contribution(e.v, e.i, gNode, operands, y);
    for (const b of e.via) g = this.contribution(b, 0, g, operands, this.operand(b.id, false));
    return g;
  }

  /**
   * The truth for an edge: the rule table's own vector–Jacobian products — the formulas or
   * compositions autodiff uses, not their display forms — applied to g; never printed, only evaluated.
   */
  edgeVjp(e: Edge, gNode: MathNode): MathNode {
    let g = this.ruleVjp(e.v, e.i, gNode);
    for (const b of e.via) g = this.ruleVjp(b, 0, g);
    return g;
  }

  private ruleVjp(v: Node, i: number, gNode: MathNode): MathNode {
    const grad = parsedRules[v.op as keyof typeof parsedRules].grads[i];
    const operands = v.args.map((a) => this.unitSym(this.fwd.nodes[a]));
    return special(`vjp:${v.op}`, [gNode, ...operands], this.fwd.nodes[v.args[i]].shape, (b, [g, ...args]) => {
      const y = this.rebuilt(b, v, args);
      const gv = b.broadcastTo(g, v.shape);
      if (!grad) return b.broadcastTo(b.constant(0), b.shape(args[i]));
      if (typeof grad === "function") return grad(b, b.nodes[y], gv);
      const env: Record<string, number> = { g: gv, y };
      ops[v.op].args.forEach((name, k) => (env[name] = args[k]));
      return instantiate(b, grad, env) ?? b.broadcastTo(b.constant(0), b.shape(args[i]));
    });
  }

  /** v again, in the check's graph, on operands already there */
  private rebuilt(b: Builder, v: Node, args: readonly number[]): number {
    return b.node(v.op, args, {
      ...(v.target ? { target: v.target } : {}),
      ...(v.attrs ? { attrs: v.attrs } : {}),
    });
  }

  /** an operand of a forward node in the check's graph: its value as a leaf (constants as constants) */
  private checkOperand(b: Builder, id: number): number {
    const x = this.fwd.nodes[id];
    if (x.op === "const") return b.constant(x.value!);
    return b.leaf("input", `u${id}`, x.shape);
  }
}
