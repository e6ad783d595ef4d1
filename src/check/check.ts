import { Reporter, type Diagnostic, type HintFor } from "../diagnostics/diagnostic.js";
import { similar } from "../diagnostics/suggest.js";
import { binaryOps, builtins, type ShapeResult } from "../lang/builtins.js";
import { bindArguments, checkCall } from "./call.js";
import type { Checked, ExprContext } from "./context.js";
import { checkIndex } from "./indexing.js";
import type { Expr, NameRef, Program, Stmt } from "../parse/ast.js";
import { lineCol, type Span } from "../source/span.js";
import { scalar, showShape, type Shape } from "../shape/shape.js";
import type { Assignment, CheckedProgram, Declared, TExpr } from "./program.js";

/** The highest rank a declaration may have. */
const MAX_RANK = 8;

/** The most elements one tensor may have: 2 GiB as float64 (its buffer is allocated when the module loads). */
const MAX_ELEMENTS = 2 ** 28;

/** Loops are unrolled at compile time; this bounds the work a source can ask for. */
const MAX_UNROLL = 100_000;

type Entry =
  | { readonly kind: "const" | "loop variable"; readonly value: number; readonly span: Span }
  | {
      readonly kind: "param" | "input" | "value";
      readonly shape: Shape;
      readonly span: Span;
      readonly deps: ReadonlySet<string>;
      readonly int?: boolean;
    }
  /** inside a def: a parameter or local, standing for a (hidden) program value or a number */
  | {
      readonly kind: "alias";
      readonly expr: TExpr;
      readonly shape: Shape;
      readonly span: Span;
      readonly deps: ReadonlySet<string>;
    };

/** Every call of a user function is inlined; this bounds how many bodies a source can ask for. */
const MAX_INLINED = 100_000;

type DefStmt = Extract<Stmt, { kind: "def" }>;
/** The call being expanded: its def, a number that makes its hidden names unique, what it returned. */
interface Frame {
  readonly def: DefStmt;
  readonly id: number;
  returns?: Checked[];
}

/** Indexed names h{k} are the plain names h_k. */
function indexedName(base: string, index: number): string {
  return `${base}_${index}`;
}

/**
 * Resolves names, evaluates constants, unrolls loops and infers every shape. Errors are
 * collected, never thrown; an expression whose shape is unknown after an error is "poisoned"
 * (null) so one mistake is reported once.
 */
export function check(
  program: Program,
  file: string,
  text: string,
): { program?: CheckedProgram; diagnostics: Diagnostic[] } {
  return new Checker(program, file, text).run();
}

/** The checker's state, and one method per kind of statement and expression. */
class Checker {
  private readonly r: Reporter;
  /** the program's names; `scope` is this, or a def body's own names while a call is expanded */
  private readonly globals = new Map<string, Entry>();
  /** the program's consts: what a def body sees besides its parameters and locals */
  private readonly consts = new Map<string, Entry>();
  private scope = this.globals;
  private frame: Frame | undefined;
  private readonly expanding: string[] = [];
  private inlined = 0;
  private readonly defs: Map<string, DefStmt>;
  private readonly later: Map<string, Span>;
  private readonly params: Declared[] = [];
  private readonly inputs: Declared[] = [];
  private readonly assigns: Assignment[] = [];
  private loss: { name?: string; value: TExpr; span: Span; deps: ReadonlySet<string> } | undefined;
  private lossSpan: Span | undefined;
  private unrolled = 0;
  private readonly poisoned = new Set<string>();
  private readonly poisonedFamilies = new Set<string>();
  /** params used in an expression that had an error: not reported as unused */
  private readonly usedInError = new Set<string>();
  /** what the expression visitors in other files see of this checker */
  private readonly ctx: ExprContext = {
    report: (code, span, ...args) => this.r.report(code, span, ...args),
    reportProblem: (p, span) => this.r.reportProblem(p, span),
    snippet: (s) => this.snippet(s),
    constValue: (e, what) => this.constValue(e, what),
    expr: (e) => this.expr(e),
    apply: (...a) => this.apply(...a),
    isIntData: (e) => this.isIntData(e),
    known: (name) => this.scope.get(name)?.kind,
  };

  constructor(
    private readonly program: Program,
    private readonly file: string,
    private readonly text: string,
  ) {
    this.r = new Reporter(file);
    this.defs = this.collectDefs(program.statements);
    this.later = laterDefinitions(program.statements);
  }

  run(): { program?: CheckedProgram; diagnostics: Diagnostic[] } {
    for (const s of this.program.statements) this.statement(s);

    if (!this.lossSpan && !this.program.failedLoss) this.r.report("E301", { start: 0, end: 0 });
    if (this.loss) {
      // names the loss reaches (or a line with an error might have): an iterative walk over direct dependencies
      const seen = new Set<string>();
      const stack = [...this.loss.deps, ...this.usedInError];
      while (stack.length) {
        const name = stack.pop()!;
        if (seen.has(name)) continue;
        seen.add(name);
        const entry = this.globals.get(name);
        if (entry && "deps" in entry) stack.push(...entry.deps);
      }
      for (const p of this.params) if (!seen.has(p.name)) this.r.report("W401", p.span, { name: p.name });
    }
    const diagnostics = this.r.diagnostics;
    if (this.r.hasErrors || !this.loss) return { diagnostics };
    const { deps: _deps, ...lossOut } = this.loss;
    return {
      program: {
        file: this.file,
        text: this.text,
        params: this.params,
        inputs: this.inputs,
        assigns: this.assigns,
        loss: lossOut,
      },
      diagnostics,
    };
  }

  private where(s: Span): string {
    const lc = lineCol(this.text, s.start);
    return `${lc.line}:${lc.col}`;
  }

  private snippet(s: Span): string {
    return this.text.slice(s.start, s.end);
  }

  // ---- compile-time constants ------------------------------------------------------------
  private constValue(e: Expr, what: string): number | undefined {
    switch (e.kind) {
      case "number":
        return e.value;
      case "name": {
        const name = this.resolveName(e.ref);
        if (name === undefined) return undefined;
        const entry = this.scope.get(name);
        if (!entry) {
          this.reportUnknown(name, e.ref);
          return undefined;
        }
        if (entry.kind === "const" || entry.kind === "loop variable") return entry.value;
        if (entry.kind === "alias" && entry.expr.kind === "num") return entry.expr.value;
        // a const whose value had an error: already reported
        if (this.poisoned.has(name)) return undefined;
        this.r.report("E107", e.span, { what, name, kind: entry.kind === "value" ? "computed value" : entry.kind });
        return undefined;
      }
      case "neg": {
        const v = this.constValue(e.operand, what);
        return v === undefined ? undefined : -v;
      }
      case "binary": {
        const a = this.constValue(e.left, what);
        const b = this.constValue(e.right, what);
        if (a === undefined || b === undefined) return undefined;
        switch (e.op) {
          case "+":
            return a + b;
          case "-":
            return a - b;
          case "*":
            return a * b;
          case "/":
            return a / b;
          case "^":
            return a ** b;
          case "@":
            this.r.report("E204", e.opSpan, { what, value: "'@', a product of tensors" });
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
        this.r.report("E204", e.span, { what, value: `'${this.snippet(e.span)}'` });
        return undefined;
    }
  }

  private intValue(e: Expr, what: string, min: number): number | undefined {
    const v = this.constValue(e, what);
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || v < min) {
      this.r.report("E211", e.span, { what, sign: min > 0 ? "positive" : "non-negative", value: String(v) });
      return undefined;
    }
    return v;
  }

  private resolveName(ref: NameRef): string | undefined {
    if (!ref.index) return ref.name;
    const entry = this.scope.get(ref.name);
    if (entry && entry.kind !== "value") {
      this.r.report("E108", ref.span, { name: ref.name, example: `${ref.name}{k}` });
      return undefined;
    }
    const i = this.intValue(ref.index, "an index", 0);
    return i === undefined ? undefined : indexedName(ref.name, i);
  }

  private reportUnknown(name: string, ref: NameRef): void {
    const family = /^(.*)_\d+$/.exec(name)?.[1];
    if (
      this.poisonedFamilies.has(ref.name) ||
      this.poisonedFamilies.has(name) ||
      (family !== undefined && this.poisonedFamilies.has(family))
    )
      return;
    if (this.frame && this.globals.has(name)) {
      this.r.report("E101", ref.span, { name, hint: { kind: "outside", def: this.frame.def.name } });
      return;
    }
    const def = this.frame ? undefined : this.later.get(ref.index ? `${ref.name}{}` : name);
    if (def && def.start > ref.span.start) {
      this.r.report("E103", ref.span, { name, where: this.where(def) });
      return;
    }
    let hint: HintFor<"E101"> | undefined = similar(name, [...this.scope.keys()]);
    if (ref.index) {
      const defined = [...this.scope.keys()].filter(
        (k) => k.startsWith(`${ref.name}_`) && /^\d+$/.test(k.slice(ref.name.length + 1)),
      );
      if (defined.length) {
        const idx = defined.map((k) => Number(k.slice(ref.name.length + 1))).sort((a, b) => a - b);
        const which = idx.length === 1 ? `index ${idx[0]}` : `indices ${idx[0]}..${idx[idx.length - 1]}`;
        hint = { kind: "indexed", family: ref.name, which };
      }
    }
    this.r.report("E101", ref.span, {
      name: ref.index ? `${ref.name}{${name.slice(ref.name.length + 1)}}` : name,
      ...(hint ? { hint } : {}),
    });
  }

  private define(name: string, entry: Entry, span: Span): boolean {
    const old = this.scope.get(name);
    if (old) {
      this.r.report("E102", span, { name, where: this.where(old.span) });
      return false;
    }
    this.scope.set(name, entry);
    return true;
  }

  // ---- expressions -------------------------------------------------------------------------
  /** a shape a generated module can allocate (E210 otherwise) */
  private fits(shape: Shape, what: string, at: Span): boolean {
    const count = shape.reduce((a, b) => a * b, 1);
    if (count <= MAX_ELEMENTS) return true;
    this.r.report("E210", at, {
      what,
      shape: showShape(shape),
      count: count.toLocaleString("en"),
      limit: MAX_ELEMENTS.toLocaleString("en"),
    });
    return false;
  }

  private apply(
    fn: string,
    args: Checked[],
    span: Span,
    rule: (a: readonly Shape[]) => ShapeResult,
    at: Span,
  ): Checked {
    const deps = new Set<string>();
    for (const a of args) for (const d of a.deps) deps.add(d);
    if (args.some((a) => a.expr === null)) return { expr: null, deps };
    const shapes = args.map((a) => a.expr!.shape);
    const res = rule(shapes);
    if ("code" in res) {
      this.r.reportProblem(res, at);
      return { expr: null, deps };
    }
    if (!this.fits(res as Shape, "this value", at)) return { expr: null, deps };
    return { expr: { kind: "apply", fn, args: args.map((a) => a.expr!), shape: res as Shape, span }, deps };
  }

  private expr(e: Expr): Checked {
    switch (e.kind) {
      case "number":
        return { expr: { kind: "num", value: e.value, shape: scalar, span: e.span }, deps: new Set() };
      case "name": {
        const name = this.resolveName(e.ref);
        if (name === undefined) return { expr: null, deps: new Set() };
        const entry = this.scope.get(name);
        if (!entry) {
          if (builtins[name] && !e.ref.index) this.r.report("E106", e.span, { name });
          else this.reportUnknown(name, e.ref);
          return { expr: null, deps: new Set() };
        }
        if (!("deps" in entry)) {
          return { expr: { kind: "num", value: entry.value, shape: scalar, span: e.span }, deps: new Set<string>() };
        }
        // dependencies are direct (this name); reachability is walked once at the end
        if (this.poisoned.has(name)) return { expr: null, deps: new Set<string>([name]) };
        if (entry.kind === "alias") return { expr: entry.expr, deps: new Set(entry.deps) };
        return {
          expr: { kind: "ref", name, shape: entry.shape, span: e.span, ...(entry.int ? { int: true } : {}) },
          deps: new Set<string>([name]),
        };
      }
      case "string":
      case "list":
        this.r.report("E212", e.span, { value: `'${this.snippet(e.span)}'` });
        return { expr: null, deps: new Set() };
      case "compare": {
        const op = binaryOps[e.op];
        return this.apply(e.op, [this.expr(e.left), this.expr(e.right)], e.span, op.shape, e.opSpan);
      }
      case "index":
        return checkIndex(this.ctx, e);
      case "neg":
        return this.apply("neg", [this.expr(e.operand)], e.span, (a) => a[0], e.span);
      case "transpose":
        return this.apply("'", [this.expr(e.operand)], e.span, (a) => builtins.transpose.shape(a, {}), e.span);
      case "binary":
        return this.binaryChain(e);
      case "call": {
        const def = this.defs.get(e.callee);
        if (!def) return checkCall(this.ctx, e);
        const { results, deps } = this.callDef(e, def);
        if (!results) return { expr: null, deps };
        if (results.length !== 1) {
          this.r.report("E117", e.span, {
            name: e.callee,
            count: `${results.length} values`,
            expected: "an expression takes one",
            hint: { kind: "receive", receivers: results.map((_, k) => `r${k + 1}`).join(", ") },
          });
          return { expr: null, deps };
        }
        return results[0];
      }
    }
  }

  /**
   * a + b + c + ... : the parser builds sums and products left-deep, so their left spine is
   * walked with a loop, not recursion (a 10,000-term sum must not overflow the stack)
   */
  private binaryChain(e: Extract<Expr, { kind: "binary" }>): Checked {
    const spine: Extract<Expr, { kind: "binary" }>[] = [];
    let left: Expr = e;
    while (left.kind === "binary") {
      spine.push(left);
      left = left.left;
    }
    let acc = this.expr(left);
    for (let k = spine.length - 1; k >= 0; k--) {
      const b = spine[k];
      acc = this.apply(b.op, [acc, this.expr(b.right)], b.span, binaryOps[b.op].shape, b.opSpan);
    }
    return acc;
  }

  /** an `: int` input (through the names and defs that stand for it), or an index of one */
  private isIntData(e: Expr): boolean {
    if (e.kind === "index") return this.isIntData(e.target);
    if (e.kind !== "name" || e.ref.index) return false;
    const entry = this.scope.get(e.ref.name);
    if (!entry) return false;
    if (entry.kind === "alias") return entry.expr.kind !== "num" && entry.expr.int === true;
    return "int" in entry && entry.int === true;
  }

  // ---- user functions (def): inlined at each call -------------------------------------------
  /** the defs of the program, by name (a builtin's name or a repeated name is reported) */
  private collectDefs(stmts: readonly Stmt[]): Map<string, DefStmt> {
    const out = new Map<string, DefStmt>();
    for (const s of stmts) {
      if (s.kind !== "def") continue;
      const old = out.get(s.name);
      if (builtins[s.name]) this.r.report("E115", s.nameSpan, { name: s.name });
      else if (old) this.r.report("E102", s.nameSpan, { name: s.name, where: this.where(old.nameSpan) });
      else out.set(s.name, s);
    }
    return out;
  }

  /**
   * name = value. At the top level a program value; inside a def a hidden program value
   * (`h#3`: the def's name for it, made unique per call) that the body's name stands for.
   */
  private bindValue(target: NameRef, value: Checked, span: Span): void {
    const name = this.resolveName(target);
    if (name === undefined) return;
    if (value.expr === null) {
      // keep the name known so later uses do not cascade into "unknown name"
      this.poison(name, target.span, value.deps);
      return;
    }
    const shape = value.expr.shape;
    const int = value.expr.kind !== "num" && value.expr.int ? { int: true } : {};
    if (!this.frame) {
      if (this.define(name, { kind: "value", shape, span: target.span, deps: value.deps, ...int }, target.span))
        this.assigns.push({ name, value: value.expr, span });
      return;
    }
    if (this.scope.has(name)) {
      this.define(name, { kind: "value", shape, span: target.span, deps: value.deps }, target.span);
      return;
    }
    const hidden = `${name}#${this.frame.id}`;
    this.globals.set(hidden, { kind: "value", shape, span: target.span, deps: value.deps });
    this.assigns.push({ name: hidden, hint: name, hidden: true, value: value.expr, span });
    this.scope.set(name, {
      kind: "alias",
      expr: { kind: "ref", name: hidden, shape, span: target.span, ...int },
      shape,
      span: target.span,
      deps: new Set([hidden]),
    });
  }

  /** a returned (or passed) value as a name or a number: anything larger becomes a hidden program value */
  private hideResult(value: Checked, hint?: string): Checked {
    const e = value.expr;
    if (e === null || e.kind === "ref" || e.kind === "num") return value;
    const hidden = `${hint ?? "result"}#${++this.inlined}`;
    const int = e.int ? { int: true } : {};
    this.globals.set(hidden, { kind: "value", shape: e.shape, span: e.span, deps: value.deps, ...int });
    this.assigns.push({ name: hidden, ...(hint ? { hint } : {}), hidden: true, value: e, span: e.span });
    return { expr: { kind: "ref", name: hidden, shape: e.shape, span: e.span, ...int }, deps: new Set([hidden]) };
  }

  /** a, b{t} = f(...): each name receives one of the def's results */
  private unpack(s: Extract<Stmt, { kind: "unpack" }>): void {
    const def = s.value.kind === "call" ? this.defs.get(s.value.callee) : undefined;
    const what = s.value.kind === "call" ? s.value.callee : this.snippet(s.value.span);
    const poisonAll = (deps: ReadonlySet<string>) =>
      s.targets.forEach((t) => {
        const name = this.resolveName(t);
        if (name !== undefined) this.poison(name, t.span, deps);
      });
    if (!def || s.value.kind !== "call") {
      const value = this.expr(s.value);
      this.r.report("E117", s.value.span, {
        name: what,
        count: "one value",
        expected: `${s.targets.length} names receive it`,
        hint: { kind: "oneValue" },
      });
      return poisonAll(value.deps);
    }
    const { results, deps } = this.callDef(s.value, def);
    if (!results) return poisonAll(deps);
    if (results.length !== s.targets.length) {
      this.r.report("E117", s.value.span, {
        name: what,
        count: `${results.length} value${results.length === 1 ? "" : "s"}`,
        expected: `${s.targets.length} names receive them`,
        hint: { kind: "perValue" },
      });
      return poisonAll(deps);
    }
    s.targets.forEach((t, k) => this.bindValue(t, results[k], s.span));
  }

  /**
   * A call of a def, inlined: the arguments are checked where the call is, then the body in a
   * scope of its own (its parameters, its locals, the program's consts); the results are names
   * or numbers. Errors inside the body carry a note naming the call.
   */
  private callDef(e: Extract<Expr, { kind: "call" }>, def: DefStmt): { results: Checked[] | null; deps: Set<string> } {
    const signature = `${def.name}(${def.params.map((p) => (p.default ? `${p.name}=${this.snippet(p.default.span)}` : p.name)).join(", ")})`;
    const binding = bindArguments(
      this.ctx,
      e,
      def.params.map((p) => ({ name: p.name, optional: p.default !== undefined })),
      signature,
    );
    const args = new Map([...(binding?.bound ?? [])].map(([k, v]) => [k, this.expr(v)] as const));
    const deps = new Set([...args.values()].flatMap((a) => [...a.deps]));
    if (!binding || [...args.values()].some((a) => a.expr === null)) return { results: null, deps };
    if (this.expanding.includes(def.name)) {
      this.r.report("E114", e.calleeSpan, { name: def.name });
      return { results: null, deps };
    }
    if (++this.inlined > MAX_INLINED) {
      this.r.report("E119", e.span, { name: def.name, limit: String(MAX_INLINED) });
      return { results: null, deps };
    }
    const saved = { scope: this.scope, frame: this.frame };
    this.scope = new Map(this.consts);
    this.frame = { def, id: this.inlined };
    this.expanding.push(def.name);
    try {
      return {
        results: this.r.within(`in the call of '${def.name}' at ${this.where(e.span)}`, () =>
          this.expandBody(def, args),
        ),
        deps,
      };
    } finally {
      this.scope = saved.scope;
      this.frame = saved.frame;
      this.expanding.pop();
    }
  }

  private expandBody(def: DefStmt, args: ReadonlyMap<string, Checked>): Checked[] | null {
    for (const p of def.params) {
      const value = this.hideResult(args.get(p.name) ?? this.expr(p.default!), p.name);
      if (value.expr === null) this.poison(p.name, p.span, value.deps);
      else
        this.scope.set(p.name, {
          kind: "alias",
          expr: value.expr,
          shape: value.expr.shape,
          span: p.span,
          deps: value.deps,
        });
    }
    for (const s of def.body) {
      if (this.frame!.returns) {
        this.r.report("E122", s.span);
        break;
      }
      this.statement(s);
    }
    if (!this.frame!.returns) this.r.report("E118", def.nameSpan, { name: def.name });
    const results = this.frame!.returns;
    return results && results.every((x) => x.expr !== null) ? results : null;
  }

  // ---- statements --------------------------------------------------------------------------
  private statement(s: Stmt): void {
    if (this.frame && (s.kind === "declare" || s.kind === "const" || s.kind === "loss")) {
      const what = s.kind === "declare" ? `'${s.role}'` : `'${s.kind}'`;
      this.r.report("E116", s.span, { what });
      return;
    }
    this.visit[s.kind](s as never);
  }

  /** one visitor per kind of statement */
  private readonly visit: { readonly [K in Stmt["kind"]]: (s: Extract<Stmt, { kind: K }>) => void } = {
    const: (s) => this.constStatement(s),
    declare: (s) => this.declareStatement(s),
    assign: (s) => this.assignStatement(s),
    unpack: (s) => this.unpack(s),
    def: (s) => this.defStatement(s),
    return: (s) => this.returnStatement(s),
    loss: (s) => this.lossStatement(s),
    for: (s) => this.forStatement(s),
  };

  private constStatement(s: Extract<Stmt, { kind: "const" }>): void {
    const v = this.constValue(s.value, `the value of const '${s.name}'`);
    if (v === undefined) return this.poison(s.name, s.nameSpan);
    if (this.define(s.name, { kind: "const", value: v, span: s.nameSpan }, s.nameSpan))
      this.consts.set(s.name, this.scope.get(s.name)!);
  }

  private declareStatement(s: Extract<Stmt, { kind: "declare" }>): void {
    for (const d of s.decls) {
      const name = this.resolveName(d.target);
      const dims = d.dims.map((x) => this.intValue(x, "a dimension", 1));
      if (name === undefined) continue;
      if (dims.some((x) => x === undefined)) {
        this.poison(name, d.target.span);
        continue;
      }
      if (dims.length > MAX_RANK) {
        this.r.report("E213", d.span, { limit: MAX_RANK, count: dims.length });
        this.poison(name, d.target.span);
        continue;
      }
      const shape = dims as number[];
      if (!this.fits(shape, `${s.role} '${name}'`, d.span)) {
        this.poison(name, d.target.span);
        continue;
      }
      if (d.int && s.role === "param") {
        this.r.report("E120", d.int);
        this.poison(name, d.target.span);
        continue;
      }
      const int = d.int ? { int: true } : {};
      if (this.define(name, { kind: s.role, shape, span: d.target.span, deps: new Set(), ...int }, d.target.span)) {
        (s.role === "param" ? this.params : this.inputs).push({ name, shape, span: d.target.span, ...int });
      }
    }
  }

  private assignStatement(s: Extract<Stmt, { kind: "assign" }>): void {
    this.bindValue(s.target, this.expr(s.value), s.span);
  }

  private defStatement(s: Extract<Stmt, { kind: "def" }>): void {
    // collected before the statements run (collectDefs); only the top level may hold one
    if (this.frame) this.r.report("E116", s.span, { what: "'def'" });
  }

  private returnStatement(s: Extract<Stmt, { kind: "return" }>): void {
    if (!this.frame) this.r.report("E121", s.span);
    else this.frame.returns = s.values.map((v) => this.hideResult(this.expr(v)));
  }

  private lossStatement(s: Extract<Stmt, { kind: "loss" }>): void {
    const name = s.target ? this.resolveName(s.target) : undefined;
    const value = this.expr(s.value);
    if (this.lossSpan) {
      this.r.report("E302", s.keywordSpan, { where: this.where(this.lossSpan) });
      return;
    }
    this.lossSpan = s.keywordSpan;
    if (value.expr === null) return;
    if (value.expr.shape.length !== 0) {
      this.r.report("E303", s.value.span, { shape: showShape(value.expr.shape) });
      return;
    }
    if (name !== undefined && s.target)
      this.define(name, { kind: "value", shape: scalar, span: s.target.span, deps: value.deps }, s.target.span);
    this.loss = { ...(name !== undefined ? { name } : {}), value: value.expr, span: s.span, deps: value.deps };
  }

  private forStatement(s: Extract<Stmt, { kind: "for" }>): void {
    const from = this.intValue(s.from, "a loop bound", 0);
    const to = this.intValue(s.to, "a loop bound", 0);
    // a loop that cannot run leaves its names undefined: uses of them would only cascade
    const skipLoop = () => {
      for (const k of laterDefinitions(s.body).keys()) this.poisonedFamilies.add(k.replace(/\{\}$/, ""));
    };
    if (from === undefined || to === undefined) return skipLoop();
    const count = Math.max(0, to - from + 1);
    this.unrolled += count;
    if (this.unrolled > MAX_UNROLL) {
      this.r.report("E109", s.span, { name: s.variable, count: String(count), limit: String(MAX_UNROLL) });
      return skipLoop();
    }
    const shadow = this.scope.get(s.variable);
    if (shadow) {
      this.r.report("E102", s.variableSpan, { name: s.variable, where: this.where(shadow.span) });
      return;
    }
    for (let k = from; k <= to; k++) {
      this.scope.set(s.variable, { kind: "loop variable", value: k, span: s.variableSpan });
      for (const b of s.body) this.statement(b);
      if (this.r.diagnostics.length > 200) break;
    }
    this.scope.delete(s.variable);
  }

  /** a name whose definition had an error: known, but every use of it is silent */
  private poison(name: string, at: Span, deps: ReadonlySet<string> = new Set()): void {
    if (!this.scope.has(name)) this.scope.set(name, { kind: "value", shape: scalar, span: at, deps });
    this.poisoned.add(name);
    for (const d of deps) this.usedInError.add(d);
  }
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
      else if (s.kind === "unpack") s.targets.forEach(add);
      else if (s.kind === "loss" && s.target) add(s.target);
      else if (s.kind === "const") add({ name: s.name, span: s.nameSpan });
      else if (s.kind === "for") walk(s.body);
    }
  };
  walk(stmts);
  return out;
}
