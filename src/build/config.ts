import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import type { Code } from "../diagnostics/catalogue.js";
import { UserError } from "../diagnostics/usage.js";

/** Project settings for `gradc build`: gradc.config.json, or the "gradc" key of package.json. */
export interface BuildConfig {
  /** globs of .grad files, relative to the project root */
  readonly include: readonly string[];
  /** where outputs go; a file keeps its path below its glob's fixed prefix (examples/a.grad -> outDir/a.ts) */
  readonly outDir: string;
  readonly dtype: "f64" | "f32";
  /** "wasm": batchGradients runs its matrix products as WebAssembly SIMD kernels */
  readonly target: "ts" | "wasm";
  /** also write the worked derivation beside each module */
  readonly explain: readonly ("md" | "tex")[];
  /** outDir may lie outside the project (an absolute path elsewhere, or "../x"): only when this says so */
  readonly outsideRoot?: boolean;
}

const defaults: BuildConfig = {
  include: ["**/*.grad"],
  outDir: "generated",
  dtype: "f64",
  target: "ts",
  explain: [],
};

/** A bad gradc.config.json (or "gradc" key of package.json): the message names the file and the setting. */
export class ConfigError<C extends Code = Code> extends UserError<C> {}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as unknown;
  } catch (e) {
    throw new ConfigError("E510", { file: path, reason: (e as Error).message });
  }
}

/** the settings as written, and where: gradc.config.json, else the "gradc" key of package.json */
function rawSettings(root: string): { raw: unknown; from: string } {
  const file = join(root, "gradc.config.json");
  if (existsSync(file)) return { raw: readJson(file), from: "gradc.config.json" };
  if (!existsSync(join(root, "package.json"))) return { raw: undefined, from: "defaults" };
  const pkg = readJson(join(root, "package.json")) as Record<string, unknown>;
  return pkg.gradc === undefined
    ? { raw: undefined, from: "defaults" }
    : { raw: pkg.gradc, from: 'package.json "gradc"' };
}

export function loadConfig(root: string): { config: BuildConfig; from: string } {
  const { raw, from } = rawSettings(root);
  if (raw === undefined) return { config: defaults, from };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError("E511", { from });
  const o = raw as Record<string, unknown>;
  const known = ["include", "outDir", "dtype", "target", "explain", "outsideRoot"];
  for (const k of Object.keys(o))
    if (!known.includes(k)) throw new ConfigError("E512", { from, key: k, known: known.join(", ") });
  const strings = (v: unknown, what: string) => {
    const a = typeof v === "string" ? [v] : v;
    if (!Array.isArray(a) || !a.every((x) => typeof x === "string"))
      throw new ConfigError("E513", { from, setting: what, expected: "a string or a list of strings" });
    return a as string[];
  };
  const config: BuildConfig = {
    include: o.include === undefined ? defaults.include : strings(o.include, "include"),
    outDir:
      o.outDir === undefined
        ? defaults.outDir
        : typeof o.outDir === "string"
          ? o.outDir
          : (() => {
              throw new ConfigError("E513", { from, setting: "outDir", expected: "a string" });
            })(),
    dtype:
      o.dtype === undefined
        ? "f64"
        : o.dtype === "f64" || o.dtype === "f32"
          ? o.dtype
          : (() => {
              throw new ConfigError("E513", { from, setting: "dtype", expected: '"f64" or "f32"' });
            })(),
    target:
      o.target === undefined
        ? "ts"
        : o.target === "ts" || o.target === "wasm"
          ? o.target
          : (() => {
              throw new ConfigError("E513", { from, setting: "target", expected: '"ts" or "wasm"' });
            })(),
    explain:
      o.explain === undefined
        ? []
        : strings(o.explain, "explain").map((f) => {
            if (f !== "md" && f !== "tex")
              throw new ConfigError("E513", { from, setting: "explain", expected: '"md", "tex" or both' });
            return f;
          }),
    ...(o.outsideRoot === undefined
      ? {}
      : typeof o.outsideRoot === "boolean"
        ? { outsideRoot: o.outsideRoot }
        : (() => {
            throw new ConfigError("E513", { from, setting: "outsideRoot", expected: "true or false" });
          })()),
  };
  const out = resolve(root, config.outDir);
  const rel = relative(resolve(root), out);
  if ((rel.startsWith("..") || isAbsolute(rel)) && !config.outsideRoot)
    throw new ConfigError("E514", { from, outDir: JSON.stringify(config.outDir), path: out });
  return { config, from };
}
