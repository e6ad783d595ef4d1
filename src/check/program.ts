import type { Span } from "../source/span.js";
import type { Statics } from "../lang/builtins.js";
import type { Shape } from "../shape/shape.js";

/** A checked expression: names resolved, loops unrolled, every node's shape known. */
export type TExpr =
  | { readonly kind: "num"; readonly value: number; readonly shape: Shape; readonly span: Span }
  /** int: the name is integer data (an `: int` input), usable as indices and labels */
  | { readonly kind: "ref"; readonly name: string; readonly shape: Shape; readonly span: Span; readonly int?: boolean }
  /**
   * fn: a builtin's name, a binary operator ("+", "@", "<", ...), "neg", "'" (transpose) or "[]"
   * (indexing); statics: its compile-time arguments (axes, shapes, subscripts, an index's window);
   * int: an index of integer data is integer data too
   */
  | {
      readonly kind: "apply";
      readonly fn: string;
      readonly args: readonly TExpr[];
      readonly statics?: Statics;
      readonly shape: Shape;
      readonly span: Span;
      readonly int?: boolean;
    };

export interface Declared {
  readonly name: string;
  readonly shape: Shape;
  /** an `: int` input */
  readonly int?: boolean;
  readonly span: Span;
}

export interface Assignment {
  /** the program-wide name: the user's, or for a def's locals and results a hidden one (`h#3`) */
  readonly name: string;
  /** hidden values: the name the generated code and derivations show (a def's local), if any */
  readonly hint?: string;
  /** a def's local, argument or result: the user's own names take precedence when one node has both */
  readonly hidden?: boolean;
  readonly value: TExpr;
  readonly span: Span;
}

/** The flat program check() hands to lower(): declarations, assignments in order, the loss. */
export interface CheckedProgram {
  readonly file: string;
  readonly text: string;
  readonly params: readonly Declared[];
  readonly inputs: readonly Declared[];
  readonly assigns: readonly Assignment[];
  readonly loss: { readonly name?: string; readonly value: TExpr; readonly span: Span };
}
