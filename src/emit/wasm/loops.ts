/**
 * --target wasm --dtype f32: a loop nest of the chunk function as a WebAssembly SIMD kernel.
 * The input is the code the TypeScript emitter built for a node (an elementwise loop, a row's
 * softmax, a reduction), so each op's formula and loop nest are still written once, in its
 * definition; this file translates the small language of generated loops into WAT:
 *
 *   for (let v = 0; v < n; v++) { … }   innermost, n a multiple of 4: four lanes a step (v, v+1,
 *                                        v+2, v+3); any other loop: one step at a time
 *   const t = e;  let acc = e;          a v128 local each (outside the lanes' loop, all 4 lanes equal)
 *   a[i] = e;  a[i] += e;               v128.store along the lanes; one f32 outside them; in the
 *                                        lanes' loop, a[k] += e with k the same in every lane: four
 *                                        partial sums, added into a[k] when the loop ends
 *   acc = acc + e;  acc += e;           in the lanes' loop: four partial sums (maxima, minima),
 *   acc = Math.max(acc, e);              combined when the loop ends
 *   + − × /, comparisons, c ? a : b, Math's functions, erf      f32x4 instructions (vmath.ts)
 *
 * A read along the lanes must be four consecutive floats, or one float for all lanes (a bias
 * at i % m, a row statistic at ⌊i / k⌋, with m and k multiples of 4); every array must live in
 * the kernels' memory; a loop that stores into an array may read it only where it stores.
 * Anything else throws Untranslatable, and the loop stays TypeScript. Scalars computed in
 * TypeScript (a mean, a norm) are passed as arguments.
 */
import type { Expr, Stmt } from "../../code/syntax.js";
import { erf4, exp4, log4, splat, tanh4, Vec } from "./vmath.js";
import { horizontal } from "./wat.js";

export interface LoopKernel {
  readonly name: string;
  /** the scalars the generated code passes, in order */
  readonly args: readonly Expr[];
  readonly wat: string;
}

/** Where the arrays a loop reads and writes live: byte offset in the kernels' memory, by the name the code reads them through */
export type Addresses = ReadonlyMap<string, number>;

/** a loop that does not translate, and why (the loop stays TypeScript) */
export class Untranslatable extends Error {}

const fail = (why: string): never => {
  throw new Untranslatable(why);
};

/** Fewer elements along the lanes than this: a call costs more than the loop saves. */
const MIN_LANE_ELEMENTS = 16;
/** More values (v128 locals) than this in one kernel: the loop stays TypeScript. */
const MAX_LOCALS = 10_000;

/** an index into an array, as the lanes see it: 4 consecutive elements, or one for all */
interface Index {
  readonly wat: string;
  readonly kind: "lanes" | "splat";
  /** the index at the first lane is a multiple of 4 (so i % m, ⌊i / k⌋ keep the lanes together) */
  readonly aligned: boolean;
}

/** a translated value: f32 lanes, or a comparison's mask (all ones where true); `varying` when its lanes may differ */
interface Lanes {
  readonly wat: string;
  readonly mask: boolean;
  readonly varying: boolean;
}

/** a variable the loop code declares: its v128 local's name, and the lanes' loop it was declared in */
interface Declared {
  readonly local: string;
  readonly loop: number;
  varying: boolean;
}

/** the lanes' loop being translated: its variable, its partial accumulators, the arrays it touches */
interface LanesLoop {
  readonly id: number;
  readonly v: string;
  readonly accumulators: Map<string, { readonly op: "add" | "max" | "min"; readonly local: string }>;
  /** a[k] += e with k the same in every lane: the partial sums, and where they go */
  readonly sums: Map<
    string,
    { readonly arr: string; readonly local: string; readonly base: number; readonly index: string }
  >;
  readonly stores: Map<string, Set<string>>;
  readonly loads: Map<string, Set<string>>;
  /** variables declared outside the loop that it reads */
  readonly reads: Set<string>;
}

const local = (v: string) => `$L_${v}`;
const get = (v: string) => `(local.get ${local(v)})`;

/** The statements as a kernel named `name`, or Untranslatable. */
export function loopKernel(name: string, stmts: readonly Stmt[], addresses: Addresses): LoopKernel {
  return new Translation(name, addresses).kernel(stmts);
}

class Translation {
  private readonly b = new Vec();
  private readonly scalars = new Map<string, { readonly expr: Expr; readonly local: string }>();
  /** loop variables in scope: the lanes' one, or one the same in every lane */
  private readonly vars = new Map<string, "lanes" | "splat">();
  private readonly loopVars = new Set<string>();
  private declared = new Map<string, Declared>();
  private lanesLoop: LanesLoop | undefined;
  private loops = 0;
  private labels = 0;
  /** elements computed along the lanes, over all the kernel's lanes' loops */
  private laneElements = 0;
  /** how many times the statement being translated runs (the trip counts of its loops) */
  private trips = 1;

  constructor(
    private readonly name: string,
    private readonly addresses: Addresses,
  ) {}

  kernel(stmts: readonly Stmt[]): LoopKernel {
    // a variable declared for the code after these statements would be the kernel's alone
    const outside = stmts.find((s) => s.k === "decl");
    if (outside?.k === "decl") fail(`${outside.name}, declared for the code after the loops`);
    this.block(stmts);
    if (this.laneElements < MIN_LANE_ELEMENTS) fail(`${this.laneElements} elements along the lanes: too few to pay`);
    // V8 takes at most 50,000 locals in a function; a body this long gains nothing from SIMD anyway
    if (this.b.size > MAX_LOCALS) fail(`${this.b.size} values: too many for one function`);
    const params = [...this.scalars.values()];
    const wat = `(func (export "${this.name}") ${params.map((_, k) => `(param $s${k} f32)`).join(" ")}
  ${[...this.loopVars].map((v) => `(local ${local(v)} i32)`).join(" ")} ${params.map((p) => `(local ${p.local} v128)`).join(" ")} ${this.b.decls()}
  ${params.map((p, k) => `(local.set ${p.local} (f32x4.splat (local.get $s${k})))`).join("\n  ")}
  ${this.b.stmts.join("\n  ")})`;
    return { name: this.name, args: params.map((p) => p.expr), wat };
  }

  // ---- statements ---------------------------------------------------------------------------
  /** statements in a scope of their own (a block's `let` ends with it) */
  private block(stmts: readonly Stmt[]): void {
    const outer = this.declared;
    this.declared = new Map(outer);
    for (const s of stmts) this.stmt(s);
    this.declared = outer;
  }

  private stmt(s: Stmt): void {
    switch (s.k) {
      case "block":
        return this.block(s.body);
      case "comment":
        return;
      case "decl": {
        const x = this.value(s.init);
        const name = this.b.local();
        this.b.stmts.push(`(local.set ${name} ${x.wat})`);
        this.declared.set(s.name, { local: name, loop: this.lanesLoop?.id ?? -1, varying: x.varying });
        return;
      }
      case "assign":
        return s.target.k === "id" ? this.setVariable(s.target.name, s.op, s.value) : this.store(s);
      case "for":
        return this.loop(s);
      default:
        return fail(`a ${s.k} statement`);
    }
  }

  private loop(s: Stmt & { k: "for" }): void {
    if (s.step !== undefined || s.from.k !== "num" || s.from.v !== 0 || s.to.k !== "num")
      return fail("a loop that is not from 0 to a constant");
    const n = s.to.v;
    if (n <= 0) return; // it never runs
    if (this.vars.has(s.v)) return fail(`${s.v}, a loop variable, shadowed`);
    this.loopVars.add(s.v);
    const label = `$next${this.labels++}`;
    const lanes = !this.lanesLoop && n % 4 === 0 && !containsLoop(s.body);
    const before = this.b.stmts.length;
    const outerTrips = this.trips;
    this.trips *= lanes ? n / 4 : n;
    if (lanes)
      this.lanesLoop = {
        id: this.loops++,
        v: s.v,
        accumulators: new Map(),
        sums: new Map(),
        stores: new Map(),
        loads: new Map(),
        reads: new Set(),
      };
    this.vars.set(s.v, lanes ? "lanes" : "splat");
    this.block(s.body);
    this.vars.delete(s.v);
    this.trips = outerTrips;
    const body = this.b.stmts.splice(before);
    const v = local(s.v);
    const looped = `(local.set ${v} (i32.const 0))
(loop ${label}
  ${body.join("\n  ")}
  (local.set ${v} (i32.add (local.get ${v}) (i32.const ${lanes ? 4 : 1})))
  (br_if ${label} (i32.lt_u (local.get ${v}) (i32.const ${n}))))`;
    if (!lanes) {
      this.b.stmts.push(looped);
      return;
    }
    const l = this.lanesLoop!;
    this.lanesLoop = undefined;
    this.laneElements += n * outerTrips;
    // an array the loop stores into is stored at one place and read only there (no value crosses lanes)
    for (const a of l.sums.values()) if (l.loads.has(a.arr)) fail(`${a.arr} is read while the loop sums into it`);
    for (const [arr, at] of l.stores) {
      if (at.size > 1) fail(`${arr} stored at two places in one loop`);
      for (const read of l.loads.get(arr) ?? [])
        if (!at.has(read)) fail(`${arr} is read where the loop does not store`);
    }
    const identity = { add: 0, max: -Infinity, min: Infinity };
    for (const a of l.accumulators.values()) this.b.stmts.push(`(local.set ${a.local} ${splat(identity[a.op])})`);
    for (const a of l.sums.values()) this.b.stmts.push(`(local.set ${a.local} ${splat(0)})`);
    this.b.stmts.push(looped);
    // each variable, with its four partial results combined
    const combined = (op: "add" | "max" | "min", acc: string) => horizontal({ bytes: 4 }, acc, op);
    for (const [name, a] of l.accumulators) {
      const d = this.declared.get(name)!;
      const all = combined(a.op, a.local);
      this.b.stmts.push(`(local.set ${d.local} (f32x4.${a.op} (local.get ${d.local}) (f32x4.splat ${all})))`);
    }
    for (const a of l.sums.values()) {
      const at = `(i32.shl ${a.index} (i32.const 2))`;
      this.b.stmts.push(
        `(f32.store offset=${a.base} ${at} (f32.add (f32.load offset=${a.base} ${at}) ${combined("add", a.local)}))`,
      );
    }
  }

  /** name = value, name op= value: a variable of the loop code */
  private setVariable(name: string, op: string, value: Expr): void {
    const d = this.declared.get(name) ?? fail(`${name}, a variable outside the loops, assigned`);
    const l = this.lanesLoop;
    if (l && d.loop !== l.id) return this.accumulate(l, name, d, op, value);
    const x = this.value(op === "=" ? value : { k: "bin", op: op[0] as "+", a: { k: "id", name }, b: value });
    this.b.stmts.push(`(local.set ${d.local} ${x.wat})`);
    d.varying ||= x.varying;
  }

  /** in the lanes' loop, acc = acc + e (+=, Math.max(acc, e), Math.min): four partial results */
  private accumulate(l: LanesLoop, name: string, d: Declared, op: string, value: Expr): void {
    const self = (e: Expr) => e.k === "id" && e.name === name;
    let kind: "add" | "max" | "min" | undefined;
    let term: Expr | undefined;
    if (op === "+=") [kind, term] = ["add", value];
    else if (op === "=" && value.k === "bin" && value.op === "+" && (self(value.a) || self(value.b)))
      [kind, term] = ["add", self(value.a) ? value.b : value.a];
    else if (op === "=" && value.k === "call" && value.fn.k === "member" && value.args.length === 2) {
      const f = value.fn.obj.k === "id" && value.fn.obj.name === "Math" ? value.fn.prop : "";
      const [a, b] = value.args;
      if ((f === "max" || f === "min") && (self(a) || self(b))) [kind, term] = [f, self(a) ? b : a];
    }
    // read before in the loop, it would be a partial result there
    if (!kind || !term || mentions(term, name) || l.reads.has(name))
      return fail(`${name} carried from one element to the next`);
    const seen = l.accumulators.get(name);
    if (seen && seen.op !== kind) return fail(`${name} accumulated two ways`);
    const acc = seen?.local ?? this.b.local();
    l.accumulators.set(name, { op: kind, local: acc });
    this.b.stmts.push(`(local.set ${acc} (f32x4.${kind} (local.get ${acc}) ${this.value(term).wat}))`);
  }

  /** a[i] = e (or op=): along the lanes, or one element */
  private store(s: Stmt & { k: "assign" }): void {
    if (s.target.k !== "index" || s.target.arr.k !== "id") return fail("a store into an expression");
    const arr = s.target.arr.name;
    const base = this.addresses.get(arr) ?? fail(`${arr} is not in the kernels' memory`);
    const ix = this.index(s.target.i);
    const l = this.lanesLoop;
    if (l && ix.kind !== "lanes") {
      if (s.op !== "+=") return fail("a store that is not along the lanes");
      return this.sumInto(l, arr, base, ix, s.value);
    }
    const ops: Record<string, string> = { "+=": "add", "-=": "sub", "*=": "mul", "/=": "div" };
    let x = this.value(s.value);
    if (s.op !== "=") x = this.lanesOf(`(f32x4.${ops[s.op]} ${this.load(arr, ix)} ${x.wat})`, x.varying);
    if (l) (l.stores.get(arr) ?? l.stores.set(arr, new Set()).get(arr)!).add(ix.wat);
    const at = `(i32.shl ${ix.wat} (i32.const 2))`;
    this.b.stmts.push(
      ix.kind === "lanes"
        ? `(v128.store offset=${base} ${at} ${x.wat})`
        : `(f32.store offset=${base} ${at} (f32x4.extract_lane 0 ${x.wat}))`,
    );
  }

  /**
   * in the lanes' loop, a[k] += e with k the same in every lane (a row's sum into its element):
   * four partial sums, added into a[k] when the loop ends
   */
  private sumInto(l: LanesLoop, arr: string, base: number, ix: Index, value: Expr): void {
    const key = `${arr} ${ix.wat}`;
    const seen = l.sums.get(key);
    const acc = seen?.local ?? this.b.local();
    if (!seen) l.sums.set(key, { arr, local: acc, base, index: ix.wat });
    (l.stores.get(arr) ?? l.stores.set(arr, new Set()).get(arr)!).add(ix.wat);
    this.b.stmts.push(`(local.set ${acc} (f32x4.add (local.get ${acc}) ${this.value(value).wat}))`);
  }

  // ---- values -------------------------------------------------------------------------------
  private lanesOf(wat: string, varying: boolean): Lanes {
    return { wat: this.b.set(wat), mask: false, varying };
  }

  /** an expression as f32 lanes */
  private value(e: Expr): Lanes {
    const x = this.lanes(e);
    return x.mask ? this.lanesOf(`(v128.bitselect ${splat(1)} ${splat(0)} ${x.wat})`, x.varying) : x;
  }

  /** an expression as a mask: JavaScript's truthiness (nonzero and not NaN) of a value */
  private mask(e: Expr): Lanes {
    const x = this.lanes(e);
    if (x.mask) return x;
    const wat = `(v128.and (f32x4.ne ${x.wat} ${splat(0)}) (f32x4.eq ${x.wat} ${x.wat}))`;
    return { wat: this.b.set(wat), mask: true, varying: x.varying };
  }

  private lanes(e: Expr): Lanes {
    switch (e.k) {
      case "num":
        // the TypeScript target multiplies by 1e39 in doubles; in f32 it would be ∞ (and 0 · ∞ NaN)
        if (Number.isFinite(e.v) && !Number.isFinite(Math.fround(e.v))) return fail(`${e.v}, beyond f32's range`);
        return { wat: splat(e.v), mask: false, varying: false };
      case "id":
        return this.variable(e);
      case "index": {
        if (e.arr.k !== "id") return fail("an index into an expression");
        const ix = this.index(e.i);
        return { wat: this.load(e.arr.name, ix), mask: false, varying: ix.kind === "lanes" };
      }
      case "un": {
        if (e.op === "-") {
          const x = this.value(e.a);
          return this.lanesOf(`(f32x4.neg ${x.wat})`, x.varying);
        }
        const m = this.mask(e.a);
        return { wat: this.b.set(`(v128.not ${m.wat})`), mask: true, varying: m.varying };
      }
      case "bin":
        return this.binary(e.op, e.a, e.b);
      case "cond": {
        const [t, f, c] = [this.value(e.t), this.value(e.f), this.mask(e.c)];
        return this.lanesOf(`(v128.bitselect ${t.wat} ${f.wat} ${c.wat})`, t.varying || f.varying || c.varying);
      }
      case "call":
        return this.call(e.fn, e.args);
      default:
        return fail(`a ${e.k} expression`);
    }
  }

  /** a name read as a number: a declared variable, a loop variable (an iota), or a scalar of the generated code (an argument) */
  private variable(e: Expr & { k: "id" }): Lanes {
    const d = this.declared.get(e.name);
    if (d) {
      const l = this.lanesLoop;
      if (l?.accumulators.has(e.name)) fail(`${e.name} read while it is accumulated`);
      if (l && d.loop !== l.id) l.reads.add(e.name);
      return { wat: `(local.get ${d.local})`, mask: false, varying: d.varying };
    }
    const kind = this.vars.get(e.name);
    if (kind === "lanes")
      return this.lanesOf(
        `(f32x4.convert_i32x4_u (i32x4.add (i32x4.splat ${get(e.name)}) (v128.const i32x4 0 1 2 3)))`,
        true,
      );
    if (kind === "splat") return this.lanesOf(`(f32x4.splat (f32.convert_i32_u ${get(e.name)}))`, false);
    if (e.name === "Infinity" || e.name === "NaN") return { wat: splat(Number(e.name)), mask: false, varying: false };
    if (this.addresses.has(e.name)) return fail(`${e.name}, an array, read as a number`);
    if (this.loopVars.has(e.name)) return fail(`${e.name}, a loop variable, read after its loop`);
    let s = this.scalars.get(e.name);
    if (!s) {
      s = { expr: e, local: `$S${this.scalars.size}` };
      this.scalars.set(e.name, s);
    }
    return { wat: `(local.get ${s.local})`, mask: false, varying: false };
  }

  private binary(op: string, a: Expr, b: Expr): Lanes {
    const arith: Record<string, string> = { "+": "add", "-": "sub", "*": "mul", "/": "div" };
    const compare: Record<string, string> = { ">": "gt", ">=": "ge", "<": "lt", "<=": "le", "===": "eq", "!==": "ne" };
    const both = (f: (e: Expr) => Lanes, wat: (x: string, y: string) => string, mask: boolean): Lanes => {
      const [x, y] = [f(a), f(b)];
      return { wat: this.b.set(wat(x.wat, y.wat)), mask, varying: x.varying || y.varying };
    };
    if (op in arith)
      return both(
        (e) => this.value(e),
        (x, y) => `(f32x4.${arith[op]} ${x} ${y})`,
        false,
      );
    if (op in compare)
      return both(
        (e) => this.value(e),
        (x, y) => `(f32x4.${compare[op]} ${x} ${y})`,
        true,
      );
    if (op === "&&" || op === "||")
      return both(
        (e) => this.mask(e),
        (x, y) => `(v128.${op === "&&" ? "and" : "or"} ${x} ${y})`,
        true,
      );
    // x ** k for a small whole k: repeated products
    if (op === "**" && b.k === "num" && Number.isInteger(b.v) && b.v >= 1 && b.v <= 4) {
      const x = this.value(a);
      let p = x.wat;
      for (let k = 1; k < b.v; k++) p = this.b.set(`(f32x4.mul ${p} ${x.wat})`);
      return { wat: p, mask: false, varying: x.varying };
    }
    return fail(`the operator ${op}`);
  }

  /** Math's functions, and erf (the one function generated modules define, helpers.ts) */
  private call(fn: Expr, args: readonly Expr[]): Lanes {
    const xs = args.map((a) => this.value(a));
    const varying = xs.some((x) => x.varying);
    const v = (wat: string): Lanes => ({ wat, mask: false, varying });
    if (fn.k === "id")
      return fn.name === "erf" && xs.length === 1 ? v(erf4(this.b, xs[0].wat)) : fail(`the function ${fn.name}`);
    if (fn.k !== "member" || fn.obj.k !== "id" || fn.obj.name !== "Math") return fail("a call of an expression");
    const name = fn.prop;
    const one = (f: (b: Vec, x: string) => string) =>
      xs.length === 1 ? v(f(this.b, xs[0].wat)) : fail(`Math.${name} of ${xs.length}`);
    const instr = (op: string) => (b: Vec, x: string) => b.set(`(f32x4.${op} ${x})`);
    switch (name) {
      case "exp":
        return one(exp4);
      case "log":
        return one(log4);
      case "tanh":
        return one(tanh4);
      case "sqrt":
      case "abs":
      case "floor":
      case "ceil":
      case "trunc":
        return one(instr(name));
      case "max":
      case "min":
        // Math.max and f32x4.max agree on NaN (it wins) and on ±0 (+0 is larger)
        return xs.length
          ? v(xs.map((x) => x.wat).reduce((p, x) => this.b.set(`(f32x4.${name} ${p} ${x})`)))
          : fail(`Math.${name}()`);
      case "sign":
        // 1, −1, or x itself (±0, NaN), as Math.sign
        return one((b, x) => {
          const neg = `(v128.bitselect ${splat(-1)} ${x} (f32x4.lt ${x} ${splat(0)}))`;
          return b.set(`(v128.bitselect ${splat(1)} ${neg} (f32x4.gt ${x} ${splat(0)}))`);
        });
      default:
        return fail(`the function Math.${name}`);
    }
  }

  /** arr[index]: four consecutive floats, or one float in every lane */
  private load(arr: string, ix: Index): string {
    const base = this.addresses.get(arr) ?? fail(`${arr} is not in the kernels' memory`);
    const l = this.lanesLoop;
    if (l) (l.loads.get(arr) ?? l.loads.set(arr, new Set()).get(arr)!).add(ix.wat);
    const at = `(i32.shl ${ix.wat} (i32.const 2))`;
    return ix.kind === "lanes" ? `(v128.load offset=${base} ${at})` : `(v128.load32_splat offset=${base} ${at})`;
  }

  /**
   * An index expression of the loop variables at the first lane (the lanes' variable v = 4q),
   * and what it is at the others: v + l (lanes), or the same (splat). Sums, a constant's
   * multiples, i % m and ⌊i / k⌋ (written (i / k) | 0 or Math.floor(i / k)) keep one of the two
   * when m and k are multiples of 4.
   */
  private index(e: Expr): Index {
    switch (e.k) {
      case "id": {
        const kind = this.vars.get(e.name) ?? fail(`the index ${e.name}`);
        return { wat: get(e.name), kind, aligned: kind === "lanes" };
      }
      case "num":
        return Number.isInteger(e.v) && e.v >= 0
          ? { wat: `(i32.const ${e.v})`, kind: "splat", aligned: e.v % 4 === 0 }
          : fail(`the index ${e.v}`);
      case "call":
        if (e.fn.k === "member" && e.fn.prop === "floor" && e.args.length === 1 && e.args[0].k === "bin")
          return this.quotient(e.args[0]);
        return fail("a call in an index");
      case "bin":
        break;
      default:
        return fail(`a ${e.k} in an index`);
    }
    const { op, a, b } = e;
    if (op === "|" && b.k === "num" && b.v === 0 && a.k === "bin") return this.quotient(a);
    const [x, y] = [this.index(a), this.index(b)];
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
          return k.k === "num" && k.v === 1 ? (x.kind === "lanes" ? x : y) : fail("a strided index");
        }
        return { wat: `(i32.mul ${x.wat} ${y.wat})`, kind: "splat", aligned: x.aligned || y.aligned };
      }
      case "%": {
        if (b.k !== "num") return fail("a remainder by a variable");
        const wat = `(i32.rem_u ${x.wat} ${y.wat})`;
        if (x.kind === "splat") return { wat, kind: "splat", aligned: x.aligned && b.v % 4 === 0 };
        return x.aligned && b.v % 4 === 0
          ? { wat, kind: "lanes", aligned: true }
          : fail("a remainder that splits the lanes");
      }
      default:
        return fail(`the operator ${op} in an index`);
    }
  }

  /** ⌊a / k⌋: the same for the four lanes when a's lanes are consecutive from a multiple of 4 and 4 divides k */
  private quotient(q: Expr & { k: "bin" }): Index {
    if (q.op !== "/" || q.b.k !== "num" || !Number.isInteger(q.b.v) || q.b.v <= 0)
      return fail("a division in an index");
    const x = this.index(q.a);
    if (x.kind === "lanes" && !(x.aligned && q.b.v % 4 === 0)) return fail("a quotient that splits the lanes");
    return { wat: `(i32.div_u ${x.wat} (i32.const ${q.b.v}))`, kind: "splat", aligned: false };
  }
}

/** whether statements hold a loop (at any depth) */
function containsLoop(stmts: readonly Stmt[]): boolean {
  return stmts.some(
    (s) => s.k === "for" || s.k === "for-chunks" || ((s.k === "block" || s.k === "if") && containsLoop(s.body)),
  );
}

/** whether an expression reads a name */
function mentions(e: Expr, name: string): boolean {
  switch (e.k) {
    case "id":
      return e.name === name;
    case "num":
    case "str":
      return false;
    case "bin":
      return mentions(e.a, name) || mentions(e.b, name);
    case "un":
      return mentions(e.a, name);
    case "call":
      return mentions(e.fn, name) || e.args.some((a) => mentions(a, name));
    case "cond":
      return mentions(e.c, name) || mentions(e.t, name) || mentions(e.f, name);
    case "index":
      return mentions(e.arr, name) || mentions(e.i, name);
    case "member":
      return mentions(e.obj, name);
  }
}
