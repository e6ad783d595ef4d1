import { identifierPart, identifierStart } from "./identifiers.generated.js";

/** whether code point c lies in one of the [first, last] ranges (binary search) */
function inRanges(ranges: readonly number[], c: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < ranges[2 * mid]) hi = mid - 1;
    else if (c > ranges[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}
const isStart = (c: number) => inRanges(identifierStart, c);
const isPart = (c: number) => inRanges(identifierPart, c);

/** JavaScript reserved words and globals a generated local must never shadow. */
const reserved = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await as async of " +
    "undefined NaN Infinity Math Object Array Float64Array Float32Array Number String Symbol Error RangeError TypeError globalThis eval arguments constructor prototype __proto__ toString valueOf hasOwnProperty"
  ).split(" "),
);

/**
 * Unique local names for a generated module. A hint that is taken gets a numeric suffix,
 * in first-come order, so the same graph always gets the same names.
 */
export class NameTable {
  private readonly taken = new Set<string>(reserved);

  constructor(internal: readonly string[] = []) {
    for (const n of internal) this.taken.add(n);
  }

  fresh(hint: string): string {
    // characters TypeScript's own scanner takes (its Unicode tables can be older than the engine's;
    // identifiers.generated.ts holds them, so the TypeScript compiler is not loaded to ask)
    let base = [...hint]
      .map((c, k) => ((k === 0 ? isStart : isPart)(c.codePointAt(0)!) && c !== "$" ? c : "_"))
      .join("");
    if (!isStart(base.codePointAt(0) ?? 0)) base = `_${base}`;
    if (!this.taken.has(base)) {
      this.taken.add(base);
      return base;
    }
    for (let i = 1; ; i++) {
      const cand = `${base}_${i}`;
      if (!this.taken.has(cand)) {
        this.taken.add(cand);
        return cand;
      }
    }
  }
}
