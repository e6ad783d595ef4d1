import { Builder } from "../ir/build.js";
import type { Graph } from "../ir/graph.js";
import { sameOpBatch } from "../ops/batching.js";
import { computedDef, ops, type BatchArg, type Op } from "../ops/index.js";

/**
 * Ops that act on each row of a [B, ...] value as on one sample: the kernels whose batched form is
 * the same op (the ones along the last axis), and row sums.
 */
const rowwiseOps: ReadonlySet<Op> = new Set([
  ...(Object.keys(ops) as Op[]).filter((op) => ops[op].kind === "kernel" && computedDef(op)?.batch === sameOpBatch),
  "rowsum",
]);

/**
 * Values of a batched graph whose row s is computed from sample s alone (its inputs and the
 * params): where a chunk's last samples repeat one sample, their rows repeat its row. Inputs
 * other than `except` (the weights, which differ for padding), elementwise and row-wise ops of
 * them, a per-sample scalar spread along its row, and products X W with W independent of the
 * samples.
 */
export function sampleRowValues(g: Graph, except?: string): ReadonlySet<number> {
  const rowsOf = new Set<number>();
  const free = new Set<number>(); // independent of every input
  const leaves = new Set(g.inputs.filter((l) => l.name !== except).map((l) => l.node));
  const ok = (a: number) => rowsOf.has(a) || free.has(a);
  for (const n of g.nodes) {
    if (n.op === "input") {
      if (leaves.has(n.id)) rowsOf.add(n.id);
      continue;
    }
    if (n.args.every((a) => free.has(a))) {
      free.add(n.id);
      continue;
    }
    // (a per-sample value of rank 1 is indexed by sample; a row-wise op needs rows, rank 2)
    const matrices = n.args.every((a) => free.has(a) || g.nodes[a].shape.length === 2);
    const rowwise =
      (ops[n.op].kind === "elementwise" && n.args.every(ok)) ||
      (n.op === "rowbcast" && n.args.every(ok)) ||
      (rowwiseOps.has(n.op) && n.args.every(ok) && matrices) ||
      (n.op === "matmul" && rowsOf.has(n.args[0]) && free.has(n.args[1]));
    if (rowwise) rowsOf.add(n.id);
  }
  return rowsOf;
}

export interface Batched {
  readonly graph: Graph;
  readonly size: number;
  /** weighted: the input holding each sample's weight in the loss */
  readonly weight?: string;
}

/** The weight input of a weighted chunk: not a name the language can write, so it meets no user name. */
export const WEIGHT = "(weight)";

/**
 * The forward program on B samples at once; its loss is the sum of the B per-sample losses,
 * so its gradients are sums too (batchGradients divides by n at the end). Undefined when
 * some op has no batched form (its definition's `batch`) or an input is a matrix.
 */
export function vmap(g: Graph, B: number, opts: { readonly weighted?: boolean } = {}): Batched | undefined {
  if (g.inputs.length === 0) return undefined;
  const b = new Builder();
  const map = new Map<number, BatchArg>();
  for (const n of g.nodes) {
    const args = n.args.map((a) => map.get(a)!);
    let id: number | undefined;
    let batched = args.some((a) => a.batched);
    if (n.op === "param") id = b.leaf("param", n.name!, n.shape);
    else if (n.op === "input") {
      id = b.leaf("input", n.name!, [B, ...n.shape]);
      batched = true;
    } else if (n.op === "const") id = b.constant(n.value!);
    else if (!batched)
      id = b.node(
        n.op,
        args.map((a) => a.id),
        { target: n.target, attrs: n.attrs },
      );
    else {
      id = computedDef(n.op)?.batch?.(b, n, args, B);
    }
    if (id === undefined) return undefined;
    b.annotate(id, n.hint, n.origin);
    map.set(n.id, { id, batched, shape: n.shape });
  }
  const loss = map.get(g.loss)!;
  const leaf = (l: Graph["params"][number]) => ({
    ...l,
    node: map.get(l.node)!.id,
    shape: b.shape(map.get(l.node)!.id),
  });
  if (!opts.weighted) {
    const total = loss.batched ? b.node("sum", [loss.id]) : b.elementwise("mul", [loss.id, b.constant(B)]);
    return {
      graph: b.finish({ file: g.file, params: g.params.map(leaf), inputs: g.inputs.map(leaf), loss: total, grads: [] }),
      size: B,
    };
  }
  // Σ_s w_s loss_s: a sample of weight 0 (padding a last, partial chunk) adds nothing to the loss
  // or, through its zero cotangent, to any gradient
  const w = b.leaf("input", WEIGHT, [B]);
  const total = loss.batched
    ? b.node("sum", [b.elementwise("mul", [loss.id, w])])
    : b.elementwise("mul", [loss.id, b.node("sum", [w])]);
  const inputs = [...g.inputs.map(leaf), { name: WEIGHT, node: w, shape: [B], span: { start: 0, end: 0 } }];
  return {
    graph: b.finish({ file: g.file, params: g.params.map(leaf), inputs, loss: total, grads: [] }),
    size: B,
    weight: WEIGHT,
  };
}
