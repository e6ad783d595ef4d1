import { lineCol, lineText } from "../source/span.js";
import type { Diagnostic } from "./diagnostic.js";

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
  const lineEnd = Math.min(d.span.end, d.span.start - (start.col - 1) + line.length);
  const width = Math.max(1, lineEnd - d.span.start);
  const out = [
    `${d.file}:${start.line}:${start.col}: ${d.severity}[${d.code}]: ${d.message}`,
    `${pad} |`,
    `${start.line} | ${line}`,
    `${pad} | ${" ".repeat(start.col - 1)}${"^".repeat(width)}`,
  ];
  if (d.note) out.push(`${pad} = note: ${d.note}`);
  if (d.hint) out.push(`${pad} = hint: ${d.hint}`);
  return out.join("\n");
}

export function renderDiagnostics(ds: readonly Diagnostic[], text: string): string {
  const errors = ds.filter((d) => d.severity === "error").length;
  const warnings = ds.length - errors;
  const parts = ds.map((d) => renderDiagnostic(d, text));
  const counts: string[] = [];
  if (errors) counts.push(`${errors} error${errors === 1 ? "" : "s"}`);
  if (warnings) counts.push(`${warnings} warning${warnings === 1 ? "" : "s"}`);
  if (counts.length) parts.push(counts.join(", "));
  return parts.join("\n\n") + "\n";
}
