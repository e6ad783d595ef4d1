import type { ArgsParam, Problem } from "../diagnostics/diagnostic.js";
import type { Code } from "../diagnostics/catalogue.js";
import type { ShapeResult } from "../lang/builtins.js";
import type { Expr } from "../parse/ast.js";
import type { Shape } from "../shape/shape.js";
import type { Span } from "../source/span.js";
import type { TExpr } from "./program.js";

/** A checked expression, or null after an error (poisoned: its uses report nothing more), and the names it reads. */
export interface Checked {
  readonly expr: TExpr | null;
  readonly deps: Set<string>;
}

/** What an expression visitor in its own file sees of the checker (check.ts). */
export interface ExprContext {
  report<C extends Code>(code: C, span: Span, ...args: ArgsParam<C>): void;
  reportProblem(p: Problem, span: Span): void;
  /** the source text of a span */
  snippet(span: Span): string;
  /** a compile-time number (reported and undefined when it is not one) */
  constValue(e: Expr, what: string): number | undefined;
  expr(e: Expr): Checked;
  /** apply a shape rule to checked operands: the typed node, or null after reporting at `at` */
  apply(fn: string, args: Checked[], span: Span, rule: (a: readonly Shape[]) => ShapeResult, at: Span): Checked;
  /** is this expression integer data (an `: int` input, or an index of one)? Reports nothing. */
  isIntData(e: Expr): boolean;
  /** what kind of thing a name is in scope, if it is */
  known(name: string): string | undefined;
}
