import { sameShape, showShape } from "../shape/shape.js";
import { attrsMismatch, nodeKey } from "../ops/attrs.js";
import type { Graph } from "./graph.js";
import { opInfo } from "../ops/index.js";

/** IR invariants; returns the broken ones (empty when the graph is well formed). */
export function verify(g: Graph): string[] {
  const errs: string[] = [];
  const keys = new Set<string>();
  g.nodes.forEach((n, i) => {
    if (n.id !== i) errs.push(`node at ${i} has id ${n.id}`);
    const info = opInfo(n.op);
    if (n.args.length !== info.args.length) errs.push(`%${i} ${n.op}: ${n.args.length} operands`);
    for (const a of n.args) if (!(a >= 0 && a < i)) errs.push(`%${i} ${n.op}: operand %${a} is not earlier`);
    if (info.kind !== "leaf" && n.args.every((a) => a >= 0 && a < i)) {
      const s = info.shape(
        n.args.map((a) => g.nodes[a].shape),
        n.target,
        n.attrs,
      );
      if (!s || !sameShape(s, n.shape))
        errs.push(`%${i} ${n.op}: shape ${showShape(n.shape)} but operands give ${s ? showShape(s) : "nothing"}`);
    }
    const wrongAttrs = attrsMismatch(info.attrs, n.attrs);
    if (wrongAttrs) errs.push(`%${i} ${n.op}: ${wrongAttrs}`);
    if (info.target !== (n.target !== undefined) && info.kind !== "leaf")
      errs.push(`%${i} ${n.op}: ${info.target ? "no target shape" : "a target shape it does not take"}`);
    if (n.op === "const" && (n.value === undefined || n.shape.length !== 0))
      errs.push(`%${i} const without a scalar value`);
    if ((n.op === "param" || n.op === "input") && !n.name) errs.push(`%${i} ${n.op} without a name`);
    const key = nodeKey(n.op, n.args, n);
    if (keys.has(key)) errs.push(`%${i} duplicates an earlier node (hash-consing broken)`);
    keys.add(key);
  });
  const ok = (id: number) => id >= 0 && id < g.nodes.length;
  if (!ok(g.loss)) errs.push(`loss %${g.loss} does not exist`);
  else if (g.nodes[g.loss].shape.length !== 0) errs.push("loss is not a scalar");
  for (const l of [...g.params, ...g.inputs]) {
    if (!ok(l.node) || g.nodes[l.node].name !== l.name) errs.push(`leaf ${l.name} does not point at its node`);
  }
  for (const o of g.grads) {
    const p = g.params.find((x) => x.name === o.param);
    if (!p || !ok(o.node)) errs.push(`grad ${o.param} has no param or node`);
    else if (!sameShape(g.nodes[o.node].shape, p.shape))
      errs.push(`grad ${o.param} has shape ${showShape(g.nodes[o.node].shape)}, param ${showShape(p.shape)}`);
  }
  return errs;
}
