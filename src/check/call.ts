import { similar } from "../diagnostics/suggest.js";
import type { HintFor } from "../diagnostics/diagnostic.js";
import { builtinNames, builtins, type Param, type StaticValue } from "../lang/builtins.js";
import type { Expr } from "../parse/ast.js";
import type { Checked, ExprContext } from "./context.js";
import { userKeyed } from "../util/table.js";

/** Names from the lecture's notation that users type for a builtin. */
/** names from mathematics or other libraries, and the hint each gets */
const mathNames: Readonly<Record<string, HintFor<"E104">>> = userKeyed({
  σ: { kind: "sigmaSymbol" },
  sigma: { kind: "similar", suggestion: "sigmoid" },
  ReLU: { kind: "similar", suggestion: "relu" },
  ln: { kind: "ln" },
  softmax_ce: { kind: "similar", suggestion: "softmax_cross_entropy" },
});

/** A parameter as argument binding sees it: a variadic one takes every remaining positional argument. */
export interface Slot {
  readonly name: string;
  readonly optional: boolean;
  readonly variadic?: boolean;
}

/**
 * Arguments bound to parameters, positional first, then name=value: reports too many
 * positional arguments (E105), unknown (E110) or repeated (E111) names and a missing required
 * parameter (E112). Undefined when any of these was reported.
 */
export function bindArguments(
  ctx: ExprContext,
  e: Extract<Expr, { kind: "call" }>,
  slots: readonly Slot[],
  signature: string,
): { bound: Map<string, Expr>; rest: Expr[] } | undefined {
  const bound = new Map<string, Expr>();
  const rest: Expr[] = [];
  let failed = false;
  let k = 0;
  for (const arg of e.args) {
    while (k < slots.length && bound.has(slots[k].name) && !slots[k].variadic) k++;
    const p = slots[k];
    if (!p) {
      const n = slots.length;
      ctx.report("E105", e.span, {
        name: e.callee,
        expected: `at most ${n} positional argument${n === 1 ? "" : "s"} (${signature})`,
        found: String(e.args.length),
      });
      return undefined;
    }
    if (p.variadic) rest.push(arg);
    else {
      bound.set(p.name, arg);
      k++;
    }
  }
  for (const kw of e.kwargs) {
    const p = slots.find((q) => q.name === kw.name && !q.variadic);
    if (!p) {
      ctx.report("E110", kw.nameSpan, {
        name: e.callee,
        arg: kw.name,
        hint: similar(
          kw.name,
          slots.filter((q) => !q.variadic).map((q) => q.name),
        ) ?? { kind: "signature", signature },
      });
      failed = true;
    } else if (bound.has(p.name)) {
      ctx.report("E111", kw.nameSpan, { name: e.callee, arg: kw.name });
      failed = true;
    } else bound.set(p.name, kw.value);
  }
  for (const p of slots) {
    const missing = p.variadic ? rest.length === 0 : !bound.has(p.name) && !p.optional;
    if (missing) {
      ctx.report("E112", e.span, { name: e.callee, arg: p.name, signature });
      failed = true;
    }
  }
  return failed ? undefined : { bound, rest };
}

/** A builtin call: arguments bound to parameters (positional, then name=value), statics evaluated, then the shape rule. */
export function checkCall(ctx: ExprContext, e: Extract<Expr, { kind: "call" }>): Checked {
  const fn = builtins[e.callee];
  const everyDep = () => new Set([...e.args, ...e.kwargs.map((k) => k.value)].flatMap((a) => [...ctx.expr(a).deps]));
  if (!fn) {
    const kind = ctx.known(e.callee);
    const hint: HintFor<"E104"> = kind
      ? { kind: "notFunction", what: kind }
      : (mathNames[e.callee] ?? similar(e.callee, builtinNames) ?? { kind: "list" });
    ctx.report("E104", e.calleeSpan, { name: e.callee, hint });
    return { expr: null, deps: everyDep() };
  }
  const binding = bindArguments(
    ctx,
    e,
    fn.params.map((p) => ({
      name: p.name,
      optional: p.default !== undefined,
      ...(p.variadic ? { variadic: true } : {}),
    })),
    fn.signature,
  );
  if (!binding) return { expr: null, deps: everyDep() };
  const { bound } = binding;
  const variadic = fn.params.find((p) => p.variadic);
  const tensors: { e: Expr; p: Param }[] = binding.rest.map((x) => ({ e: x, p: variadic! }));
  let failed = false;
  const statics: Record<string, StaticValue> = {};
  for (const p of fn.params) {
    if (p.variadic) continue;
    const given = bound.get(p.name);
    if (given === undefined) {
      if (p.default !== undefined && p.default !== null) statics[p.name] = p.default;
      continue;
    }
    if (p.kind === "tensor" || p.kind === "indices") tensors.push({ e: given, p });
    else {
      const v = staticValue(ctx, given, e.callee, p);
      if (v === undefined) failed = true;
      else statics[p.name] = v;
    }
  }
  const args = tensors.map((a) => ctx.expr(a.e));
  tensors.forEach(({ e: x, p }, i) => {
    const a = args[i].expr;
    if (p.kind !== "indices" || a === null || (a.kind !== "num" && a.int)) return;
    ctx.report("E113", x.span, {
      arg: p.name,
      name: e.callee,
      expected: "integer data",
      found: `'${ctx.snippet(x.span)}'`,
      hint: { kind: "intData" },
    });
    failed = true;
  });
  if (failed) return { expr: null, deps: new Set(args.flatMap((a) => [...a.deps])) };
  const checked = ctx.apply(e.callee, args, e.span, (a) => fn.shape(a, statics), e.span);
  return checked.expr && checked.expr.kind === "apply" ? { ...checked, expr: { ...checked.expr, statics } } : checked;
}

/** A builtin's compile-time argument, checked against its kind; undefined after reporting. */
function staticValue(ctx: ExprContext, e: Expr, fn: string, p: Param): StaticValue | undefined {
  const what = `'${p.name}' of '${fn}'`;
  const wrong = (expected: string, hint?: HintFor<"E113">) => {
    ctx.report("E113", e.span, {
      arg: p.name,
      name: fn,
      expected,
      found: `'${ctx.snippet(e.span)}'`,
      ...(hint ? { hint } : {}),
    });
    return undefined;
  };
  switch (p.kind) {
    case "bool":
      if (e.kind === "name" && !e.ref.index && (e.ref.name === "true" || e.ref.name === "false"))
        return e.ref.name === "true";
      return wrong("true or false");
    case "string":
      return e.kind === "string" ? e.value : wrong("a string in double quotes");
    case "number":
      return ctx.constValue(e, what);
    case "count":
    case "int": {
      if (e.kind === "list") return wrong("one integer");
      const v = ctx.constValue(e, what);
      if (v === undefined) return undefined;
      if (p.kind === "count" && !(Number.isInteger(v) && v >= 1)) return wrong("a positive integer");
      return Number.isInteger(v) ? v : wrong("an integer");
    }
    case "ints":
    case "shape":
    case "axes": {
      const items = e.kind === "list" ? e.items : [e];
      const out: number[] = [];
      for (const item of items) {
        if (item.kind === "list") return wrong("a list of integers");
        const v = ctx.constValue(item, what);
        if (v === undefined) return undefined;
        if (!Number.isInteger(v)) return wrong("integers");
        if (p.kind === "shape" && v < 1) return wrong("positive dimensions", { kind: "dimension" });
        out.push(v);
      }
      return e.kind === "list" || p.kind !== "axes" ? out : out[0];
    }
    case "tensor":
      return undefined;
  }
}
