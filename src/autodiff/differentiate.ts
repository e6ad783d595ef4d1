import { Builder } from "../ir/build.js";
import { dependsOnParams, type GradOutput, type Graph } from "../ir/graph.js";
import { opInfo } from "../ops/index.js";
import { instantiate, ruleFor } from "../rules/formula.js";

/** One line of the grad_table: df/du = sum over children v of (df/dv)(dv/du). */
export interface SweepStep {
  readonly node: number;
  readonly adjoint: number;
  /** ascending child order; term = df/dv * dv/du as a node */
  readonly terms: readonly { readonly child: number; readonly term: number }[];
}

export interface Differentiated {
  readonly graph: Graph;
  /** in reverse creation order, as the lecture's sweep visits nodes */
  readonly sweep: readonly SweepStep[];
}

/**
 * The lecture's reverse sweep (4.6.3), done once on the graph: walk the forward nodes in
 * reverse creation order; a node's adjoint is the sum of the contributions its children
 * pushed; then each operand gets the rule table's contribution. Only nodes that depend on a
 * param get adjoints (activity analysis: no d/dx for inputs).
 */
export function differentiate(g: Graph): Differentiated {
  const b = new Builder(g.nodes);
  const n = g.nodes.length;
  const active = dependsOnParams(g);

  const pending = new Map<number, { child: number; term: number }[]>();
  const adjoint = new Map<number, number>();
  const sweep: SweepStep[] = [];

  for (let id = n - 1; id >= 0; id--) {
    if (!active[id]) continue;
    const terms = (pending.get(id) ?? []).sort((x, y) => x.child - y.child);
    let adj: number | undefined;
    if (id === g.loss) adj = b.constant(1);
    // the same contribution from m children (one value added 3,000 times) is m times it: one node, not m - 1 adds
    const counts = new Map<number, number>();
    for (const t of terms) counts.set(t.term, (counts.get(t.term) ?? 0) + 1);
    for (const [term, m] of counts) {
      const part = m === 1 ? term : b.elementwise("mul", [b.constant(m), term]);
      adj = adj === undefined ? part : b.elementwise("add", [adj, part]);
    }
    if (adj === undefined) continue;
    const node = g.nodes[id];
    const primal = node.hint ?? node.name;
    if (primal !== undefined) b.annotate(adj, `d_${primal}`, undefined);
    adjoint.set(id, adj);
    sweep.push({ node: id, adjoint: adj, terms });

    if (opInfo(node.op).kind === "leaf") continue;
    const rule = ruleFor(node.op);
    const names = opInfo(node.op).args;
    const env: Record<string, number> = { y: id, g: adj };
    names.forEach((name, i) => (env[name] = node.args[i]));
    node.args.forEach((arg, i) => {
      const formula = rule.grads[i];
      if (!active[arg] || formula === null) return;
      const term = typeof formula === "function" ? formula(b, node, adj) : instantiate(b, formula, env);
      if (term === null) return;
      const list = pending.get(arg) ?? [];
      list.push({ child: id, term });
      pending.set(arg, list);
    });
  }

  const grads: GradOutput[] = g.params.map((p) => {
    const adj = adjoint.get(p.node);
    return { param: p.name, node: adj ?? b.broadcastTo(b.constant(0), p.shape) };
  });
  return { graph: b.finish({ ...g, grads }), sweep };
}
