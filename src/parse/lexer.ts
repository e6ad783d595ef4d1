import type { Reporter } from "../diagnostics/diagnostic.js";
import { span } from "../source/span.js";
import type { Token, TokenKind } from "./tokens.js";

const single: Record<string, TokenKind> = {
  "+": "+",
  "-": "-",
  "*": "*",
  "/": "/",
  "^": "^",
  "@": "@",
  "'": "'",
  "=": "=",
  ",": ",",
  "(": "(",
  ")": ")",
  "[": "[",
  "]": "]",
  "{": "{",
  "}": "}",
  ":": ":",
  "<": "<",
  ">": ">",
};
/** two-character operators, matched before single ones */
const double: Record<string, TokenKind> = { "<=": "<=", ">=": ">=", "==": "==", "!=": "!=" };

const isDigit = (c: string) => c >= "0" && c <= "9";
// ECMAScript's identifier characters exactly (α, θ, 重量 and the marks that may follow a letter),
// so every name is a JavaScript name; not `$`, which the language does not use
const isNameStart = (c: string) => /^[\p{ID_Start}_]$/u.test(c);
const isNameChar = (c: string) => /^[\p{ID_Continue}]$/u.test(c);
/** the code point at i, as a string (one or two UTF-16 units) */
const charAt = (text: string, i: number) => (i < text.length ? String.fromCodePoint(text.codePointAt(i)!) : "");

/**
 * Source text -> tokens. Newlines end statements, except inside ( ) and [ ], where they are
 * whitespace so long expressions can be split. Bad characters are reported and skipped.
 */
export function lex(text: string, reporter: Reporter): Token[] {
  return lexWithErrors(text, reporter).tokens;
}

/** Tokens, and the offsets of characters the lexer rejected (the parser stays quiet there). */
export function lexWithErrors(text: string, reporter: Reporter): { tokens: Token[]; errors: number[] } {
  return new Lexer(text, reporter).run();
}

/**
 * Characters that look like an operator of the language but are not (as rustc's lexer has a
 * table of Unicode look-alikes): what to write instead.
 */
export const lookAlikes: Readonly<Record<string, string>> = {
  "×": "'*'",
  "·": "'*'",
  "⊙": "'*' (it is elementwise)",
  "−": "'-'",
  σ: "sigmoid(...)",
};

/** One pass over the text: a method per kind of token, each starting at `i` and moving past it. */
class Lexer {
  private readonly tokens: Token[] = [];
  private readonly errors: number[] = [];
  /** open ( and [: newlines inside them are whitespace */
  private depth = 0;
  private i = 0;

  constructor(
    private readonly text: string,
    private readonly reporter: Reporter,
  ) {}

  run(): { tokens: Token[]; errors: number[] } {
    const { text } = this;
    while (this.i < text.length) this.token(text[this.i]);
    if (this.tokens.length > 0 && this.last() !== "newline") this.push("newline", text.length, text.length);
    this.tokens.push({ kind: "eof", text: "", span: span(text.length, text.length) });
    return { tokens: this.tokens, errors: this.errors };
  }

  private token(c: string): void {
    const { text, i } = this;
    if (c === "#") return this.comment();
    if (c === "\n" || c === ";") return this.newline(c);
    if (c === " " || c === "\t" || c === "\r") return void this.i++;
    if (isDigit(c) || (c === "." && isDigit(text[i + 1] ?? ""))) return this.number();
    if (isNameStart(charAt(text, i))) return this.name();
    if (c === "*" && text[i + 1] === "*") {
      // Python's power operator: reported, then read as '^' so the rest of the line still parses
      this.report("E005", span(i, i + 2));
      return this.take("^", 2);
    }
    const two = double[text.slice(i, i + 2)];
    if (two) return this.take(two, 2);
    if (c === '"') return this.string();
    if (c === "." && text[i + 1] === ".") return this.take("..", 2);
    const kind = single[c];
    if (kind) {
      if (c === "(" || c === "[") this.depth++;
      if ((c === ")" || c === "]") && this.depth > 0) this.depth--;
      return this.take(kind, 1);
    }
    this.unexpected();
  }

  private report: Reporter["report"] = (code, s, ...args) => {
    this.errors.push(s.start);
    this.reporter.report(code, s, ...args);
  };

  private push(kind: TokenKind, start: number, end: number): void {
    this.tokens.push({ kind, text: this.text.slice(start, end), span: span(start, end) });
  }

  /** a token of `length` characters at i */
  private take(kind: TokenKind, length: number): void {
    this.push(kind, this.i, this.i + length);
    this.i += length;
  }

  private last(): TokenKind | undefined {
    return this.tokens[this.tokens.length - 1]?.kind;
  }

  private comment(): void {
    while (this.i < this.text.length && this.text[this.i] !== "\n") this.i++;
  }

  /** a newline ends a statement, except inside ( ) and [ ]; `;` always does; never two in a row */
  private newline(c: string): void {
    if ((c === ";" || this.depth === 0) && this.tokens.length > 0 && this.last() !== "newline")
      this.push("newline", this.i, this.i + 1);
    this.i++;
  }

  private skipNameChars(): void {
    const { text } = this;
    while (this.i < text.length && isNameChar(charAt(text, this.i))) this.i += charAt(text, this.i).length;
  }

  private name(): void {
    const start = this.i;
    this.skipNameChars();
    this.push("name", start, this.i);
  }

  /** 12, 1.5, .5, 1e-3; "1..L" is a range, not the number "1."; a number glued to a name is malformed */
  private number(): void {
    const { text } = this;
    const start = this.i;
    const digits = () => {
      while (isDigit(text[this.i] ?? "")) this.i++;
    };
    digits();
    if (text[this.i] === "." && text[this.i + 1] !== ".") {
      this.i++;
      digits();
    }
    if (text[this.i] === "e" || text[this.i] === "E") {
      const save = this.i;
      this.i++;
      if (text[this.i] === "+" || text[this.i] === "-") this.i++;
      if (!isDigit(text[this.i] ?? "")) {
        this.i = save + 1;
        return this.malformed(start);
      }
      digits();
    }
    if (isNameStart(charAt(text, this.i))) return this.malformed(start);
    this.push("number", start, this.i);
  }

  private malformed(start: number): void {
    this.skipNameChars();
    this.report("E003", span(start, this.i), { text: this.text.slice(start, this.i) });
  }

  /** a string (einsum subscripts): no escapes, ends on the same line */
  private string(): void {
    const { text } = this;
    const start = this.i++;
    while (this.i < text.length && text[this.i] !== '"' && text[this.i] !== "\n") this.i++;
    if (text[this.i] !== '"') return this.report("E006", span(start, this.i));
    this.i++;
    this.push("string", start, this.i);
  }

  /** a character the language has no use for: reported and skipped */
  private unexpected(): void {
    const ch = charAt(this.text, this.i);
    const at = span(this.i, this.i + ch.length);
    const instead = lookAlikes[ch];
    if (instead !== undefined) this.report("E007", at, { char: ch, instead });
    else this.report("E001", at, { char: ch });
    this.i += ch.length;
  }
}
