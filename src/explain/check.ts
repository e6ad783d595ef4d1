import type { MathNode } from "mathjs";
import { Builder } from "../ir/build.js";
import { InternalError } from "../diagnostics/internal.js";
import { opInfo } from "../ops/index.js";
import { opOfMathFunction } from "../rules/operators.js";
import { broadcastShapes, sameShape, showShape, size, type Shape } from "../shape/shape.js";
import { isIndicator, meaningOf } from "./math.js";

/**
 * The numeric check of a derivation: every equation it prints, `lhs = s_1 = s_2 = …`, is
 * evaluated at a point — the truth (the unit's value, the adjoint the autodiff computes, the
 * rule's own vector–Jacobian product) against each printed side's display tree, built as IR
 * through each node's meaning and run by the ops' reference evaluators. A derivation with a
 * false line is refused (an internal error naming the line), never printed.
 */

/** relative agreement every printed equation must reach */
export const CHECK_TOLERANCE = 1e-9;

/**
 * below this, two numbers are both zero up to rounding: a sum that cancels to 1e-17 in one
 * order is 2e-17 in another (the check's points have entries of order 1)
 */
const ABSOLUTE_FLOOR = 1e-12;

/** A value at the point, with its shape (scalars: []). */
export interface Tensor {
  readonly shape: Shape;
  readonly value: Float64Array;
}

/** Evaluates display trees; `bind` gives a symbol key's value. Nodes are shared across trees. */
export class DisplayEvaluator {
  private readonly b = new Builder();
  private readonly values: Float64Array[] = [];
  private readonly ids = new WeakMap<MathNode, number>();

  constructor(private readonly bind: (key: string) => Tensor | undefined) {}

  value(n: MathNode): Tensor {
    const id = this.node(n);
    this.run();
    return { shape: this.b.shape(id), value: this.values[id] };
  }

  private readonly undefinedBelow = new Map<number, boolean>();

  /**
   * Does n read a value that is itself undefined at the point (NaN or ±∞ in some symbol's
   * value: √w of an untaken branch at w < 0)? A formula over an undefined value is undefined
   * there, not false.
   */
  readsUndefined(n: MathNode): boolean {
    const nodes = this.b.nodes;
    const visit = (id: number): boolean => {
      const have = this.undefinedBelow.get(id);
      if (have !== undefined) return have;
      const x = nodes[id];
      const r = x.op === "input" ? this.values[id].some((v) => !Number.isFinite(v)) : x.args.some((a) => visit(a));
      this.undefinedBelow.set(id, r);
      return r;
    };
    return visit(this.node(n));
  }

  private node(n: MathNode): number {
    const have = this.ids.get(n);
    if (have !== undefined) return have;
    const id = this.build(n);
    this.ids.set(n, id);
    return id;
  }

  private build(n: MathNode): number {
    const b = this.b;
    if (n.type === "ConstantNode") return b.constant(Number((n as unknown as { value: unknown }).value));
    if (n.type === "SymbolNode") {
      const key = (n as unknown as { name: string }).name;
      const t = this.bind(key);
      if (!t) throw new InternalError(`check: no value for the symbol ${key}`);
      return b.leaf("input", key, t.shape);
    }
    const args = (n as unknown as { args: MathNode[] }).args.map((a) => this.node(a));
    if (n.type === "OperatorNode") {
      const fn = (n as unknown as { fn: string }).fn;
      const op = opOfMathFunction[fn];
      if (!op) throw new InternalError(`check: no op for the operator ${fn}`);
      // Iverson's convention, as the lecture reads 1[z > 0]: a false bracket times anything,
      // even an undefined √w at w < 0, is 0
      const plain = b.elementwise(op, args);
      const bracket = bracketIn(n);
      return bracket ? b.elementwise("select", [this.node(bracket), plain, b.constant(0)]) : plain;
    }
    if (n.type === "ParenthesisNode") return args[0];
    const meaning = meaningOf(n);
    if (!meaning) throw new InternalError(`check: the display function ${n.toString()} has no meaning`);
    return meaning(b, args);
  }

  /** evaluate the nodes built since the last run, in order (each node's operands come before it) */
  private run(): void {
    const nodes = this.b.nodes;
    for (let i = this.values.length; i < nodes.length; i++) {
      const x = nodes[i];
      if (x.op === "const") this.values.push(Float64Array.of(x.value!));
      else if (x.op === "input") {
        const t = this.bind(x.name!);
        if (!t) throw new InternalError(`check: no value for the symbol ${x.name}`);
        this.values.push(t.value);
      } else {
        const def = opInfo(x.op);
        if (def.kind === "leaf") throw new InternalError(`check: leaf op ${x.op}`);
        this.values.push(
          def.evaluate(
            x,
            x.args.map((a) => this.values[a]),
            x.args.map((a) => nodes[a].shape),
          ),
        );
      }
    }
  }
}

/** an indicator 1[…] (a mask of select's derivative, a comparison): 0 or 1 */
function isBracket(n: MathNode): boolean {
  return isIndicator(n.type === "FunctionNode" ? (n as unknown as { fn: { name: string } }).fn.name : undefined);
}

/** a bracket that is a factor of n (of a product, or of a quotient's numerator), if any */
function bracketIn(n: MathNode): MathNode | undefined {
  if (isBracket(n)) return n;
  if (n.type !== "OperatorNode") return undefined;
  const fn = (n as unknown as { fn: string }).fn;
  const args = (n as unknown as { args: MathNode[] }).args;
  if (fn === "multiply") return bracketIn(args[0]) ?? bracketIn(args[1]);
  if (fn === "divide" || fn === "unaryMinus") return bracketIn(args[0]);
  return undefined;
}

/** v broadcast to shape (NumPy rules), or undefined when it does not broadcast there */
function broadcastTo(t: Tensor, shape: Shape): Float64Array | undefined {
  if (sameShape(t.shape, shape)) return t.value;
  const b = broadcastShapes(t.shape, shape);
  if (!b || !sameShape(b, shape)) return undefined;
  const out = new Float64Array(size(shape));
  const k = shape.length - t.shape.length;
  const strides: number[] = [];
  let st = 1;
  for (let d = t.shape.length - 1; d >= 0; d--) {
    strides[d] = t.shape[d] === 1 ? 0 : st;
    st *= t.shape[d];
  }
  for (let i = 0; i < out.length; i++) {
    let rem = i;
    let src = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      const idx = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      if (d >= k) src += idx * strides[d - k];
    }
    out[i] = t.value[src];
  }
  return out;
}

/**
 * Where `side` disagrees with `truth`: undefined when they agree to CHECK_TOLERANCE relative
 * (a side may be written without a broadcast the truth has: 0.0625 for a filled vector).
 * `strict`: a side that overflows where the truth is finite is a disagreement (at the check's
 * own random point; at a point the user gave, the formula may overflow in floating point).
 */
export function disagreement(truth: Tensor, side: Tensor, strict: boolean): string | undefined {
  const s = broadcastTo(side, truth.shape);
  if (!s) return `shape ${showShape(side.shape)} where ${showShape(truth.shape)} is meant`;
  let scale = 0;
  for (let i = 0; i < s.length; i++) {
    if (Number.isFinite(truth.value[i])) scale = Math.max(scale, Math.abs(truth.value[i]));
    if (Number.isFinite(s[i])) scale = Math.max(scale, Math.abs(s[i]));
  }
  for (let i = 0; i < s.length; i++) {
    const t = truth.value[i];
    const v = s[i];
    if (Object.is(t, v)) continue;
    if (!Number.isFinite(t) || !Number.isFinite(v)) {
      if (!strict || (Number.isNaN(t) && Number.isNaN(v))) continue;
      if (!Number.isFinite(t) && !Number.isFinite(v) && !Number.isNaN(t) && !Number.isNaN(v) && t === v) continue;
      return `element ${i}: ${v} where ${t} is meant`;
    }
    if (Math.abs(t - v) > CHECK_TOLERANCE * scale + ABSOLUTE_FLOOR)
      return `element ${i}: ${v} where ${t} is meant (relative difference ${(Math.abs(t - v) / scale).toExponential(2)})`;
  }
  return undefined;
}

/** An equation as the check sees it: its printed text, the truth and each side (undefined: notation). */
export interface CheckedEquation {
  readonly text: string;
  readonly truth: MathNode;
  readonly sides: readonly (MathNode | undefined)[];
}

/**
 * Check every equation at one point; throws an InternalError naming the first false line
 * (`where`: the point, for the message).
 */
export function checkEquations(
  equations: Iterable<CheckedEquation>,
  bind: (key: string) => Tensor | undefined,
  where: string,
  strict: boolean,
): void {
  const ev = new DisplayEvaluator(bind);
  for (const e of equations) {
    const truth = ev.value(e.truth);
    e.sides.forEach((side, k) => {
      if (!side) return;
      const wrong = disagreement(truth, ev.value(side), strict && !ev.readsUndefined(side));
      if (wrong) {
        const line = e.text.length > 400 ? `${e.text.slice(0, 400)} …` : e.text;
        throw new InternalError(
          `the derivation would print a false equation (side ${k + 1}, at ${where}: ${wrong}):\n  ${line}`,
        );
      }
    });
  }
}
