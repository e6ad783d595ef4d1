import type { CheckedProgram, TExpr } from "../check/program.js";
import { InternalError } from "../diagnostics/internal.js";
import { Builder } from "../ir/build.js";
import type { Graph, Leaf } from "../ir/graph.js";
import { binaryOps, builtins, lowerIndex, type IndexSpec } from "../lang/builtins.js";

/**
 * Checked program -> forward IR graph. The recorded order is the lecture's (4.6.1): the
 * leaves first, in order of first use, then u_1..u_n in evaluation order, the loss last.
 * Declared leaves the program never uses come after the used ones (their gradients are zero).
 */
export function lower(p: CheckedProgram): Graph {
  return lowerNamed(p).graph;
}

/** lower, with each name the program defines (declared or assigned) mapped to its node */
export function lowerNamed(p: CheckedProgram): { graph: Graph; names: ReadonlyMap<string, number> } {
  const b = new Builder();
  const env = new Map<string, number>();
  const decl = new Map<string, { role: "param" | "input"; shape: readonly number[] }>();
  for (const d of p.params) decl.set(d.name, { role: "param", shape: d.shape });
  for (const d of p.inputs) decl.set(d.name, { role: "input", shape: d.shape });

  function ref(name: string): number {
    const have = env.get(name);
    if (have !== undefined) return have;
    const d = decl.get(name);
    if (!d) throw new InternalError(`lower: '${name}' was not checked`);
    const id = b.leaf(d.role, name, d.shape);
    env.set(name, id);
    return id;
  }

  /** e's value; the left spine of a long sum or product is walked with a loop (see check's binaryChain) */
  function expr(e: TExpr): number {
    const spine: TExpr[] = [];
    let left = e;
    while (left.kind === "apply" && left.fn in binaryOps && left.args.length === 2) {
      spine.push(left);
      left = left.args[0];
    }
    if (spine.length === 0) return one(e, []);
    let acc = one(left, []);
    for (let k = spine.length - 1; k >= 0; k--)
      acc = one(spine[k], [acc, expr((spine[k] as Extract<TExpr, { kind: "apply" }>).args[1])]);
    return acc;
  }

  /** one checked expression into IR, given its operands' nodes when they are already lowered */
  function one(e: TExpr, lowered: number[]): number {
    let id: number;
    switch (e.kind) {
      case "num":
        return b.constant(e.value);
      case "ref":
        return ref(e.name);
      case "apply": {
        const args = lowered.length ? lowered : e.args.map(expr);
        if (e.fn === "neg") id = b.node("neg", args);
        else if (e.fn === "'") id = builtins.transpose.lower(b, args, {});
        else if (e.fn === "[]") id = lowerIndex(b, args[0], e.statics as unknown as IndexSpec);
        else if (e.fn in binaryOps) id = binaryOps[e.fn].lower(b, args[0], args[1]);
        else if (builtins[e.fn]) id = builtins[e.fn].lower(b, args, e.statics ?? {});
        else throw new InternalError(`lower: no lowering for '${e.fn}'`);
      }
    }
    b.annotate(id, undefined, { span: e.span, text: p.text.slice(e.span.start, e.span.end) });
    return id;
  }

  // leaves in order of first use, left to right, in the assignments the loss uses
  for (const name of leavesInOrder(p)) ref(name);

  // the user's names first: a node that is both a def's local and a user's name shows the user's
  const later: [number, string][] = [];
  for (const a of p.assigns) {
    const id = expr(a.value);
    if (!a.hidden) b.annotate(id, a.name, undefined);
    else if (a.hint !== undefined) later.push([id, a.hint]);
    env.set(a.name, id);
  }
  const loss = expr(p.loss.value);
  b.annotate(loss, p.loss.name ?? "loss", undefined);
  for (const [id, hint] of later) b.annotate(id, hint, undefined);
  const leaves = (ds: CheckedProgram["params"]): Leaf[] =>
    ds.map((d) => ({ name: d.name, shape: d.shape, node: ref(d.name), span: d.span, ...(d.int ? { int: true } : {}) }));
  const params = leaves(p.params);
  const inputs = leaves(p.inputs);
  return { graph: b.finish({ file: p.file, params, inputs, loss, grads: [] }), names: env };
}

/**
 * The declared leaves in order of first use, left to right; only assignments the loss uses
 * count, so a dead line cannot reorder the leaves. Explicit stacks: a sum of thousands of terms,
 * a 10,000-layer chain of assignments.
 */
function leavesInOrder(p: CheckedProgram): string[] {
  const declared = new Set([...p.params, ...p.inputs].map((d) => d.name));
  const reaches = new Set<string>();
  const byName = new Map(p.assigns.map((a) => [a.name, a]));
  const work: TExpr[] = [p.loss.value];
  while (work.length) {
    const e = work.pop()!;
    if (e.kind === "apply") work.push(...e.args);
    else if (e.kind === "ref" && !reaches.has(e.name)) {
      reaches.add(e.name);
      const a = byName.get(e.name);
      if (a) work.push(a.value);
    }
  }
  const order: string[] = [];
  const seen = new Set<string>();
  const firstUses = (root: TExpr): void => {
    const stack = [root];
    while (stack.length) {
      const e = stack.pop()!;
      if (e.kind === "ref") {
        if (declared.has(e.name) && !seen.has(e.name)) {
          seen.add(e.name);
          order.push(e.name);
        }
      } else if (e.kind === "apply") for (let k = e.args.length - 1; k >= 0; k--) stack.push(e.args[k]);
    }
  };
  for (const a of p.assigns) if (reaches.has(a.name)) firstUses(a.value);
  firstUses(p.loss.value);
  return order;
}
