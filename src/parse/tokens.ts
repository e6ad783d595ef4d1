import type { Span } from "../source/span.js";

export type TokenKind =
  | "name"
  | "number"
  | "string"
  | "newline"
  | "eof"
  // punctuation and operators
  | "+"
  | "-"
  | "*"
  | "/"
  | "^"
  | "@"
  | "'"
  | "="
  | ","
  | ".."
  | "("
  | ")"
  | "["
  | "]"
  | "{"
  | "}"
  | ":"
  | "<"
  | "<="
  | ">"
  | ">="
  | "=="
  | "!=";

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly span: Span;
}

export const keywords = new Set(["param", "input", "const", "loss", "for", "in", "def", "return"]);

/** A token's text quoted in a message: a long one keeps its start and end. */
function short(text: string): string {
  return text.length <= 40 ? text : `${text.slice(0, 18)}…${text.slice(-18)}`;
}

export function describe(t: Token): string {
  switch (t.kind) {
    case "eof":
      return "end of file";
    case "newline":
      return "end of line";
    case "name":
      return keywords.has(t.text) ? `keyword '${t.text}'` : `name '${short(t.text)}'`;
    case "number":
      return `number ${short(t.text)}`;
    case "string":
      return `string ${short(t.text)}`;
    default:
      return `'${t.text}'`;
  }
}
