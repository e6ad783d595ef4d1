import { Builder } from "../ir/build.js";
import { outputs, reachable, type Graph, type Node } from "../ir/graph.js";
import type { Op } from "../ops/index.js";
import { instantiate, match, type Rule } from "./pattern.js";
import { foldConstants, identities, stableForms } from "./rewrites.js";

/** A node id -> the id it rewrites to (itself when no rule applies). */
type Rewriter = (b: Builder, id: number) => number;

/**
 * The rewriter of rule tables, tried in order, then constant folding: a node is rewritten until
 * no rule applies (at most 16 times); the nodes a replacement creates are rewritten the same way.
 */
function rewriter(tables: readonly (readonly Rule[])[]): Rewriter {
  const byOp = new Map<Op, Rule[]>();
  for (const rule of tables.flat()) byOp.set(rule.from.op, [...(byOp.get(rule.from.op) ?? []), rule]);
  const step = (b: Builder, n: Node): number | undefined => {
    for (const rule of byOp.get(n.op) ?? []) {
      const m = match(b, rule.from, n.id);
      if (m && (!rule.when || rule.when(b, m))) return instantiate(b, rule.to, m, (id) => settle(b, id));
    }
    return foldConstants(b, n);
  };
  const settle = (b: Builder, start: number): number => {
    let id = start;
    for (let guard = 0; guard < 16; guard++) {
      const next = step(b, b.nodes[id]);
      if (next === undefined || next === id) break;
      id = next;
    }
    return id;
  };
  return settle;
}

/**
 * Rebuild the live part of a graph in creation order, through a fresh hash-consing builder
 * (so equal nodes merge: CSE), offering each new node to `rewrite` until none applies.
 */
function rebuild(g: Graph, rewrite?: Rewriter): Graph {
  return rebuildMapped(g, rewrite).graph;
}

/** rebuild, with each live node of g mapped to the node of the result that holds its value */
function rebuildMapped(g: Graph, rewrite?: Rewriter): { graph: Graph; map: ReadonlyMap<number, number> } {
  const live = reachable(g, outputs(g));
  for (const l of [...g.params, ...g.inputs]) live[l.node] = true;
  const b = new Builder();
  const map = new Map<number, number>();
  for (const n of g.nodes) {
    if (!live[n.id]) continue;
    const args = n.args.map((a) => map.get(a)!);
    let id: number;
    const fresh = b.nodes.length;
    if (n.op === "param" || n.op === "input") id = b.leaf(n.op, n.name!, n.shape);
    else id = b.node(n.op, args, { value: n.value, target: n.target, attrs: n.attrs });
    if (rewrite) id = rewrite(b, id);
    // a node rewritten onto an older one (x*1 -> x) keeps the older node's name
    if (id >= fresh) b.annotate(id, n.hint, n.origin);
    map.set(n.id, id);
  }
  const leaf = (l: Graph["params"][number]) => ({ ...l, node: map.get(l.node)! });
  const graph = b.finish({
    file: g.file,
    params: g.params.map(leaf),
    inputs: g.inputs.map(leaf),
    loss: map.get(g.loss)!,
    grads: g.grads.map((o) => ({ param: o.param, node: map.get(o.node)! })),
  });
  return { graph, map };
}

const simplifier = rewriter([identities]);
const canonicalizer = rewriter([stableForms, identities]);

/** Algebraic identities and constant folding (rewrites.ts), with CSE. */
function simplify(g: Graph): Graph {
  return rebuild(g, simplifier);
}

/**
 * The forward program in canonical form, before differentiation: numerically stable forms
 * (log(softmax) -> log_softmax, ...) and the algebraic identities.
 */
export function canonicalize(g: Graph): Graph {
  return rebuild(g, canonicalizer);
}

/** canonicalize, with each live node of g mapped to the canonical node that holds its value */
export function canonicalizeMapped(g: Graph): { graph: Graph; map: ReadonlyMap<number, number> } {
  return rebuildMapped(g, canonicalizer);
}

/**
 * Dead code elimination: keep what the loss and the gradients need (and the declared leaves).
 * The graph is already hash-consed (simplify rebuilt it), so this only drops the dead nodes and
 * renumbers the rest, in order: no keys to build again (a 3,000-term sum, #16).
 */
function eliminateDeadCode(g: Graph): Graph {
  const live = reachable(g, outputs(g));
  for (const l of [...g.params, ...g.inputs]) live[l.node] = true;
  const map = new Int32Array(g.nodes.length).fill(-1);
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    if (!live[n.id]) continue;
    map[n.id] = nodes.length;
    nodes.push(Object.freeze({ ...n, id: nodes.length, args: n.args.map((a) => map[a]) }));
  }
  const leaf = (l: Graph["params"][number]) => ({ ...l, node: map[l.node] });
  return {
    file: g.file,
    nodes,
    params: g.params.map(leaf),
    inputs: g.inputs.map(leaf),
    loss: map[g.loss],
    grads: g.grads.map((o) => ({ param: o.param, node: map[o.node] })),
  };
}

/** The ordered pass list; each pass is Graph -> Graph. */
const passes: readonly { readonly name: string; readonly run: (g: Graph) => Graph }[] = [
  { name: "simplify", run: simplify },
  { name: "dce", run: eliminateDeadCode },
];

export function optimize(g: Graph, after?: (pass: string, g: Graph) => void): Graph {
  let cur = g;
  for (const p of passes) {
    cur = p.run(cur);
    after?.(p.name, cur);
  }
  return cur;
}
