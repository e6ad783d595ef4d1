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
// long: one loop over the characters with one branch per kind of token, the way a lexer is read
export function lexWithErrors(text: string, reporter: Reporter): { tokens: Token[]; errors: number[] } {
  const errors: number[] = [];
  const report: Reporter["report"] = (code, s, ...args) => {
    errors.push(s.start);
    reporter.report(code, s, ...args);
  };
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number) =>
    tokens.push({ kind, text: text.slice(start, end), span: span(start, end) });

  while (i < text.length) {
    const c = text[i];
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (c === "\n") {
      if (depth === 0 && tokens.length > 0 && tokens[tokens.length - 1].kind !== "newline") push("newline", i, i + 1);
      i++;
      continue;
    }
    if (c === ";") {
      if (tokens.length > 0 && tokens[tokens.length - 1].kind !== "newline") push("newline", i, i + 1);
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (isDigit(c) || (c === "." && isDigit(text[i + 1] ?? ""))) {
      const start = i;
      while (isDigit(text[i] ?? "")) i++;
      // "1..L" is a range, not the number "1."
      if (text[i] === "." && text[i + 1] !== ".") {
        i++;
        while (isDigit(text[i] ?? "")) i++;
      }
      if (text[i] === "e" || text[i] === "E") {
        const save = i;
        i++;
        if (text[i] === "+" || text[i] === "-") i++;
        if (!isDigit(text[i] ?? "")) {
          i = save + 1;
          while (i < text.length && isNameChar(charAt(text, i))) i += charAt(text, i).length;
          report("E003", span(start, i), { text: text.slice(start, i) });
          continue;
        }
        while (isDigit(text[i] ?? "")) i++;
      }
      if (isNameStart(charAt(text, i))) {
        while (i < text.length && isNameChar(charAt(text, i))) i += charAt(text, i).length;
        report("E003", span(start, i), { text: text.slice(start, i) });
        continue;
      }
      push("number", start, i);
      continue;
    }
    if (isNameStart(charAt(text, i))) {
      const start = i;
      while (i < text.length && isNameChar(charAt(text, i))) i += charAt(text, i).length;
      push("name", start, i);
      continue;
    }
    if (c === "*" && text[i + 1] === "*") {
      // Python's power operator: reported, then read as '^' so the rest of the line still parses
      report("E005", span(i, i + 2));
      push("^", i, i + 2);
      i += 2;
      continue;
    }
    const two = double[text.slice(i, i + 2)];
    if (two) {
      push(two, i, i + 2);
      i += 2;
      continue;
    }
    if (c === '"') {
      // a string (einsum subscripts): no escapes, ends on the same line
      const start = i;
      i++;
      while (i < text.length && text[i] !== '"' && text[i] !== "\n") i++;
      if (text[i] !== '"') {
        report("E006", span(start, i));
        continue;
      }
      i++;
      push("string", start, i);
      continue;
    }
    if (c === "." && text[i + 1] === ".") {
      push("..", i, i + 2);
      i += 2;
      continue;
    }
    const kind = single[c];
    if (kind) {
      if (c === "(" || c === "[") depth++;
      if ((c === ")" || c === "]") && depth > 0) depth--;
      push(kind, i, i + 1);
      i++;
      continue;
    }
    const cp = text.codePointAt(i) ?? 0;
    const ch = String.fromCodePoint(cp);
    const hint =
      ch === "×" || ch === "·"
        ? "write multiplication as '*'"
        : ch === "−"
          ? "write minus as '-'"
          : ch === "σ"
            ? "write sigmoid(...)"
            : ch === "⊙"
              ? "'*' is elementwise"
              : "";
    report("E001", span(i, i + ch.length), { char: ch, hint });
    i += ch.length;
  }
  if (tokens.length > 0 && tokens[tokens.length - 1].kind !== "newline") push("newline", text.length, text.length);
  tokens.push({ kind: "eof", text: "", span: span(text.length, text.length) });
  return { tokens, errors };
}
