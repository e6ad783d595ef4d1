import type { Problem } from "../diagnostics/diagnostic.js";
import type { Builder } from "../ir/build.js";
import type { Shape } from "../shape/shape.js";

/** A shape rule's verdict: the result shape, or the diagnostic to report. */
export type ShapeResult = Shape | Problem;

/** A compile-time argument's value: axes, shapes, slopes, flags, einsum subscripts. */
export type StaticValue = number | boolean | string | readonly number[];
export type Statics = Readonly<Record<string, StaticValue>>;

/**
 * One parameter of a builtin. Tensors are computed values; every other kind is a compile-time
 * constant (numbers, consts, loop variables, lists of them, strings, true/false) that shapes
 * the op. A variadic tensor parameter takes every remaining positional argument.
 */
export interface Param {
  readonly name: string;
  /** ints: a list (or one integer); shape: a list (or one integer) of positive dimensions; count: one positive integer */
  readonly kind: "tensor" | "indices" | "int" | "count" | "ints" | "shape" | "axes" | "number" | "bool" | "string";
  readonly default?: StaticValue | null;
  readonly variadic?: boolean;
}

/**
 * The surface language's functions. Format: name -> { params, shape: operand shapes and
 * statics -> result shape or error, lower: emit IR nodes for it }. `check` binds arguments and
 * uses shape; `lower` uses lower. Adding a function = adding a row here (plus an IR op in
 * src/ops/ if it is a new primitive: docs/architecture.md, "How to add").
 */
export interface Builtin {
  readonly signature: string;
  readonly params: readonly Param[];
  readonly shape: (args: readonly Shape[], s: Statics) => ShapeResult;
  readonly lower: (b: Builder, args: readonly number[], s: Statics) => number;
}
