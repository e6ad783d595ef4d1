import type { Span } from "../source/span.js";
import { catalogue, type Code, type Severity } from "./catalogue.js";

export interface Diagnostic {
  readonly code: Code;
  readonly severity: Severity;
  readonly message: string;
  readonly hint?: string;
  readonly span: Span;
  /** where the error was reached from: the calls of user functions it sits in ("in the call of 'cell' at 9:12") */
  readonly note?: string;
  /** The source file's display name. */
  readonly file: string;
}

export type Args = Readonly<Record<string, string | number>>;

function fill(template: string, args: Args): string {
  return template.replace(/\{(\w+)\}/g, (hole, key: string) => {
    if (!(key in args)) return hole;
    return String(args[key]);
  });
}

/** Build a diagnostic from the catalogue; an empty hint after filling is dropped. */
function diagnostic(file: string, code: Code, span: Span, args: Args = {}): Diagnostic {
  const entry = catalogue[code];
  const hintTemplate = "hint" in entry ? entry.hint : undefined;
  const hint = hintTemplate === undefined ? undefined : fill(hintTemplate, args);
  return {
    code,
    severity: entry.severity,
    message: fill(entry.message, args),
    ...(hint ? { hint } : {}),
    span,
    file,
  };
}

/** The calls an error sits in, innermost first; a deep chain keeps its two innermost calls and the outermost. */
function callChain(notes: readonly string[]): string {
  const inner = [...notes].reverse();
  if (inner.length <= 3) return inner.join(", ");
  return `${inner[0]}, ${inner[1]}, … (${inner.length - 3} more), ${inner[inner.length - 1]}`;
}

/** A collector: checkers report and go on rather than stop at the first error. */
export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  private readonly seen = new Set<string>();
  private readonly notes: string[] = [];
  constructor(readonly file: string) {}

  /** Run `fn` with `note` attached to what it reports (the innermost call last). */
  within<T>(note: string, fn: () => T): T {
    this.notes.push(note);
    try {
      return fn();
    } finally {
      this.notes.pop();
    }
  }

  report(code: Code, span: Span, args: Args = {}): void {
    const plain = diagnostic(this.file, code, span, args);
    const d = this.notes.length ? { ...plain, note: callChain(this.notes) } : plain;
    // an unrolled loop body (or a function called many times) reports the same error once
    const key = `${d.code}:${d.span.start}:${d.span.end}:${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.diagnostics.push(d);
  }

  get hasErrors(): boolean {
    return this.diagnostics.some((d) => d.severity === "error");
  }
}

export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end || a.code.localeCompare(b.code));
}
