import type { Span } from "../source/span.js";

export type TokenKind =
  | "name"
  | "number"
  | "string"
  | "newline"
  | "eof"
  // punctuation and operators
  | "+" | "-" | "*" | "/" | "^" | "@" | "'" | "=" | "," | ".."
  | "(" | ")" | "[" | "]" | "{" | "}" | ":"
  | "<" | "<=" | ">" | ">=" | "==" | "!=";

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly span: Span;
}

export const keywords = new Set(["param", "input", "const", "loss", "for", "in", "def", "return"]);

export function describe(t: Token): string {
  switch (t.kind) {
    case "eof":
      return "end of file";
    case "newline":
      return "end of line";
    case "name":
      return keywords.has(t.text) ? `keyword '${t.text}'` : `name '${t.text}'`;
    case "number":
      return `number ${t.text}`;
    case "string":
      return `string ${t.text}`;
    default:
      return `'${t.text}'`;
  }
}
