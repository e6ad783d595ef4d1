import type { Reporter } from "../diagnostics/diagnostic.js";
import { join, type Span } from "../source/span.js";
import type { CompareOp, Decl, DefParam, Expr, IndexItem, KeywordArg, NameRef, Program, Stmt } from "./ast.js";
import { lexWithErrors } from "./lexer.js";
import { describe, keywords, type Token, type TokenKind } from "./tokens.js";

/** Thrown inside the parser after a syntax error has been reported; caught at statement level. */
class Bail {}

/** Expressions nest at most this deep, so hostile input cannot overflow the stack. */
const MAX_DEPTH = 200;

/**
 * Recursive descent over the grammar in docs/language.md. Each statement that fails is
 * reported and skipped up to the end of its line, so one run reports every syntax error.
 */
export function parse(text: string, reporter: Reporter): Program {
  const { tokens, errors: lexErrors } = lexWithErrors(text, reporter);
  let pos = 0;
  let depth = 0;
  let statementStart = 0;
  let failedLoss = false;
  /** a lexical error in this statement already explains what follows */
  const lexErrorHere = () => lexErrors.some((o) => o >= statementStart && o <= peek().span.end);

  const peek = (k = 0): Token => tokens[Math.min(pos + k, tokens.length - 1)];
  const at = (kind: TokenKind, text?: string) => peek().kind === kind && (text === undefined || peek().text === text);
  const next = (): Token => tokens[Math.min(pos++, tokens.length - 1)];

  function fail(expected: string, hint = ""): never {
    if (!lexErrorHere()) {
      if ((at("eof") || at("newline")) && open.length) {
        const o = open[open.length - 1];
        reporter.report("E004", o.span, { open: o.text, close: o.text === "(" ? ")" : "]" });
      } else reporter.report("E002", peek().span, { expected, found: describe(peek()), hint });
    }
    throw new Bail();
  }
  /** brackets opened in the current statement, innermost last */
  const open: Token[] = [];
  function expect(kind: TokenKind, expected = `'${kind}'`, hint = ""): Token {
    if (!at(kind)) fail(expected, hint);
    return next();
  }
  function expectName(what: string): Token {
    if (!at("name") || keywords.has(peek().text)) fail(what);
    return next();
  }

  function nameRef(allowIndex: boolean): NameRef {
    const t = expectName("a name");
    if (allowIndex && at("{")) {
      next();
      const index = expr();
      const close = expect("}", "'}'");
      return { name: t.text, index, span: join(t.span, close.span) };
    }
    return { name: t.text, span: t.span };
  }

  const compareOps: readonly CompareOp[] = ["<", "<=", ">", ">=", "==", "!="];
  const atCompare = () => compareOps.some((k) => at(k));
  // expr := additive (compare additive)?   (comparisons bind more loosely than + and -, and do not chain)
  function expr(allowIndex = true): Expr {
    const left = additive(allowIndex);
    if (!atCompare()) return left;
    const op = next();
    const right = additive(allowIndex);
    if (atCompare()) fail("end of the comparison", "comparisons do not chain: write (a < b) * (b < c)");
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
  function additive(allowIndex: boolean): Expr {
    if (++depth > MAX_DEPTH) fail("a less deeply nested expression", `expressions nest at most ${MAX_DEPTH} levels`);
    try {
      let left = multiplicative(allowIndex);
      while (at("+") || at("-")) {
        const op = next();
        const right = multiplicative(allowIndex);
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
      depth--;
    }
  }
  // multiplicative := unary (('*'|'/'|'@') unary)*
  function multiplicative(allowIndex: boolean): Expr {
    let left = unary(allowIndex);
    while (at("*") || at("/") || at("@")) {
      const op = next();
      const right = unary(allowIndex);
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
  function unary(allowIndex: boolean): Expr {
    if (at("-")) {
      const minus = next();
      if (++depth > MAX_DEPTH) fail("a less deeply nested expression", `expressions nest at most ${MAX_DEPTH} levels`);
      try {
        const operand = unary(allowIndex);
        return { kind: "neg", operand, span: join(minus.span, operand.span) };
      } finally {
        depth--;
      }
    }
    return power(allowIndex);
  }
  // power := postfix ('^' unary)?   (right-associative: a^b^c = a^(b^c))
  function power(allowIndex: boolean): Expr {
    const base = postfix(allowIndex);
    if (!at("^")) return base;
    const op = next();
    if (++depth > MAX_DEPTH) fail("a less deeply nested expression", `expressions nest at most ${MAX_DEPTH} levels`);
    try {
      const exponent = unary(allowIndex);
      return {
        kind: "binary",
        op: "^",
        left: base,
        right: exponent,
        opSpan: op.span,
        span: join(base.span, exponent.span),
      };
    } finally {
      depth--;
    }
  }
  // postfix := primary ("'" | '[' index (',' index)* ']')*
  function postfix(allowIndex: boolean): Expr {
    let e = primary(allowIndex);
    for (;;) {
      if (at("'")) {
        const t = next();
        e = { kind: "transpose", operand: e, span: join(e.span, t.span) };
      } else if (at("[")) {
        open.push(next());
        const items = [indexItem()];
        while (at(",")) {
          next();
          items.push(indexItem());
        }
        const close = expect("]", "',' or ']'");
        open.pop();
        e = { kind: "index", target: e, items, span: join(e.span, close.span) };
      } else return e;
    }
  }
  // index := expr | expr? ':' expr? (':' expr?)?
  function indexItem(): IndexItem {
    const first = peek().span;
    const start = at(":") ? undefined : expr();
    if (!at(":")) return { kind: "at", value: start!, span: start!.span };
    let end = next().span;
    const part = () => (at(":") || at(",") || at("]") ? undefined : expr());
    const stop = part();
    if (stop) end = stop.span;
    let step: Expr | undefined;
    if (at(":")) {
      end = next().span;
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
  function primary(allowIndex: boolean): Expr {
    const t = peek();
    if (t.kind === "number") {
      next();
      return { kind: "number", value: Number(t.text), span: t.span };
    }
    if (t.kind === "string") {
      next();
      return { kind: "string", value: t.text.slice(1, -1), span: t.span };
    }
    if (t.kind === "[") {
      // a list: a shape, a set of axes
      open.push(next());
      const items: Expr[] = [];
      if (!at("]")) {
        items.push(expr());
        while (at(",")) {
          next();
          items.push(expr());
        }
      }
      const close = expect("]", "',' or ']'");
      open.pop();
      return { kind: "list", items, span: join(t.span, close.span) };
    }
    if (t.kind === "(") {
      open.push(next());
      const e = expr();
      const close = expect(")", "')'");
      open.pop();
      return { ...e, span: join(t.span, close.span) } as Expr;
    }
    if (t.kind === "name" && !keywords.has(t.text)) {
      if (peek(1).kind === "(") {
        next();
        open.push(next());
        const args: Expr[] = [];
        const kwargs: KeywordArg[] = [];
        const argument = () => {
          if (at("name") && peek(1).kind === "=") {
            const name = next();
            next();
            kwargs.push({ name: name.text, nameSpan: name.span, value: expr() });
          } else if (kwargs.length)
            fail("a keyword argument", "positional arguments come before keyword arguments (name=value)");
          else args.push(expr());
        };
        if (!at(")")) {
          argument();
          while (at(",")) {
            next();
            argument();
          }
        }
        const close = expect(")", args.length || kwargs.length ? "',' or ')'" : "')'");
        open.pop();
        return { kind: "call", callee: t.text, calleeSpan: t.span, args, kwargs, span: join(t.span, close.span) };
      }
      const ref = nameRef(allowIndex);
      return { kind: "name", ref, span: ref.span };
    }
    fail("an expression");
  }

  function decl(): Decl {
    const target = nameRef(true);
    const dims: Expr[] = [];
    let end: Span = target.span;
    if (at("[")) {
      open.push(next());
      dims.push(expr());
      while (at(",")) {
        next();
        dims.push(expr());
      }
      end = expect("]", "',' or ']'").span;
      open.pop();
    }
    if (at(":")) {
      next();
      const t = expectName("a type: int");
      if (t.text === "int") return { target, dims, int: t.span, span: join(target.span, t.span) };
      // reported, and the declaration kept (as numbers), so its uses do not cascade
      reporter.report("E002", t.span, {
        expected: "a type: int",
        found: describe(t),
        hint: "inputs are numbers by default; `: int` marks integer data (indices, labels)",
      });
      return { target, dims, span: join(target.span, t.span) };
    }
    return { target, dims, span: join(target.span, end) };
  }

  function endOfStatement(): void {
    if (at("newline")) {
      next();
      return;
    }
    if (at("}") || at("eof")) return;
    fail("end of line", "put one statement on each line");
  }

  function statement(): Stmt {
    const t = peek();
    if (t.kind === "name" && (t.text === "param" || t.text === "input")) {
      next();
      const decls = [decl()];
      while (at(",")) {
        next();
        decls.push(decl());
      }
      const s: Stmt = { kind: "declare", role: t.text, decls, span: join(t.span, decls[decls.length - 1].span) };
      endOfStatement();
      return s;
    }
    if (t.kind === "name" && t.text === "const") {
      next();
      const name = expectName("a constant's name");
      expect("=", "'='");
      const value = expr();
      endOfStatement();
      return { kind: "const", name: name.text, nameSpan: name.span, value, span: join(t.span, value.span) };
    }
    if (t.kind === "name" && t.text === "loss") {
      next();
      const target = at("name") ? nameRef(true) : undefined;
      expect("=", "'='", target ? "" : "write `loss = expr` or `loss name = expr`");
      const value = expr();
      endOfStatement();
      return {
        kind: "loss",
        ...(target ? { target } : {}),
        value,
        keywordSpan: t.span,
        span: join(t.span, value.span),
      };
    }
    if (t.kind === "name" && t.text === "for") {
      next();
      const v = expectName("a loop variable");
      if (!(at("name") && peek().text === "in")) fail("'in'", "write `for k in 1..L { ... }`");
      next();
      const from = expr(false);
      expect("..", "'..'", "write `for k in 1..L { ... }`");
      const to = expr(false);
      expect("{", "'{'");
      while (at("newline")) next();
      const body = block();
      const close = expect("}", "'}'");
      endOfStatement();
      return { kind: "for", variable: v.text, variableSpan: v.span, from, to, body, span: join(t.span, close.span) };
    }
    if (t.kind === "name" && t.text === "def") return defStatement();
    if (t.kind === "name" && t.text === "return") {
      next();
      const values = [expr()];
      while (at(",")) {
        next();
        values.push(expr());
      }
      endOfStatement();
      return { kind: "return", values, span: join(t.span, values[values.length - 1].span) };
    }
    if (t.kind === "name" && !keywords.has(t.text)) {
      const targets = [nameRef(true)];
      while (at(",")) {
        next();
        targets.push(nameRef(true));
      }
      expect("=", "'='", peek().kind === "name" ? "declarations start with `param`, `input` or `const`" : "");
      const value = expr();
      endOfStatement();
      if (targets.length > 1) return { kind: "unpack", targets, value, span: join(t.span, value.span) };
      return { kind: "assign", target: targets[0], value, span: join(t.span, value.span) };
    }
    fail("a statement", "statements are `param`, `input`, `const`, `loss`, `for`, or `name = expr`");
  }

  // def := 'def' name '(' param (',' param)* ')' ('=' expr | '{' statements '}')
  function defStatement(): Stmt {
    const t = next();
    const name = expectName("the function's name");
    open.push(expect("(", "'('", "write `def name(x, y) = expr`"));
    const params: DefParam[] = [];
    const param = () => {
      const p = expectName("a parameter name");
      if (at("=")) {
        next();
        const d = expr();
        params.push({ name: p.text, span: p.span, default: d });
      } else if (params.some((q) => q.default)) fail("'='", "parameters with defaults come last");
      else params.push({ name: p.text, span: p.span });
    };
    if (!at(")")) {
      param();
      while (at(",")) {
        next();
        param();
      }
    }
    expect(")", "',' or ')'");
    open.pop();
    if (at("=")) {
      next();
      const value = expr();
      endOfStatement();
      return {
        kind: "def",
        name: name.text,
        nameSpan: name.span,
        params,
        body: [{ kind: "return", values: [value], span: value.span }],
        span: join(t.span, value.span),
      };
    }
    expect("{", "'=' or '{'", "write `def f(x) = expr` or a body in { } that ends with `return`");
    while (at("newline")) next();
    const body = block();
    const close = expect("}", "'}'");
    endOfStatement();
    return { kind: "def", name: name.text, nameSpan: name.span, params, body, span: join(t.span, close.span) };
  }

  /** Statements up to '}' or end of file; a failed statement is skipped to the end of its line. */
  function block(): Stmt[] {
    const out: Stmt[] = [];
    while (!at("eof") && !at("}")) {
      if (at("newline")) {
        next();
        continue;
      }
      statementStart = peek().span.start;
      open.length = 0;
      const first = peek();
      try {
        out.push(statement());
      } catch (e) {
        if (!(e instanceof Bail)) throw e;
        if (first.kind === "name" && first.text === "loss") failedLoss = true;
        depth = 0;
        while (!at("newline") && !at("eof") && !at("}")) next();
      }
    }
    return out;
  }

  const statements: Stmt[] = [];
  for (;;) {
    statements.push(...block());
    if (at("eof")) break;
    // a '}' with no open block
    reporter.report("E002", peek().span, {
      expected: "a statement",
      found: describe(peek()),
      hint: "this '}' closes no block",
    });
    next();
  }
  return { statements, failedLoss };
}
