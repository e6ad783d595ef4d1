/**
 * --target wasm --dtype f32: an elementwise loop of the chunk function as a WebAssembly SIMD
 * kernel, four elements per step. The input is the loop the TypeScript emitter built (one
 * flat `for i` whose body is a few `const` temporaries and `out[i] = expression`), so each
 * op's formula is still written once, in its definition; this file translates the expression
 * language of generated code (arithmetic, comparisons, `c ? a : b`, Math's functions and erf)
 * into f32x4 instructions (vmath.ts).
 *
 * A loop translates when every element it reads is four consecutive floats or one float for
 * all four lanes (a broadcast: i % m with m a multiple of 4, ⌊i / k⌋ with k a multiple of 4),
 * every array lives in the kernels' memory, and it runs a multiple of 4 times; otherwise it
 * stays TypeScript. Scalars computed in TypeScript (a mean, a norm) are passed as arguments.
 */
import type { Expr, Stmt } from "../../code/syntax.js";
import { erf4, exp4, log4, splat, tanh4, Vec } from "./vmath.js";

export interface ElementwiseKernel {
  readonly name: string;
  /** the scalars the generated code passes, in order */
  readonly args: readonly Expr[];
  readonly wat: string;
}

/** Where the arrays a loop reads and writes live: byte offset in the kernels' memory, by the name the code reads them through */
export type Addresses = ReadonlyMap<string, number>;

/** a loop that does not translate: why (kept for tests and debugging; the loop stays TypeScript) */
export class Untranslatable extends Error {}

const fail = (why: string): never => {
  throw new Untranslatable(why);
};

/** an index into an array, as the lanes see it: 4 consecutive elements, or one for all */
interface Index {
  readonly wat: string;
  readonly kind: "lanes" | "splat";
  /** the index at the first lane is a multiple of 4 (so i % m, ⌊i / k⌋ keep the lanes together) */
  readonly aligned: boolean;
}

/** a translated value: f32 lanes, or a comparison's mask (all ones where true) */
interface Lanes {
  readonly wat: string;
  readonly mask: boolean;
}

/** the loop variables of a nest, outermost first; the last one runs along the lanes */
interface Nest {
  readonly vars: readonly string[];
  readonly counts: readonly number[];
}

const local = (v: string) => `$L_${v}`;
const get = (v: string) => `(local.get ${local(v)})`;

/** The loop nest as a kernel named `name`, or Untranslatable. */
export function elementwiseKernel(name: string, loop: Stmt, addresses: Addresses): ElementwiseKernel {
  const vars: string[] = [];
  const counts: number[] = [];
  let body: readonly Stmt[] = [loop];
  // for (v = 0; v < n; v++) { for … }: a nest of whole loops, one statement deep
  while (body.length === 1 && body[0].k === "for") {
    const l = body[0];
    if (l.step !== undefined || l.from.k !== "num" || l.from.v !== 0 || l.to.k !== "num")
      return fail("not a loop from 0 to a constant");
    vars.push(l.v);
    counts.push(l.to.v);
    body = l.body;
  }
  const lanes = counts[counts.length - 1];
  if (!vars.length || lanes <= 0 || lanes % 4 !== 0) return fail(`${lanes} elements a row: not a multiple of 4`);
  const last = body[body.length - 1];
  if (last?.k !== "assign" || last.op !== "=" || last.target.k !== "index" || last.target.arr.k !== "id")
    return fail("no store");
  const out = addresses.get(last.target.arr.name) ?? fail(`${last.target.arr.name} is not in the kernels' memory`);
  const nest = { vars, counts };
  const at = index(last.target.i, nest);
  if (at.kind !== "lanes") return fail("a store that is not along the lanes");
  return new Translation(name, addresses, nest).kernel(body.slice(0, -1), last.value, out, at.wat);
}

class Translation {
  private readonly b = new Vec();
  private readonly temps = new Map<string, string>();
  private readonly scalars = new Map<string, { readonly expr: Expr; readonly local: string }>();

  constructor(
    private readonly name: string,
    private readonly addresses: Addresses,
    private readonly nest: Nest,
  ) {}

  kernel(temps: readonly Stmt[], value: Expr, out: number, at: string): ElementwiseKernel {
    for (const s of temps) {
      if (s.k !== "decl") return fail(`a ${s.k} statement in the loop`);
      this.temps.set(s.name, this.value(s.init));
    }
    const result = this.value(value);
    let body = `${this.b.stmts.join("\n")}\n(v128.store offset=${out} (i32.shl ${at} (i32.const 2)) ${result})`;
    // innermost first: the lanes' variable steps by 4, the others by 1; each loop runs at least once
    const { vars, counts } = this.nest;
    for (let k = vars.length - 1; k >= 0; k--) {
      const v = local(vars[k]);
      const step = k === vars.length - 1 ? 4 : 1;
      body = `(local.set ${v} (i32.const 0))
(loop $next_${k}
${body}
(local.set ${v} (i32.add (local.get ${v}) (i32.const ${step})))
(br_if $next_${k} (i32.lt_u (local.get ${v}) (i32.const ${counts[k]}))))`;
    }
    const params = [...this.scalars.values()];
    const wat = `(func (export "${this.name}") ${params.map((_, k) => `(param $s${k} f32)`).join(" ")}
  ${vars.map((v) => `(local ${local(v)} i32)`).join(" ")} ${params.map((p) => `(local ${p.local} v128)`).join(" ")} ${this.b.decls()}
  ${params.map((p, k) => `(local.set ${p.local} (f32x4.splat (local.get $s${k})))`).join("\n  ")}
  ${body})`;
    return { name: this.name, args: params.map((p) => p.expr), wat };
  }

  /** an expression as f32 lanes */
  private value(e: Expr): string {
    const x = this.lanes(e);
    return x.mask ? this.b.set(`(v128.bitselect ${splat(1)} ${splat(0)} ${x.wat})`) : x.wat;
  }

  /** an expression as a mask: JavaScript's truthiness (nonzero and not NaN) of a value */
  private mask(e: Expr): string {
    const x = this.lanes(e);
    return x.mask ? x.wat : this.b.set(`(v128.and (f32x4.ne ${x.wat} ${splat(0)}) (f32x4.eq ${x.wat} ${x.wat}))`);
  }

  private lanes(e: Expr): Lanes {
    const v = (wat: string): Lanes => ({ wat, mask: false });
    switch (e.k) {
      case "num":
        return v(splat(e.v));
      case "id":
        return v(this.temps.get(e.name) ?? this.scalar(e));
      case "index":
        return v(this.load(e));
      case "un":
        return e.op === "-"
          ? v(this.b.set(`(f32x4.neg ${this.value(e.a)})`))
          : { wat: this.b.set(`(v128.not ${this.mask(e.a)})`), mask: true };
      case "bin":
        return this.binary(e.op, e.a, e.b);
      case "cond":
        return v(this.b.set(`(v128.bitselect ${this.value(e.t)} ${this.value(e.f)} ${this.mask(e.c)})`));
      case "call":
        return v(this.call(e.fn, e.args));
      default:
        return fail(`a ${e.k} expression`);
    }
  }

  /** a scalar of the generated code (a local, Infinity): one argument, the same in every lane */
  private scalar(e: Expr & { k: "id" }): string {
    if (e.name === "Infinity" || e.name === "NaN") return splat(Number(e.name));
    if (this.addresses.has(e.name)) return fail(`${e.name}, an array, read as a number`);
    let s = this.scalars.get(e.name);
    if (!s) {
      s = { expr: e, local: `$S${this.scalars.size}` };
      this.scalars.set(e.name, s);
    }
    return `(local.get ${s.local})`;
  }

  private binary(op: string, a: Expr, b: Expr): Lanes {
    const arith: Record<string, string> = { "+": "add", "-": "sub", "*": "mul", "/": "div" };
    const compare: Record<string, string> = { ">": "gt", ">=": "ge", "<": "lt", "<=": "le", "===": "eq", "!==": "ne" };
    if (op in arith) return { wat: this.b.set(`(f32x4.${arith[op]} ${this.value(a)} ${this.value(b)})`), mask: false };
    if (op in compare)
      return { wat: this.b.set(`(f32x4.${compare[op]} ${this.value(a)} ${this.value(b)})`), mask: true };
    if (op === "&&" || op === "||")
      return { wat: this.b.set(`(v128.${op === "&&" ? "and" : "or"} ${this.mask(a)} ${this.mask(b)})`), mask: true };
    // x ** k for a small whole k: repeated products, as exact as the power in f32
    if (op === "**" && b.k === "num" && Number.isInteger(b.v) && b.v >= 1 && b.v <= 4) {
      const x = this.value(a);
      let p = x;
      for (let k = 1; k < b.v; k++) p = this.b.set(`(f32x4.mul ${p} ${x})`);
      return { wat: p, mask: false };
    }
    return fail(`the operator ${op}`);
  }

  /** Math's functions, and erf (the one function generated modules define, helpers.ts) */
  private call(fn: Expr, args: readonly Expr[]): string {
    const xs = args.map((a) => this.value(a));
    if (fn.k === "id")
      return fn.name === "erf" && xs.length === 1 ? erf4(this.b, xs[0]) : fail(`the function ${fn.name}`);
    if (fn.k !== "member" || fn.obj.k !== "id" || fn.obj.name !== "Math") return fail("a call of an expression");
    const name = fn.prop;
    const one = (f: string) =>
      xs.length === 1 ? this.b.set(`(f32x4.${f} ${xs[0]})`) : fail(`${name} of ${xs.length}`);
    switch (name) {
      case "exp":
        return exp4(this.b, xs[0]);
      case "log":
        return log4(this.b, xs[0]);
      case "tanh":
        return tanh4(this.b, xs[0]);
      case "sqrt":
      case "abs":
      case "floor":
      case "ceil":
      case "trunc":
        return one(name);
      case "max":
      case "min":
        // Math.max and f32x4.max agree on NaN (it wins) and on ±0 (+0 is larger)
        return xs.length ? xs.reduce((p, x) => this.b.set(`(f32x4.${name} ${p} ${x})`)) : fail(`${name}()`);
      case "sign": {
        // 1, −1, or x itself (±0, NaN), as Math.sign
        const x = xs[0];
        const neg = `(v128.bitselect ${splat(-1)} ${x} (f32x4.lt ${x} ${splat(0)}))`;
        return this.b.set(`(v128.bitselect ${splat(1)} ${neg} (f32x4.gt ${x} ${splat(0)}))`);
      }
      default:
        return fail(`the function Math.${name}`);
    }
  }

  /** arr[index]: four consecutive floats, or one float in every lane */
  private load(e: Expr & { k: "index" }): string {
    if (e.arr.k !== "id") return fail("an index into an expression");
    const base = this.addresses.get(e.arr.name) ?? fail(`${e.arr.name} is not in the kernels' memory`);
    const ix = index(e.i, this.nest);
    const at = `(i32.shl ${ix.wat} (i32.const 2))`;
    return ix.kind === "lanes" ? `(v128.load offset=${base} ${at})` : `(v128.load32_splat offset=${base} ${at})`;
  }
}

/**
 * An index expression of the loop variable at the first lane (i = 4q), and what it is at the
 * others: i + l (lanes), or the same (splat). Sums, a constant's multiples, i % m and ⌊i / k⌋
 * (written (i / k) | 0 or Math.floor(i / k)) keep one of the two when m and k are multiples of 4.
 */
function index(e: Expr, nest: Nest): Index {
  switch (e.k) {
    case "id": {
      // the innermost variable runs along the lanes from a multiple of 4; an outer one is the same in every lane
      const k = nest.vars.indexOf(e.name);
      if (k < 0) return fail(`the index ${e.name}`);
      return {
        wat: get(e.name),
        kind: k === nest.vars.length - 1 ? "lanes" : "splat",
        aligned: k === nest.vars.length - 1,
      };
    }
    case "num":
      return Number.isInteger(e.v) && e.v >= 0
        ? { wat: `(i32.const ${e.v})`, kind: "splat", aligned: e.v % 4 === 0 }
        : fail(`the index ${e.v}`);
    case "call":
      if (e.fn.k === "member" && e.fn.prop === "floor" && e.args.length === 1 && e.args[0].k === "bin")
        return quotient(e.args[0], nest);
      return fail("a call in an index");
    case "bin":
      break;
    default:
      return fail(`a ${e.k} in an index`);
  }
  const { op, a, b } = e;
  if (op === "|" && b.k === "num" && b.v === 0 && a.k === "bin") return quotient(a, nest);
  const [x, y] = [index(a, nest), index(b, nest)];
  const both = x.aligned && y.aligned;
  switch (op) {
    case "+":
      if (x.kind === "lanes" && y.kind === "lanes") return fail("i + i in an index");
      return { wat: `(i32.add ${x.wat} ${y.wat})`, kind: x.kind === "lanes" ? "lanes" : y.kind, aligned: both };
    case "-":
      if (y.kind === "lanes") return fail("− i in an index");
      return { wat: `(i32.sub ${x.wat} ${y.wat})`, kind: x.kind, aligned: both };
    case "*": {
      if (x.kind === "lanes" || y.kind === "lanes") {
        // a stride: only i · 1 keeps the lanes consecutive
        const k = x.kind === "lanes" ? b : a;
        const lanes = x.kind === "lanes" ? x : y;
        return k.k === "num" && k.v === 1 ? lanes : fail("a strided index");
      }
      return { wat: `(i32.mul ${x.wat} ${y.wat})`, kind: "splat", aligned: x.aligned || y.aligned };
    }
    case "%": {
      if (b.k !== "num") return fail("a remainder by a variable");
      if (x.kind === "splat")
        return { wat: `(i32.rem_u ${x.wat} ${y.wat})`, kind: "splat", aligned: x.aligned && b.v % 4 === 0 };
      return x.aligned && b.v % 4 === 0
        ? { wat: `(i32.rem_u ${x.wat} ${y.wat})`, kind: "lanes", aligned: true }
        : fail("a remainder that splits the lanes");
    }
    default:
      return fail(`the operator ${op} in an index`);
  }
}

/** ⌊a / k⌋: the same for the four lanes when a's lanes are consecutive from a multiple of 4 and 4 divides k */
function quotient(q: Expr & { k: "bin" }, nest: Nest): Index {
  if (q.op !== "/" || q.b.k !== "num" || !Number.isInteger(q.b.v) || q.b.v <= 0) return fail("a division in an index");
  const x = index(q.a, nest);
  if (x.kind === "lanes" && !(x.aligned && q.b.v % 4 === 0)) return fail("a quotient that splits the lanes");
  return { wat: `(i32.div_u ${x.wat} (i32.const ${q.b.v}))`, kind: "splat", aligned: false };
}
