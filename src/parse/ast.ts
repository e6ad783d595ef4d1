import type { Span } from "../source/span.js";

/** A name, possibly indexed: `h` or `h{k-1}` (which names h_0, h_1, ... after unrolling). */
export interface NameRef {
  readonly name: string;
  readonly index?: Expr;
  readonly span: Span;
}

/** `name=value` in a call, after the positional arguments */
export interface KeywordArg {
  readonly name: string;
  readonly nameSpan: Span;
  readonly value: Expr;
}

/** One axis of `x[...]`: an index, or a slice start:stop:step (each part optional). */
export type IndexItem =
  | { readonly kind: "at"; readonly value: Expr; readonly span: Span }
  | { readonly kind: "slice"; readonly start?: Expr; readonly stop?: Expr; readonly step?: Expr; readonly span: Span };

export type CompareOp = "<" | "<=" | ">" | ">=" | "==" | "!=";

export type Expr =
  | { readonly kind: "number"; readonly value: number; readonly span: Span }
  | { readonly kind: "string"; readonly value: string; readonly span: Span }
  | { readonly kind: "list"; readonly items: readonly Expr[]; readonly span: Span }
  | { readonly kind: "index"; readonly target: Expr; readonly items: readonly IndexItem[]; readonly span: Span }
  | {
      readonly kind: "compare";
      readonly op: CompareOp;
      readonly left: Expr;
      readonly right: Expr;
      readonly opSpan: Span;
      readonly span: Span;
    }
  | { readonly kind: "name"; readonly ref: NameRef; readonly span: Span }
  | {
      readonly kind: "call";
      readonly callee: string;
      readonly calleeSpan: Span;
      readonly args: readonly Expr[];
      readonly kwargs: readonly KeywordArg[];
      readonly span: Span;
    }
  | {
      readonly kind: "binary";
      readonly op: "+" | "-" | "*" | "/" | "^" | "@";
      readonly left: Expr;
      readonly right: Expr;
      readonly opSpan: Span;
      readonly span: Span;
    }
  | { readonly kind: "neg"; readonly operand: Expr; readonly span: Span }
  | { readonly kind: "transpose"; readonly operand: Expr; readonly span: Span };

/** A def's parameter, with its default value (an expression over consts) if it has one. */
export interface DefParam {
  readonly name: string;
  readonly span: Span;
  readonly default?: Expr;
}

export interface Decl {
  readonly target: NameRef;
  readonly dims: readonly Expr[];
  /** `: int` after the shape: integer data (indices, labels), an Int32Array in the module */
  readonly int?: Span;
  readonly span: Span;
}

export type Stmt =
  | {
      readonly kind: "const";
      readonly name: string;
      readonly nameSpan: Span;
      readonly value: Expr;
      readonly span: Span;
    }
  | { readonly kind: "declare"; readonly role: "param" | "input"; readonly decls: readonly Decl[]; readonly span: Span }
  | { readonly kind: "assign"; readonly target: NameRef; readonly value: Expr; readonly span: Span }
  | {
      readonly kind: "loss";
      readonly target?: NameRef;
      readonly value: Expr;
      readonly keywordSpan: Span;
      readonly span: Span;
    }
  /** `a, b{t} = f(...)`: the results of a def that returns several values */
  | { readonly kind: "unpack"; readonly targets: readonly NameRef[]; readonly value: Expr; readonly span: Span }
  /** `def f(x, slope=0.1) = expr`, or a body of statements ending in `return` */
  | {
      readonly kind: "def";
      readonly name: string;
      readonly nameSpan: Span;
      readonly params: readonly DefParam[];
      readonly body: readonly Stmt[];
      readonly span: Span;
    }
  | { readonly kind: "return"; readonly values: readonly Expr[]; readonly span: Span }
  | {
      readonly kind: "for";
      readonly variable: string;
      readonly variableSpan: Span;
      readonly from: Expr;
      readonly to: Expr;
      readonly body: readonly Stmt[];
      readonly span: Span;
    };

export interface Program {
  readonly statements: readonly Stmt[];
  /** a `loss` statement failed to parse (so "no loss" would be a cascade) */
  readonly failedLoss: boolean;
}
