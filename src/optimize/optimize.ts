import { Builder } from "../ir/build.js";
import { outputs, reachable, type Graph, type Node } from "../ir/graph.js";
import { foldConstants, rewritesByOp, stableForms, type Rewrite } from "./rewrites.js";

type Rewriter = (b: Builder, n: Node) => number | undefined;

/**
 * Rebuild the live part of a graph in creation order, through a fresh hash-consing builder
 * (so equal nodes merge: CSE), offering each new node to `rewrite` until none applies.
 */
function rebuild(g: Graph, rewrite?: Rewriter): Graph {
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
    for (let guard = 0; rewrite && guard < 16; guard++) {
      const next = rewrite(b, b.nodes[id]);
      if (next === undefined || next === id) break;
      id = next;
    }
    // a node rewritten onto an older one (x*1 -> x) keeps the older node's name
    if (id >= fresh) b.annotate(id, n.hint, n.origin);
    map.set(n.id, id);
  }
  const leaf = (l: Graph["params"][number]) => ({ ...l, node: map.get(l.node)! });
  return b.finish({
    file: g.file,
    params: g.params.map(leaf),
    inputs: g.inputs.map(leaf),
    loss: map.get(g.loss)!,
    grads: g.grads.map((o) => ({ param: o.param, node: map.get(o.node)! })),
  });
}

const firstMatch = (table: readonly Rewrite[], b: Builder, n: Node) => {
  for (const r of table) {
    if (r.op !== n.op) continue;
    const out = r.apply(b, n);
    if (out !== undefined) return out;
  }
  return undefined;
};

/** Algebraic identities and constant folding (rewrites.ts), with CSE. */
export function simplify(g: Graph): Graph {
  return rebuild(g, (b, n) => firstMatch(rewritesByOp.get(n.op) ?? [], b, n) ?? foldConstants(b, n));
}

/**
 * The forward program in canonical form, before differentiation: numerically stable forms
 * (log(softmax) -> log_softmax, ...) and the algebraic identities.
 */
export function canonicalize(g: Graph): Graph {
  return rebuild(
    g,
    (b, n) => firstMatch(stableForms, b, n) ?? firstMatch(rewritesByOp.get(n.op) ?? [], b, n) ?? foldConstants(b, n),
  );
}

/** Dead code elimination: keep what the loss and the gradients need (and the declared leaves). */
export function eliminateDeadCode(g: Graph): Graph {
  return rebuild(g);
}

/** The ordered pass list; each pass is Graph -> Graph. */
export const passes: readonly { readonly name: string; readonly run: (g: Graph) => Graph }[] = [
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
