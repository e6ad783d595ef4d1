import type { Expr } from "../parse/ast.js";
import { showShape } from "../shape/shape.js";
import type { Checked, ExprContext } from "./context.js";

/** x[i, a:b:s, ...] with compile-time integers: NumPy basic indexing (negative from the end) */
export function checkIndex(ctx: ExprContext, e: Extract<Expr, { kind: "index" }>): Checked {
  // E[ids] with integer data: a gather along axis 0 (an embedding lookup), as take(E, ids)
  const only = e.items.length === 1 ? e.items[0] : undefined;
  if (only?.kind === "at" && ctx.isIntData(only.value)) return takeRows(ctx, e, only.value);
  const target = ctx.expr(e.target);
  if (target.expr === null) return target;
  const shape = target.expr.shape;
  if (e.items.length > shape.length) {
    ctx.report("E203", e.span, {
      name: "indexing",
      expected: `at most ${shape.length} ind${shape.length === 1 ? "ex" : "ices"}`,
      shape: showShape(shape),
    });
    return { expr: null, deps: target.deps };
  }
  const starts: number[] = [];
  const steps: number[] = [];
  const counts: number[] = [];
  const drop: number[] = [];
  for (let axis = 0; axis < shape.length; axis++) {
    const n = shape[axis];
    const item = e.items[axis];
    if (!item) {
      starts.push(0);
      steps.push(1);
      counts.push(n);
      continue;
    }
    if (item.kind === "at") {
      const v = ctx.constValue(item.value, "an index");
      if (v === undefined) return { expr: null, deps: target.deps };
      const i = v < 0 ? v + n : v;
      if (!Number.isInteger(v) || i < 0 || i >= n) {
        ctx.report("E207", item.span, { index: String(v), axis: String(axis), length: String(n), last: String(n - 1) });
        return { expr: null, deps: target.deps };
      }
      starts.push(i);
      steps.push(1);
      counts.push(1);
      drop.push(axis);
      continue;
    }
    const part = (x: Expr | undefined) => (x === undefined ? undefined : ctx.constValue(x, "a slice bound"));
    const [a, z, st] = [part(item.start), part(item.stop), part(item.step)];
    if ((item.start && a === undefined) || (item.stop && z === undefined) || (item.step && st === undefined))
      return { expr: null, deps: target.deps };
    const step = st ?? 1;
    if (!Number.isInteger(step) || step === 0 || [a, z].some((x) => x !== undefined && !Number.isInteger(x))) {
      ctx.report("E214", item.span, { value: `'${ctx.snippet(item.span)}'` });
      return { expr: null, deps: target.deps };
    }
    // Python's slice.indices: clamp the bounds, then count
    const clamp = (x: number | undefined, dflt: number) =>
      x === undefined ? dflt : x < 0 ? Math.max(x + n, step < 0 ? -1 : 0) : Math.min(x, step < 0 ? n - 1 : n);
    const start = clamp(a, step > 0 ? 0 : n - 1);
    const stop = clamp(z, step > 0 ? n : -1);
    const count = Math.max(0, Math.ceil((stop - start) / step));
    if (count === 0) {
      ctx.report("E215", item.span, { value: `'${ctx.snippet(item.span)}'`, length: n });
      return { expr: null, deps: target.deps };
    }
    starts.push(start);
    steps.push(step);
    counts.push(count);
  }
  const out = counts.filter((_, k) => !drop.includes(k));
  const int = target.expr.kind !== "num" && target.expr.int ? { int: true } : {};
  return {
    expr: {
      kind: "apply",
      fn: "[]",
      args: [target.expr],
      statics: { starts, steps, counts, drop },
      shape: out,
      span: e.span,
      ...int,
    },
    deps: target.deps,
  };
}

function takeRows(ctx: ExprContext, e: Extract<Expr, { kind: "index" }>, ids: Expr): Checked {
  const args = [ctx.expr(e.target), ctx.expr(ids)];
  const checked = ctx.apply(
    "take",
    args,
    e.span,
    (a) => {
      if (a[0].length === 0)
        return {
          code: "E203",
          args: { name: "indexing", expected: "a tensor of rank 1 or more", shape: showShape(a[0]) },
        };
      return [...a[1], ...a[0].slice(1)];
    },
    e.span,
  );
  return checked.expr?.kind === "apply" ? { ...checked, expr: { ...checked.expr, statics: { axis: 0 } } } : checked;
}
