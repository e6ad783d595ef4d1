import type { Span } from "../source/span.js";
import { catalogue, type Code, type Severity } from "./catalogue.js";

export interface Diagnostic {
  readonly code: Code;
  readonly severity: Severity;
  readonly message: string;
  readonly hint?: string;
  readonly span: Span;
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
export function diagnostic(file: string, code: Code, span: Span, args: Args = {}): Diagnostic {
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

/** A collector: checkers report and go on rather than stop at the first error. */
export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  private readonly seen = new Set<string>();
  constructor(readonly file: string) {}

  report(code: Code, span: Span, args: Args = {}): void {
    const d = diagnostic(this.file, code, span, args);
    // an unrolled loop body reports the same error once, not once per iteration
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
