/** A half-open range [start, end) of character offsets into one source text. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** A source text with its display name (as given by the user, never made absolute). */
export interface Source {
  readonly name: string;
  readonly text: string;
}

export interface LineCol {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column, counted in UTF-16 code units. */
  readonly col: number;
}

export function span(start: number, end: number): Span {
  return { start, end };
}

export function join(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

/**
 * Where each line starts: computed once per text (the last one is kept), so that a thousand
 * diagnostics of a 50,000-line file do not each scan the file.
 */
let cached: { readonly text: string; readonly starts: readonly number[] } | undefined;
function lineStarts(text: string): readonly number[] {
  if (cached?.text === text) return cached.starts;
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  cached = { text, starts };
  return starts;
}

/** Offset -> line/column (binary search over the line starts). */
export function lineCol(text: string, offset: number): LineCol {
  const starts = lineStarts(text);
  const stop = Math.max(0, Math.min(offset, text.length));
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= stop) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, col: stop - starts[lo] + 1 };
}

/** The text of the 1-based line `line`, without its newline (or \r\n). */
export function lineText(text: string, line: number): string {
  const starts = lineStarts(text);
  if (line < 1 || line > starts.length) return "";
  const end = line < starts.length ? starts[line] - 1 : text.length;
  const t = text.slice(starts[line - 1], end);
  return t.endsWith("\r") ? t.slice(0, -1) : t;
}
