import type { Span } from "../source/span.js";
import { catalogue, type CatalogueEntry, type Code, type Severity } from "./catalogue.js";
import { InternalError } from "./internal.js";

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

export type Args = Readonly<Record<string, string | number | HintChoice | undefined>>;

/** a named hint and its holes' values */
interface HintChoice {
  readonly kind: string;
  readonly [hole: string]: string | number;
}

/** The {holes} of a message template, as a union of their names: "expected {a}, found {b}" -> "a" | "b". */
type Holes<S extends string> = S extends `${string}{${infer K}}${infer Rest}` ? Word<K> | Holes<Rest> : never;
/** a hole is a word ({name}); braces around other text are literal ({ ... }, h{…}), as fill() reads them */
type Word<K extends string> = K extends "" | `${string}${" " | "…" | "." | "-"}${string}` ? never : K;
type Entry<C extends Code> = (typeof catalogue)[C];
type HintOf<C extends Code> = Entry<C> extends { readonly hint: infer H extends string } ? H : "";
type HintsOf<C extends Code> = Entry<C> extends { readonly hints: infer H } ? H : never;
type MessageHoles<C extends Code> = Holes<Entry<C>["message"]> | Holes<HintOf<C>>;

/** one of a code's named hints, with exactly the holes it adds to the message's */
export type HintFor<C extends Code> = {
  [V in keyof HintsOf<C> & string]: { readonly kind: V } & {
    // the message's holes are filled from the message's arguments
    readonly [K in Exclude<Holes<HintsOf<C>[V] & string>, MessageHoles<C>>]: string | number;
  };
}[keyof HintsOf<C> & string];

/**
 * The arguments a code's message and hint need: exactly their holes, so a message and its call
 * sites cannot drift; a code with named hints takes one of them (or none) as `hint`.
 */
export type ArgsOf<C extends Code> = { readonly [K in MessageHoles<C>]: string | number } & ([HintsOf<C>] extends [
  never,
]
  ? unknown
  : { readonly hint?: HintFor<C> });

/** `args` after the span: required when the code's message has holes, absent when it has none */
export type ArgsParam<C extends Code> = [MessageHoles<C>] extends [never]
  ? [HintsOf<C>] extends [never]
    ? []
    : [args?: ArgsOf<C>]
  : [args: ArgsOf<C>];

/** A diagnostic as data, before it has a span (a shape rule's verdict): a code with exactly its arguments. */
export type Problem = { readonly [C in Code]: { readonly code: C; readonly args: ArgsOf<C> } }[Code];

/** Build a Problem; the code's arguments are checked like report's. */
export const problem = <C extends Code>(code: C, args: ArgsOf<C>): Problem => ({ code, args }) as unknown as Problem;

function fill(template: string, args: Args): string {
  return template.replace(/\{(\w+)\}/g, (_hole, key: string) => {
    const v = args[key];
    if (v === undefined || typeof v === "object")
      throw new InternalError(`diagnostic: no value for {${key}} in "${template}"`);
    return String(v);
  });
}

/** A catalogue entry's message and hint with their holes filled; an empty hint is dropped. */
export function fillEntry<C extends Code>(code: C, ...rest: ArgsParam<C>): { message: string; hint?: string } {
  const args: Args = (rest[0] as Args | undefined) ?? {};
  const entry: CatalogueEntry = catalogue[code];
  const choice = args.hint as HintChoice | undefined;
  let hint: string | undefined;
  if (entry.hint !== undefined) hint = fill(entry.hint, args);
  else if (choice !== undefined) {
    const template = entry.hints?.[choice.kind];
    if (template === undefined) throw new InternalError(`diagnostic ${code}: no hint '${choice.kind}'`);
    hint = fill(template, { ...args, ...choice });
  }
  return { message: fill(entry.message, args), ...(hint ? { hint } : {}) };
}

/** Build a diagnostic from the catalogue; an empty hint after filling is dropped. */
export function diagnostic<C extends Code>(file: string, code: C, span: Span, ...rest: ArgsParam<C>): Diagnostic {
  return { code, severity: catalogue[code].severity, ...fillEntry(code, ...rest), span, file };
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

  report<C extends Code>(code: C, span: Span, ...args: ArgsParam<C>): void {
    const plain = diagnostic(this.file, code, span, ...args);
    const d = this.notes.length ? { ...plain, note: callChain(this.notes) } : plain;
    // an unrolled loop body (or a function called many times) reports the same error once
    const key = `${d.code}:${d.span.start}:${d.span.end}:${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.diagnostics.push(d);
  }

  /** report a Problem at `span` */
  reportProblem(p: Problem, span: Span): void {
    (this.report as (code: Code, span: Span, args: Args) => void)(p.code, span, p.args);
  }

  get hasErrors(): boolean {
    return this.diagnostics.some((d) => d.severity === "error");
  }
}

export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end || a.code.localeCompare(b.code));
}
