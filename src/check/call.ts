import { didYouMean } from "../diagnostics/suggest.js";
import { builtinNames, builtins, type Param, type StaticValue } from "../lang/builtins.js";
import type { Expr } from "../parse/ast.js";
import type { Checked, ExprContext } from "./context.js";

/** Names from the lecture's notation that users type for a builtin. */
const mathNames: Readonly<Record<string, string>> = {
  σ: "write sigmoid(...) for σ",
  sigma: "did you mean 'sigmoid'?",
  ReLU: "did you mean 'relu'?",
  ln: "log is the natural logarithm: log(...)",
  softmax_ce: "did you mean 'softmax_cross_entropy'?",
  cross_entropy: "did you mean 'softmax_cross_entropy'?",
};

/** A builtin call: arguments bound to parameters (positional, then name=value), statics evaluated, then the shape rule. */
export function checkCall(ctx: ExprContext, e: Extract<Expr, { kind: "call" }>): Checked {
  const fn = builtins[e.callee];
  const everyDep = () => new Set([...e.args, ...e.kwargs.map((k) => k.value)].flatMap((a) => [...ctx.expr(a).deps]));
  if (!fn) {
    const kind = ctx.known(e.callee);
    const hint = kind
      ? `'${e.callee}' is a ${kind}, not a function`
      : (mathNames[e.callee] ?? (didYouMean(e.callee, builtinNames) || "the functions are listed in docs/language.md"));
    ctx.report("E104", e.calleeSpan, { name: e.callee, hint });
    return { expr: null, deps: everyDep() };
  }
  const bound = new Map<string, Expr>();
  const tensors: Expr[] = [];
  let failed = false;
  let k = 0;
  for (const arg of e.args) {
    while (k < fn.params.length && bound.has(fn.params[k].name) && !fn.params[k].variadic) k++;
    const p = fn.params[k];
    if (!p) {
      ctx.report("E105", e.span, { name: e.callee, expected: `at most ${fn.params.length} positional argument${fn.params.length === 1 ? "" : "s"} (${fn.signature})`, found: String(e.args.length) });
      return { expr: null, deps: everyDep() };
    }
    if (p.variadic) tensors.push(arg);
    else {
      bound.set(p.name, arg);
      k++;
    }
  }
  for (const kw of e.kwargs) {
    const p = fn.params.find((q) => q.name === kw.name && !q.variadic);
    if (!p) {
      const names = fn.params.filter((q) => !q.variadic).map((q) => q.name);
      ctx.report("E110", kw.nameSpan, { name: e.callee, arg: kw.name, hint: didYouMean(kw.name, names) || `${fn.signature}` });
      failed = true;
    } else if (bound.has(p.name)) {
      ctx.report("E111", kw.nameSpan, { name: e.callee, arg: kw.name });
      failed = true;
    } else bound.set(p.name, kw.value);
  }
  const statics: Record<string, StaticValue> = {};
  for (const p of fn.params) {
    if (p.variadic) {
      if (tensors.length === 0) {
        ctx.report("E112", e.span, { name: e.callee, arg: p.name, signature: fn.signature });
        failed = true;
      }
      continue;
    }
    const given = bound.get(p.name);
    if (given === undefined) {
      if (p.default === undefined) {
        ctx.report("E112", e.span, { name: e.callee, arg: p.name, signature: fn.signature });
        failed = true;
      } else if (p.default !== null) statics[p.name] = p.default;
      continue;
    }
    if (p.kind === "tensor") tensors.push(given);
    else {
      const v = staticValue(ctx, given, e.callee, p);
      if (v === undefined) failed = true;
      else statics[p.name] = v;
    }
  }
  const args = tensors.map((a) => ctx.expr(a));
  if (failed) return { expr: null, deps: new Set(args.flatMap((a) => [...a.deps])) };
  const checked = ctx.apply(e.callee, args, e.span, (a) => fn.shape(a, statics), e.span);
  return checked.expr && checked.expr.kind === "apply" ? { ...checked, expr: { ...checked.expr, statics } } : checked;
}

/** A builtin's compile-time argument, checked against its kind; undefined after reporting. */
function staticValue(ctx: ExprContext, e: Expr, fn: string, p: Param): StaticValue | undefined {
  const what = `'${p.name}' of '${fn}'`;
  const wrong = (expected: string, hint = "") => {
    ctx.report("E113", e.span, { arg: p.name, name: fn, expected, found: `'${ctx.snippet(e.span)}'`, hint });
    return undefined;
  };
  switch (p.kind) {
    case "bool":
      if (e.kind === "name" && !e.ref.index && (e.ref.name === "true" || e.ref.name === "false")) return e.ref.name === "true";
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
        if (p.kind === "shape" && v < 1) return wrong("positive dimensions", "every dimension is at least 1");
        out.push(v);
      }
      return e.kind === "list" || p.kind !== "axes" ? out : out[0];
    }
    case "tensor":
      return undefined;
  }
}
