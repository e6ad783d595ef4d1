import { StreamLanguage, HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags } from "@lezer/highlight";

/** .grad syntax highlighting: keywords, builtins, numbers, comments, operators (src/parse/tokens.ts) */
const keywords = new Set(["param", "input", "const", "loss", "for", "in", "def", "return", "int", "true", "false"]);

export const gradLanguage = StreamLanguage.define<{ afterDecl: boolean }>({
  name: "grad",
  startState: () => ({ afterDecl: false }),
  token(stream, state) {
    if (stream.sol()) state.afterDecl = false;
    if (stream.eatSpace()) return null;
    if (stream.match("#")) {
      stream.skipToEnd();
      return "comment";
    }
    if (stream.match(/^\d+(\.\d+)?([eE][-+]?\d+)?/)) return "number";
    if (stream.match(/^"[^"]*"?/)) return "string";
    const word = stream.match(/^[\p{ID_Start}_][\p{ID_Continue}]*/u) as RegExpMatchArray | null;
    if (word) {
      const w = word[0];
      if (keywords.has(w)) {
        state.afterDecl = w === "param" || w === "input";
        return "keyword";
      }
      if (stream.peek() === "(") return "function";
      return state.afterDecl ? "definition" : "variableName";
    }
    if (stream.match(/^(\.\.|==|!=|<=|>=|[-+*/^@'<>=])/)) return "operator";
    stream.next();
    return null;
  },
  tokenTable: { definition: tags.definition(tags.variableName), function: tags.function(tags.variableName) },
});

export const gradHighlight = syntaxHighlighting(
  HighlightStyle.define([
    { tag: tags.keyword, color: "#7c3aed", fontWeight: "600" },
    { tag: tags.comment, color: "#6b7280", fontStyle: "italic" },
    { tag: tags.number, color: "#b45309" },
    { tag: tags.string, color: "#047857" },
    { tag: tags.function(tags.variableName), color: "#1d4ed8" },
    { tag: tags.definition(tags.variableName), color: "#be123c" },
    { tag: tags.operator, color: "#374151" },
  ]),
);
