import type { MathNode } from "mathjs";
import type { CheckedProgram, TExpr } from "../check/program.js";
import { InternalError } from "../diagnostics/internal.js";
import { binaryOps, builtins, lowerIndex, type IndexSpec } from "../lang/builtins.js";
import type { Statics } from "../lang/types.js";
import { computedDef, isOp, opInfo } from "../ops/index.js";
import { Builder } from "../ir/build.js";
import { apply, num, written } from "./math.js";

/**
 * The model as the student wrote it (#12): the source's expressions — builtin calls such as
 * leaky_relu(W x) or bce(p, y), `@`, indexing — as display trees, each call printed as written
 * and computed by the builtin's own lowering (so the numeric check holds the page to the
 * program). The units that follow decompose the same values into elementary ops.
 */
export function sourceExpr(e: TExpr, program: CheckedProgram, ref: (name: string) => MathNode): MathNode {
  const go = (x: TExpr): MathNode => sourceExpr(x, program, ref);
  if (e.kind === "num") return num(e.value);
  if (e.kind === "ref") return ref(e.name);
  const args = e.args.map(go);
  const arith: Readonly<Record<string, "add" | "sub" | "mul" | "div" | "pow">> = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "div",
    "^": "pow",
  };
  if (e.fn === "neg") return apply("neg", args);
  if (e.fn in arith) return apply(arith[e.fn], args);
  const names = e.args.map((_, k) => `a${k}`);
  const [a, b] = names.map((n) => `{${n}}`);
  if (e.fn in binaryOps) {
    const lower = binaryOps[e.fn].lower;
    return written(binaryTex(e.fn, a, b), names, args, e.shape, (bd, [x, y]) => lower(bd, x, y));
  }
  if (e.fn === "'")
    return written(`${a}^{\\top}`, names, args, e.shape, (bd, ids) => builtins.transpose.lower(bd, ids, {}));
  if (e.fn === "[]") {
    const text = program.text.slice(e.args[0].span.end, e.span.end).replace(/\s+/g, "");
    return written(`${a}_{${indexTex(text)}}`, names, args, e.shape, (bd, [x]) =>
      lowerIndex(bd, x, e.statics as unknown as IndexSpec),
    );
  }
  const f = builtins[e.fn];
  if (!f) throw new InternalError(`explain: no builtin '${e.fn}'`);
  const statics = e.statics ?? {};
  // the arguments a student wrote: a compile-time argument at its default is not printed
  const sameValue = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  const shown = Object.fromEntries(
    Object.entries(statics).filter(([k, v]) => !sameValue(f.params.find((q) => q.name === k)?.default, v)),
  );
  const tex = singleOpTex(e, names) ?? callTex(e.fn, names, shown);
  return written(tex, names, args, e.shape, (bd, ids) => f.lower(bd, ids, statics));
}

/**
 * A call that lowers to one IR op on its operands as they are (softmax_cross_entropy(z, y) is
 * the op sce) prints with that op's notation (CE(z, y)); found by lowering it once on stand-ins.
 */
function singleOpTex(e: Extract<TExpr, { kind: "apply" }>, names: readonly string[]): string | undefined {
  const b = new Builder();
  const ids = e.args.map((x, k) => b.leaf("input", names[k], x.shape));
  const out = b.nodes[builtins[e.fn].lower(b, ids, e.statics ?? {})];
  const def = isOp(out.op) ? computedDef(out.op) : undefined;
  if (!def?.tex || b.nodes.length !== ids.length + 1 || out.args.some((a, k) => a !== ids[k])) return undefined;
  // an op with attributes (axes, a target shape) says more than its notation shows: max over axis 1 is no \max W
  if (out.args.length !== ids.length || out.attrs !== undefined || out.target !== undefined) return undefined;
  const tex =
    typeof def.tex === "function" ? def.tex({ shape: out.shape, operands: e.args.map((x) => x.shape) }) : def.tex;
  return def.args.reduce((t, arg, k) => t.replaceAll(`{${arg}}`, `{${names[k]}}`), tex);
}

/** a binary operator of the language as mathematics */
function binaryTex(fn: string, a: string, b: string): string {
  const compare: Readonly<Record<string, string>> = {
    ">": ">",
    ">=": "\\ge",
    "<": "<",
    "<=": "\\le",
    "==": "=",
    "!=": "\\ne",
  };
  if (fn === "@") return `${a} ${b}`;
  if (fn in compare) return `\\mathbf{1}\\left[${a} ${compare[fn]} ${b}\\right]`;
  throw new InternalError(`explain: no TeX for the operator '${fn}'`);
}

/** an index as written, [0:3] or [:, 1], its characters safe in math mode */
function indexTex(text: string): string {
  const safe = text.replace(/[^0-9:,\-[\]]/g, "");
  return `\\left[${safe.slice(1, -1).replace(/,/g, ",\\,")}\\right]`;
}

/** a builtin call: an elementwise op's own notation (σ(z), log x), a few classics, else name(args; statics) */
function callTex(fn: string, names: readonly string[], statics: Statics): string {
  const holes = names.map((n) => `{${n}}`);
  const plain = Object.keys(statics).length === 0;
  if (plain && isOp(fn) && opInfo(fn).kind === "elementwise" && opInfo(fn).args.length === names.length) {
    const tex = computedDef(fn)?.tex;
    if (typeof tex === "string") return opInfo(fn).args.reduce((t, arg, k) => t.replaceAll(`{${arg}}`, holes[k]), tex);
  }
  if (plain && fn === "sum" && names.length === 1) return `\\textstyle\\sum ${holes[0]}`;
  if (plain && fn === "dot") return `${holes[0]}^{\\top} ${holes[1]}`;
  if (plain && fn === "transpose") return `${holes[0]}^{\\top}`;
  const extra = Object.entries(statics).map(([k, v]) => `\\text{${k.replace(/_/g, "\\_")}} = ${staticTex(v)}`);
  return `\\operatorname{${fn.replace(/_/g, "\\_")}}\\left(${[...holes, ...extra].join(", ")}\\right)`;
}

function staticTex(v: Statics[string]): string {
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return `\\text{${v}}`;
  // an einsum spec as typed (typewriter type prints ">" as itself; text mode in OT1 would not)
  if (typeof v === "string") return `\\texttt{"${v.replace(/[^A-Za-z0-9,>-]/g, "")}"}`;
  return `[${v.join(", ")}]`;
}
