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

/** Offset -> line/column. */
export function lineCol(text: string, offset: number): LineCol {
  let line = 1;
  let lineStart = 0;
  const stop = Math.min(offset, text.length);
  for (let i = 0; i < stop; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: stop - lineStart + 1 };
}

/** The text of the 1-based line `line`, without its newline. */
export function lineText(text: string, line: number): string {
  return text.split(/\r?\n/)[line - 1] ?? "";
}
