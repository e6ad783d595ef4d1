import type { HintFor, Reporter } from "../diagnostics/diagnostic.js";
import { join, type Span } from "../source/span.js";
import type { CompareOp, Decl, DefParam, Expr, IndexItem, KeywordArg, NameRef, Program, Stmt } from "./ast.js";
import { lexWithErrors } from "./lexer.js";
import { describe, keywords, type Token, type TokenKind } from "./tokens.js";

/** Thrown inside the parser after a syntax error has been reported; caught at statement level. */
class Bail {}

/** Expressions nest at most this deep, so hostile input cannot overflow the stack. */
const MAX_DEPTH = 200;

const compareOps: readonly CompareOp[] = ["<", "<=", ">", ">=", "==", "!="];

/** The syntax tree of a source; syntax errors go to `reporter`. */
export function parse(text: string, reporter: Reporter): Program {
  const { tokens, errors } = lexWithErrors(text, reporter);
  return new Parser(tokens, errors, reporter).program();
}

/**
 * Recursive descent over the grammar in docs/language.md: one method per rule. Each statement
 * that fails is reported and skipped up to the end of its line, so one run reports every syntax error.
 */
class Parser {
  private pos = 0;
  private depth = 0;
  private statementStart = 0;
  private failedLoss = false;
  /** brackets opened in the current statement, innermost last */
  private readonly open: Token[] = [];

  constructor(
    private readonly tokens: readonly Token[],
    /** offsets of lexical errors */
    private readonly lexErrors: readonly number[],
    private readonly reporter: Reporter,
  ) {}

  /** program := statement*, with a stray '}' reported and skipped */
  program(): Program {
    const statements: Stmt[] = [];
    for (;;) {
      statements.push(...this.block());
      if (this.at("eof")) break;
      // a '}' with no open block
      this.reporter.report("E002", this.peek().span, {
        expected: "a statement",
        found: describe(this.peek()),
        hint: { kind: "strayBrace" },
      });
      this.next();
    }
    return { statements, failedLoss: this.failedLoss };
  }

  /** a lexical error in this statement already explains what follows */
  private lexErrorHere() {
    return this.lexErrors.some((o) => o >= this.statementStart && o <= this.peek().span.end);
  }

  private peek(k = 0): Token {
    return this.tokens[Math.min(this.pos + k, this.tokens.length - 1)];
  }
  private at(kind: TokenKind, text?: string) {
    return this.peek().kind === kind && (text === undefined || this.peek().text === text);
  }
  private next(): Token {
    return this.tokens[Math.min(this.pos++, this.tokens.length - 1)];
  }

  private fail(expected: string, hint?: HintFor<"E002">): never {
    if (!this.lexErrorHere()) {
      if ((this.at("eof") || this.at("newline")) && this.open.length) {
        const o = this.open[this.open.length - 1];
        this.reporter.report("E004", o.span, { open: o.text, close: o.text === "(" ? ")" : "]" });
      } else
        this.reporter.report("E002", this.peek().span, {
          expected,
          found: describe(this.peek()),
          ...(hint ? { hint } : {}),
        });
    }
    throw new Bail();
  }
  /** brackets opened in the current statement, innermost last */

  private expect(kind: TokenKind, expected = `'${kind}'`, hint?: HintFor<"E002">): Token {
    if (!this.at(kind)) this.fail(expected, hint);
    return this.next();
  }
  private expectName(what: string): Token {
    if (!this.at("name") || keywords.has(this.peek().text)) this.fail(what);
    return this.next();
  }

  private nameRef(allowIndex: boolean): NameRef {
    const t = this.expectName("a name");
    if (allowIndex && this.at("{")) {
      this.next();
      const index = this.expr();
      const close = this.expect("}", "'}'");
      return { name: t.text, index, span: join(t.span, close.span) };
    }
    return { name: t.text, span: t.span };
  }

  private atCompare() {
    return compareOps.some((k) => this.at(k));
  }
  // expr := additive (compare additive)?   (comparisons bind more loosely than + and -, and do not chain)
  private expr(allowIndex = true): Expr {
    const left = this.additive(allowIndex);
    if (!this.atCompare()) return left;
    const op = this.next();
    const right = this.additive(allowIndex);
    if (this.atCompare()) this.fail("end of the comparison", { kind: "chained" });
    return {
      kind: "compare",
      op: op.kind as CompareOp,
      left,
      right,
      opSpan: op.span,
      span: join(left.span, right.span),
    };
  }
  // additive := multiplicative (('+'|'-') multiplicative)*
  private additive(allowIndex: boolean): Expr {
    if (++this.depth > MAX_DEPTH) this.fail("a less deeply nested expression", { kind: "depth", max: MAX_DEPTH });
    try {
      let left = this.multiplicative(allowIndex);
      while (this.at("+") || this.at("-")) {
        const op = this.next();
        const right = this.multiplicative(allowIndex);
        left = {
          kind: "binary",
          op: op.kind as "+" | "-",
          left,
          right,
          opSpan: op.span,
          span: join(left.span, right.span),
        };
      }
      return left;
    } finally {
      this.depth--;
    }
  }
  // multiplicative := unary (('*'|'/'|'@') unary)*
  private multiplicative(allowIndex: boolean): Expr {
    let left = this.unary(allowIndex);
    while (this.at("*") || this.at("/") || this.at("@")) {
      const op = this.next();
      const right = this.unary(allowIndex);
      left = {
        kind: "binary",
        op: op.kind as "*" | "/" | "@",
        left,
        right,
        opSpan: op.span,
        span: join(left.span, right.span),
      };
    }
    return left;
  }
  // unary := '-' unary | power      (so -x^2 = -(x^2), as in math)
  private unary(allowIndex: boolean): Expr {
    if (this.at("-")) {
      const minus = this.next();
      if (++this.depth > MAX_DEPTH) this.fail("a less deeply nested expression", { kind: "depth", max: MAX_DEPTH });
      try {
        const operand = this.unary(allowIndex);
        return { kind: "neg", operand, span: join(minus.span, operand.span) };
      } finally {
        this.depth--;
      }
    }
    return this.power(allowIndex);
  }
  // power := postfix ('^' unary)?   (right-associative: a^b^c = a^(b^c))
  private power(allowIndex: boolean): Expr {
    const base = this.postfix(allowIndex);
    if (!this.at("^")) return base;
    const op = this.next();
    if (++this.depth > MAX_DEPTH) this.fail("a less deeply nested expression", { kind: "depth", max: MAX_DEPTH });
    try {
      const exponent = this.unary(allowIndex);
      return {
        kind: "binary",
        op: "^",
        left: base,
        right: exponent,
        opSpan: op.span,
        span: join(base.span, exponent.span),
      };
    } finally {
      this.depth--;
    }
  }
  // postfix := primary ("'" | '[' index (',' index)* ']')*
  private postfix(allowIndex: boolean): Expr {
    let e = this.primary(allowIndex);
    for (;;) {
      if (this.at("'")) {
        const t = this.next();
        e = { kind: "transpose", operand: e, span: join(e.span, t.span) };
      } else if (this.at("[")) {
        this.open.push(this.next());
        const items = [this.indexItem()];
        while (this.at(",")) {
          this.next();
          items.push(this.indexItem());
        }
        const close = this.expect("]", "',' or ']'");
        this.open.pop();
        e = { kind: "index", target: e, items, span: join(e.span, close.span) };
      } else return e;
    }
  }
  // index := expr | expr? ':' expr? (':' expr?)?
  private indexItem(): IndexItem {
    const first = this.peek().span;
    const start = this.at(":") ? undefined : this.expr();
    if (!this.at(":")) return { kind: "at", value: start!, span: start!.span };
    let end = this.next().span;
    const part = () => (this.at(":") || this.at(",") || this.at("]") ? undefined : this.expr());
    const stop = part();
    if (stop) end = stop.span;
    let step: Expr | undefined;
    if (this.at(":")) {
      end = this.next().span;
      step = part();
      if (step) end = step.span;
    }
    return {
      kind: "slice",
      ...(start ? { start } : {}),
      ...(stop ? { stop } : {}),
      ...(step ? { step } : {}),
      span: join(first, end),
    };
  }
  // primary := number | name ['{' expr '}'] | name '(' args ')' | '(' expr ')'
  private primary(allowIndex: boolean): Expr {
    const t = this.peek();
    if (t.kind === "number") {
      this.next();
      return { kind: "number", value: Number(t.text), span: t.span };
    }
    if (t.kind === "string") {
      this.next();
      return { kind: "string", value: t.text.slice(1, -1), span: t.span };
    }
    if (t.kind === "[") {
      // a list: a shape, a set of axes
      this.open.push(this.next());
      const items: Expr[] = [];
      if (!this.at("]")) {
        items.push(this.expr());
        while (this.at(",")) {
          this.next();
          items.push(this.expr());
        }
      }
      const close = this.expect("]", "',' or ']'");
      this.open.pop();
      return { kind: "list", items, span: join(t.span, close.span) };
    }
    if (t.kind === "(") {
      this.open.push(this.next());
      const e = this.expr();
      const close = this.expect(")", "')'");
      this.open.pop();
      return { ...e, span: join(t.span, close.span) } as Expr;
    }
    if (t.kind === "name" && !keywords.has(t.text)) {
      if (this.peek(1).kind === "(") {
        this.next();
        this.open.push(this.next());
        const args: Expr[] = [];
        const kwargs: KeywordArg[] = [];
        const argument = () => {
          if (this.at("name") && this.peek(1).kind === "=") {
            const name = this.next();
            this.next();
            kwargs.push({ name: name.text, nameSpan: name.span, value: this.expr() });
          } else if (kwargs.length) this.fail("a keyword argument", { kind: "keywordOrder" });
          else args.push(this.expr());
        };
        if (!this.at(")")) {
          argument();
          while (this.at(",")) {
            this.next();
            argument();
          }
        }
        const close = this.expect(")", args.length || kwargs.length ? "',' or ')'" : "')'");
        this.open.pop();
        return { kind: "call", callee: t.text, calleeSpan: t.span, args, kwargs, span: join(t.span, close.span) };
      }
      const ref = this.nameRef(allowIndex);
      return { kind: "name", ref, span: ref.span };
    }
    this.fail("an expression");
  }

  private decl(): Decl {
    const target = this.nameRef(true);
    const dims: Expr[] = [];
    let end: Span = target.span;
    if (this.at("[")) {
      this.open.push(this.next());
      dims.push(this.expr());
      while (this.at(",")) {
        this.next();
        dims.push(this.expr());
      }
      end = this.expect("]", "',' or ']'").span;
      this.open.pop();
    }
    if (this.at(":")) {
      this.next();
      const t = this.expectName("a type: int");
      if (t.text === "int") return { target, dims, int: t.span, span: join(target.span, t.span) };
      // reported, and the declaration kept (as numbers), so its uses do not cascade
      this.reporter.report("E002", t.span, {
        expected: "a type: int",
        found: describe(t),
        hint: { kind: "intType" },
      });
      return { target, dims, span: join(target.span, t.span) };
    }
    return { target, dims, span: join(target.span, end) };
  }

  private endOfStatement(): void {
    if (this.at("newline")) {
      this.next();
      return;
    }
    if (this.at("}") || this.at("eof")) return;
    this.fail("end of line", { kind: "oneStatement" });
  }

  private statement(): Stmt {
    const t = this.peek();
    if (t.kind === "name" && (t.text === "param" || t.text === "input")) {
      this.next();
      const decls = [this.decl()];
      while (this.at(",")) {
        this.next();
        decls.push(this.decl());
      }
      const s: Stmt = { kind: "declare", role: t.text, decls, span: join(t.span, decls[decls.length - 1].span) };
      this.endOfStatement();
      return s;
    }
    if (t.kind === "name" && t.text === "const") {
      this.next();
      const name = this.expectName("a constant's name");
      this.expect("=", "'='");
      const value = this.expr();
      this.endOfStatement();
      return { kind: "const", name: name.text, nameSpan: name.span, value, span: join(t.span, value.span) };
    }
    if (t.kind === "name" && t.text === "loss") {
      this.next();
      const target = this.at("name") ? this.nameRef(true) : undefined;
      this.expect("=", "'='", target ? undefined : { kind: "lossForm" });
      const value = this.expr();
      this.endOfStatement();
      return {
        kind: "loss",
        ...(target ? { target } : {}),
        value,
        keywordSpan: t.span,
        span: join(t.span, value.span),
      };
    }
    if (t.kind === "name" && t.text === "for") {
      this.next();
      const v = this.expectName("a loop variable");
      if (!(this.at("name") && this.peek().text === "in")) this.fail("'in'", { kind: "forForm" });
      this.next();
      const from = this.expr(false);
      this.expect("..", "'..'", { kind: "forForm" });
      const to = this.expr(false);
      this.expect("{", "'{'");
      while (this.at("newline")) this.next();
      const body = this.block();
      const close = this.expect("}", "'}'");
      this.endOfStatement();
      return { kind: "for", variable: v.text, variableSpan: v.span, from, to, body, span: join(t.span, close.span) };
    }
    if (t.kind === "name" && t.text === "def") return this.defStatement();
    if (t.kind === "name" && t.text === "return") {
      this.next();
      const values = [this.expr()];
      while (this.at(",")) {
        this.next();
        values.push(this.expr());
      }
      this.endOfStatement();
      return { kind: "return", values, span: join(t.span, values[values.length - 1].span) };
    }
    if (t.kind === "name" && !keywords.has(t.text)) {
      const targets = [this.nameRef(true)];
      while (this.at(",")) {
        this.next();
        targets.push(this.nameRef(true));
      }
      this.expect("=", "'='", this.peek().kind === "name" ? { kind: "declaration" } : undefined);
      const value = this.expr();
      this.endOfStatement();
      if (targets.length > 1) return { kind: "unpack", targets, value, span: join(t.span, value.span) };
      return { kind: "assign", target: targets[0], value, span: join(t.span, value.span) };
    }
    this.fail("a statement", { kind: "statement" });
  }

  // def := 'def' name '(' param (',' param)* ')' ('=' expr | '{' statements '}')
  private defStatement(): Stmt {
    const t = this.next();
    const name = this.expectName("the function's name");
    this.open.push(this.expect("(", "'('", { kind: "defForm" }));
    const params: DefParam[] = [];
    const param = () => {
      const p = this.expectName("a parameter name");
      if (this.at("=")) {
        this.next();
        const d = this.expr();
        params.push({ name: p.text, span: p.span, default: d });
      } else if (params.some((q) => q.default)) this.fail("'='", { kind: "defaultsLast" });
      else params.push({ name: p.text, span: p.span });
    };
    if (!this.at(")")) {
      param();
      while (this.at(",")) {
        this.next();
        param();
      }
    }
    this.expect(")", "',' or ')'");
    this.open.pop();
    if (this.at("=")) {
      this.next();
      const value = this.expr();
      this.endOfStatement();
      return {
        kind: "def",
        name: name.text,
        nameSpan: name.span,
        params,
        body: [{ kind: "return", values: [value], span: value.span }],
        span: join(t.span, value.span),
      };
    }
    this.expect("{", "'=' or '{'", { kind: "defBody" });
    while (this.at("newline")) this.next();
    const body = this.block();
    const close = this.expect("}", "'}'");
    this.endOfStatement();
    return { kind: "def", name: name.text, nameSpan: name.span, params, body, span: join(t.span, close.span) };
  }

  /** Statements up to '}' or end of file; a failed statement is skipped to the end of its line. */
  private block(): Stmt[] {
    const out: Stmt[] = [];
    while (!this.at("eof") && !this.at("}")) {
      if (this.at("newline")) {
        this.next();
        continue;
      }
      this.statementStart = this.peek().span.start;
      this.open.length = 0;
      const first = this.peek();
      try {
        out.push(this.statement());
      } catch (e) {
        if (!(e instanceof Bail)) throw e;
        if (first.kind === "name" && first.text === "loss") this.failedLoss = true;
        this.depth = 0;
        while (!this.at("newline") && !this.at("eof") && !this.at("}")) this.next();
      }
    }
    return out;
  }
}
