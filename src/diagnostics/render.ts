import { lineCol, lineText } from "../source/span.js";
import type { Diagnostic } from "./diagnostic.js";

/** At most this many diagnostics are printed; the rest are counted ("and 1,234 more errors"). */
const MAX_SHOWN = 50;
/** A source line longer than this is shown as a window around the caret. */
const WINDOW = 100;

/**
 * One character as the terminal should see it: control characters (ESC, BEL, NUL, ...), line
 * separators and the bidirectional overrides that can reorder what a reader sees are written as
 * \u{..} escapes instead of being sent raw.
 */
function visible(c: string): string {
  const cp = c.codePointAt(0)!;
  const hidden =
    cp < 0x20 ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069);
  return c === "\t" ? " " : hidden ? `\\u{${cp.toString(16)}}` : c;
}

/** A message, hint or note: any such character escaped (they quote the source), and at most `max` characters (the middle elided). */
export function escapeText(s: string, max = 240): string {
  const t = [...s].map(visible).join("");
  return t.length <= max ? t : `${t.slice(0, max / 2 - 1)}…${t.slice(t.length - max / 2 + 1)}`;
}

/**
 * The line shown under the location, and where the caret goes in it: every character escaped
 * as above; a long line cut to a window around the caret, with '…' where it was cut.
 */
function sourceWindow(line: string, startCol: number, endCol: number): { text: string; caret: number; width: number } {
  // display pieces, one per UTF-16 unit of the line (the second unit of a pair shows as "")
  const pieces: string[] = [];
  for (let i = 0; i < line.length;) {
    const c = String.fromCodePoint(line.codePointAt(i)!);
    pieces.push(visible(c));
    for (let k = 1; k < c.length; k++) pieces.push("");
    i += c.length;
  }
  const from = Math.max(0, startCol - 1);
  // a span longer than the window (an unclosed bracket to the end of a long line) shows its start
  const to = Math.max(from + 1, Math.min(endCol - 1, pieces.length, from + WINDOW / 2));
  let lo = 0;
  let hi = pieces.length;
  if (pieces.join("").length > WINDOW) {
    lo = Math.max(0, from - WINDOW / 2);
    hi = Math.min(pieces.length, Math.max(to, from + 1) + WINDOW / 2);
  }
  const width = (a: number, b: number) => pieces.slice(a, b).join("").length;
  const head = lo > 0 ? "…" : "";
  const text = head + pieces.slice(lo, hi).join("") + (hi < pieces.length ? "…" : "");
  const caretWidth = Math.min(Math.max(1, width(from, Math.min(to, hi))), WINDOW);
  return { text, caret: head.length + width(lo, from), width: caretWidth };
}

/**
 * The one renderer:
 *   model.grad:3:5: error[E101]: unknown name 'rleu'
 *     |
 *   3 | h = rleu(W1 @ x)
 *     |     ^^^^
 *     = hint: did you mean 'relu'?
 */
export function renderDiagnostic(d: Diagnostic, text: string): string {
  const start = lineCol(text, d.span.start);
  const line = lineText(text, start.line);
  const gutter = String(start.line).length;
  const pad = " ".repeat(gutter);
  // the caret stays on the first line of a multi-line span
  const endCol = Math.min(start.col + (d.span.end - d.span.start), line.length + 1);
  const w = sourceWindow(line, start.col, Math.max(endCol, start.col + 1));
  const out = [
    `${escapeText(d.file, 120)}:${start.line}:${start.col}: ${d.severity}[${d.code}]: ${escapeText(d.message)}`,
    `${pad} |`,
    `${start.line} | ${w.text}`,
    `${pad} | ${" ".repeat(w.caret)}${"^".repeat(w.width)}`,
  ];
  if (d.note) out.push(`${pad} = note: ${escapeText(d.note)}`);
  if (d.hint) out.push(`${pad} = hint: ${escapeText(d.hint)}`);
  return out.join("\n");
}

/** Every diagnostic up to MAX_SHOWN, then how many more there are, then the counts. */
export function renderDiagnostics(ds: readonly Diagnostic[], text: string): string {
  const errors = ds.filter((d) => d.severity === "error").length;
  const warnings = ds.length - errors;
  const parts = ds.slice(0, MAX_SHOWN).map((d) => renderDiagnostic(d, text));
  const rest = ds.length - MAX_SHOWN;
  if (rest > 0)
    parts.push(
      `… and ${rest.toLocaleString("en")} more (the first ${MAX_SHOWN} are shown; fix those first, many of the rest may follow from them)`,
    );
  const counts: string[] = [];
  if (errors) counts.push(`${errors.toLocaleString("en")} error${errors === 1 ? "" : "s"}`);
  if (warnings) counts.push(`${warnings.toLocaleString("en")} warning${warnings === 1 ? "" : "s"}`);
  if (counts.length) parts.push(counts.join(", "));
  return parts.join("\n\n") + "\n";
}
