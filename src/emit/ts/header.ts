/**
 * The generated module's header: printed here from templates/module-header.txt, and read back
 * here (by `gradc build`, to skip what is up to date), so the two cannot drift apart.
 */
import { fillTemplate, templateText } from "../template.js";
import { safeComment } from "../../code/syntax.js";
import { sha256 } from "../../util/sha256.js";

export interface HeaderFields {
  /** the source's display name */
  readonly source: string;
  /** sha256 of the source text */
  readonly hash: string;
  /** what, besides the source, the module was compiled with (`moduleOptions`) */
  readonly options: string;
}

/** The header's "gradc options:" value: what, besides the source, the module was compiled with. */
export function moduleOptions(o: {
  readonly dtype: "f64" | "f32";
  readonly target?: "ts" | "wasm";
  readonly debug?: unknown;
  readonly units?: boolean;
}): string {
  return `dtype=${o.dtype}${o.debug ? " debug" : ""}${o.units ? " units" : ""}${o.target === "wasm" ? " target=wasm" : ""}`;
}

/** `body` under its header, which records the hash of `body` itself (a truncated file is then seen as stale). */
export function withHeader(body: string, fields: HeaderFields): string {
  const header = fillTemplate("module-header.txt", {
    source: safeComment(fields.source),
    hash: fields.hash,
    options: fields.options,
    output: sha256(body),
  });
  return `${header}\n${body}`;
}

/** The template as a pattern: a {{hole}} captures the rest of its line, a repeated hole matches the same text. */
let pattern: RegExp | undefined;
function headerPattern(): RegExp {
  return (pattern ??= compileHeaderPattern());
}

function compileHeaderPattern(): RegExp {
  const seen = new Set<string>();
  const parts = templateText("module-header.txt").split(/\{\{(\w+)\}\}/);
  const pieces = parts.map((part, i) => {
    if (i % 2 === 0) return part.replace(/[.*+?^${}()|[\]\\/]/g, (c) => `\\${c}`);
    if (seen.has(part)) return `\\k<${part}>`;
    seen.add(part);
    return `(?<${part}>[^\\n]*)`;
  });
  return new RegExp(`^${pieces.join("")}\\n`);
}

export interface ReadHeader extends HeaderFields {
  /** the body after the header is exactly what the header's output hash says */
  readonly intact: boolean;
}

/** The header of a generated module's text, or undefined when it has none (not gradc's, or an older layout). */
export function readHeader(text: string): ReadHeader | undefined {
  const m = headerPattern().exec(text);
  const g = m?.groups;
  if (!m || !g) return undefined;
  const body = text.slice(m[0].length);
  return { source: g.source, hash: g.hash, options: g.options, intact: sha256(body) === g.output };
}
