import { Reporter, type Diagnostic } from "../diagnostics/diagnostic.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { binaryOps, builtins, type ShapeResult } from "../lang/builtins.js";
import { checkCall } from "./call.js";
import type { Checked, ExprContext } from "./context.js";
import { checkIndex } from "./indexing.js";
import type { Expr, NameRef, Program, Stmt } from "../parse/ast.js";
import { lineCol, type Span } from "../source/span.js";
import { scalar, showShape, type Shape } from "../shape/shape.js";
import type { Assignment, CheckedProgram, Declared, TExpr } from "./program.js";

/** The highest rank a declaration may have. */
export const MAX_RANK = 8;

/** Loops are unrolled at compile time; this bounds the work a source can ask for. */
export const MAX_UNROLL = 100_000;

type Entry =
  | { readonly kind: "const" | "loop variable"; readonly value: number; readonly span: Span }
  | { readonly kind: "param" | "input" | "value"; readonly shape: Shape; readonly span: Span; readonly deps: ReadonlySet<string> };

/** Indexed names h{k} are the plain names h_k. */
export function indexedName(base: string, index: number): string {
  return `${base}_${index}`;
}

/**
 * Resolves names, evaluates constants, unrolls loops and infers every shape. Errors are
 * collected, never thrown; an expression whose shape is unknown after an error is "poisoned"
 * (null) so one mistake is reported once.
 */
export function check(program: Program, file: string, text: string): { program?: CheckedProgram; diagnostics: Diagnostic[] } {
  const r = new Reporter(file);
  const scope = new Map<string, Entry>();
  const later = laterDefinitions(program.statements);
  const params: Declared[] = [];
  const inputs: Declared[] = [];
  const assigns: Assignment[] = [];
  let loss: { name?: string; value: TExpr; span: Span; deps: ReadonlySet<string> } | undefined;
  let lossSpan: Span | undefined;
  let unrolled = 0;
  const where = (s: Span) => {
    const lc = lineCol(text, s.start);
    return `${lc.line}:${lc.col}`;
  };
  const snippet = (s: Span) => text.slice(s.start, s.end);

  // ---- compile-time constants ------------------------------------------------------------
  function constValue(e: Expr, what: string): number | undefined {
    switch (e.kind) {
      case "number":
        return e.value;
      case "name": {
        const name = resolveName(e.ref);
        if (name === undefined) return undefined;
        const entry = scope.get(name);
        if (!entry) {
          reportUnknown(name, e.ref);
          return undefined;
        }
        if (entry.kind === "const" || entry.kind === "loop variable") return entry.value;
        r.report("E107", e.span, { what, name, kind: entry.kind === "value" ? "computed value" : entry.kind });
        return undefined;
      }
      case "neg": {
        const v = constValue(e.operand, what);
        return v === undefined ? undefined : -v;
      }
      case "binary": {
        const a = constValue(e.left, what);
        const b = constValue(e.right, what);
        if (a === undefined || b === undefined) return undefined;
        switch (e.op) {
          case "+": return a + b;
          case "-": return a - b;
          case "*": return a * b;
          case "/": return a / b;
          case "^": return a ** b;
          case "@":
            r.report("E204", e.opSpan, { what: `'@' in ${what}`, expected: "applied to vectors or matrices", value: "numbers" });
            return undefined;
        }
        return undefined;
      }
      case "call":
      case "transpose":
      case "string":
      case "list":
      case "index":
      case "compare":
        r.report("E204", e.span, { what, expected: "arithmetic on numbers and constants", value: `'${snippet(e.span)}'` });
        return undefined;
    }
  }

  function intValue(e: Expr, what: string, min: number): number | undefined {
    const v = constValue(e, what);
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || v < min) {
      r.report("E204", e.span, { what, expected: min > 0 ? "a positive integer" : "a non-negative integer", value: String(v) });
      return undefined;
    }
    return v;
  }

  function resolveName(ref: NameRef): string | undefined {
    if (!ref.index) return ref.name;
    const entry = scope.get(ref.name);
    if (entry && entry.kind !== "value") {
      r.report("E108", ref.span, { name: ref.name });
      return undefined;
    }
    const i = intValue(ref.index, "an index", 0);
    return i === undefined ? undefined : indexedName(ref.name, i);
  }

  function reportUnknown(name: string, ref: NameRef): void {
    const family = /^(.*)_\d+$/.exec(name)?.[1];
    if (poisonedFamilies.has(ref.name) || poisonedFamilies.has(name) || (family !== undefined && poisonedFamilies.has(family))) return;
    const def = later.get(ref.index ? `${ref.name}{}` : name);
    if (def && def.start > ref.span.start) {
      r.report("E103", ref.span, { name, where: where(def) });
      return;
    }
    let hint = didYouMean(name, [...scope.keys()]);
    if (ref.index) {
      const defined = [...scope.keys()].filter((k) => k.startsWith(`${ref.name}_`) && /^\d+$/.test(k.slice(ref.name.length + 1)));
      if (defined.length) {
        const idx = defined.map((k) => Number(k.slice(ref.name.length + 1))).sort((a, b) => a - b);
        hint = `${ref.name}{…} is defined so far for ${idx.length === 1 ? `index ${idx[0]}` : `indices ${idx[0]}..${idx[idx.length - 1]}`}`;
      }
    }
    r.report("E101", ref.span, { name: ref.index ? `${ref.name}{${name.slice(ref.name.length + 1)}}` : name, hint });
  }

  function define(name: string, entry: Entry, span: Span): boolean {
    const old = scope.get(name);
    if (old) {
      r.report("E102", span, { name, where: where(old.span) });
      return false;
    }
    scope.set(name, entry);
    return true;
  }

  // ---- expressions -------------------------------------------------------------------------
  function apply(fn: string, args: Checked[], span: Span, rule: (a: readonly Shape[]) => ShapeResult, at: Span): Checked {
    const deps = new Set<string>();
    for (const a of args) for (const d of a.deps) deps.add(d);
    if (args.some((a) => a.expr === null)) return { expr: null, deps };
    const shapes = args.map((a) => a.expr!.shape);
    const res = rule(shapes);
    if ("code" in res) {
      r.report(res.code, at, res.args);
      return { expr: null, deps };
    }
    return { expr: { kind: "apply", fn, args: args.map((a) => a.expr!), shape: res as Shape, span }, deps };
  }

  function expr(e: Expr): Checked {
    switch (e.kind) {
      case "number":
        return { expr: { kind: "num", value: e.value, shape: scalar, span: e.span }, deps: new Set() };
      case "name": {
        const name = resolveName(e.ref);
        if (name === undefined) return { expr: null, deps: new Set() };
        const entry = scope.get(name);
        if (!entry) {
          if (builtins[name] && !e.ref.index) r.report("E106", e.span, { name });
          else reportUnknown(name, e.ref);
          return { expr: null, deps: new Set() };
        }
        if (!("deps" in entry)) {
          return { expr: { kind: "num", value: entry.value, shape: scalar, span: e.span }, deps: new Set<string>() };
        }
        // dependencies are direct (this name); reachability is walked once at the end
        if (poisoned.has(name)) return { expr: null, deps: new Set<string>([name]) };
        return { expr: { kind: "ref", name, shape: entry.shape, span: e.span }, deps: new Set<string>([name]) };
      }
      case "string":
      case "list":
        r.report("E204", e.span, { what: "a value", expected: "a number or a tensor expression", value: `'${snippet(e.span)}'` });
        return { expr: null, deps: new Set() };
      case "compare": {
        const op = binaryOps[e.op];
        return apply(e.op, [expr(e.left), expr(e.right)], e.span, op.shape, e.opSpan);
      }
      case "index":
        return checkIndex(ctx, e);
      case "neg":
        return apply("neg", [expr(e.operand)], e.span, (a) => a[0], e.span);
      case "transpose":
        return apply("'", [expr(e.operand)], e.span, (a) => builtins.transpose.shape(a, {}), e.span);
      case "binary": {
        const op = binaryOps[e.op];
        return apply(e.op, [expr(e.left), expr(e.right)], e.span, op.shape, e.opSpan);
      }
      case "call":
        return checkCall(ctx, e);
    }
  }

  /** what the expression visitors in other files see of this checker */
  const ctx: ExprContext = { report: (code, span, args) => r.report(code, span, args), snippet, constValue, expr, apply, known: (name) => scope.get(name)?.kind };

  // ---- statements --------------------------------------------------------------------------
  function statement(s: Stmt): void {
    switch (s.kind) {
      case "const": {
        const v = constValue(s.value, `the value of const '${s.name}'`);
        if (v !== undefined) define(s.name, { kind: "const", value: v, span: s.nameSpan }, s.nameSpan);
        return;
      }
      case "declare": {
        for (const d of s.decls) {
          const name = resolveName(d.target);
          const dims = d.dims.map((x) => intValue(x, "a dimension", 1));
          if (name === undefined) continue;
          if (dims.some((x) => x === undefined)) {
            poison(name, d.target.span);
            continue;
          }
          if (dims.length > MAX_RANK) {
            r.report("E204", d.span, { what: "a shape", expected: `at most ${MAX_RANK} dimensions`, value: `${dims.length} dimensions` });
            poison(name, d.target.span);
            continue;
          }
          const shape = dims as number[];
          if (define(name, { kind: s.role, shape, span: d.target.span, deps: new Set() }, d.target.span)) {
            (s.role === "param" ? params : inputs).push({ name, shape, span: d.target.span });
          }
        }
        return;
      }
      case "assign": {
        const name = resolveName(s.target);
        const value = expr(s.value);
        if (name === undefined) return;
        if (value.expr === null) {
          // keep the name known so later uses do not cascade into "unknown name"
          poison(name, s.target.span, value.deps);
          return;
        }
        if (define(name, { kind: "value", shape: value.expr.shape, span: s.target.span, deps: value.deps }, s.target.span)) {
          assigns.push({ name, value: value.expr, span: s.span });
        }
        return;
      }
      case "loss": {
        const name = s.target ? resolveName(s.target) : undefined;
        const value = expr(s.value);
        if (lossSpan) {
          r.report("E302", s.keywordSpan, { where: where(lossSpan) });
          return;
        }
        lossSpan = s.keywordSpan;
        if (value.expr === null) return;
        if (value.expr.shape.length !== 0) {
          r.report("E303", s.value.span, { shape: showShape(value.expr.shape) });
          return;
        }
        if (name !== undefined && s.target) define(name, { kind: "value", shape: scalar, span: s.target.span, deps: value.deps }, s.target.span);
        loss = { ...(name !== undefined ? { name } : {}), value: value.expr, span: s.span, deps: value.deps };
        return;
      }
      case "for": {
        const from = intValue(s.from, "a loop bound", 0);
        const to = intValue(s.to, "a loop bound", 0);
        // a loop that cannot run leaves its names undefined: uses of them would only cascade
        const skipLoop = () => {
          for (const k of laterDefinitions(s.body).keys()) poisonedFamilies.add(k.replace(/\{\}$/, ""));
        };
        if (from === undefined || to === undefined) return skipLoop();
        const count = Math.max(0, to - from + 1);
        unrolled += count;
        if (unrolled > MAX_UNROLL) {
          r.report("E109", s.span, { name: s.variable, count: String(count), limit: String(MAX_UNROLL) });
          return skipLoop();
        }
        const shadow = scope.get(s.variable);
        if (shadow) {
          r.report("E102", s.variableSpan, { name: s.variable, where: where(shadow.span) });
          return;
        }
        for (let k = from; k <= to; k++) {
          scope.set(s.variable, { kind: "loop variable", value: k, span: s.variableSpan });
          for (const b of s.body) statement(b);
          if (r.diagnostics.length > 200) break;
        }
        scope.delete(s.variable);
        return;
      }
    }
  }

  const poisoned = new Set<string>();
  const poisonedFamilies = new Set<string>();
  /** params used in an expression that had an error: not reported as unused */
  const usedInError = new Set<string>();
  /** a name whose definition had an error: known, but every use of it is silent */
  function poison(name: string, at: Span, deps: ReadonlySet<string> = new Set()): void {
    if (!scope.has(name)) scope.set(name, { kind: "value", shape: scalar, span: at, deps });
    poisoned.add(name);
    for (const d of deps) usedInError.add(d);
  }
  for (const s of program.statements) statement(s);

  if (!lossSpan && !program.failedLoss) r.report("E301", { start: 0, end: 0 });
  if (loss) {
    // names the loss reaches (or a line with an error might have): an iterative walk over direct dependencies
    const seen = new Set<string>();
    const stack = [...loss.deps, ...usedInError];
    while (stack.length) {
      const name = stack.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const entry = scope.get(name);
      if (entry && "deps" in entry) stack.push(...entry.deps);
    }
    for (const p of params) if (!seen.has(p.name)) r.report("W401", p.span, { name: p.name });
  }
  const diagnostics = r.diagnostics;
  if (r.hasErrors || !loss) return { diagnostics };
  const { deps: _deps, ...lossOut } = loss;
  return { program: { file, text, params, inputs, assigns, loss: lossOut }, diagnostics };
}

/** Where each name is first defined, for "used before it is defined" (indexed names as "h{}"). */
function laterDefinitions(stmts: readonly Stmt[]): Map<string, Span> {
  const out = new Map<string, Span>();
  const add = (ref: NameRef) => {
    const k = ref.index ? `${ref.name}{}` : ref.name;
    if (!out.has(k)) out.set(k, ref.span);
  };
  const walk = (ss: readonly Stmt[]) => {
    for (const s of ss) {
      if (s.kind === "declare") s.decls.forEach((d) => add(d.target));
      else if (s.kind === "assign") add(s.target);
      else if (s.kind === "loss" && s.target) add(s.target);
      else if (s.kind === "const") add({ name: s.name, span: s.nameSpan });
      else if (s.kind === "for") walk(s.body);
    }
  };
  walk(stmts);
  return out;
}
