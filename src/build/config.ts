import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";

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

export class ConfigError extends Error {}

export function loadConfig(root: string): { config: BuildConfig; from: string } {
  let raw: unknown;
  let from = "defaults";
  const file = join(root, "gradc.config.json");
  const read = (path: string) => {
    try {
      return JSON.parse(readFileSync(path, "utf8")) as unknown;
    } catch (e) {
      throw new ConfigError(`${path}: ${(e as Error).message}`);
    }
  };
  if (existsSync(file)) {
    raw = read(file);
    from = "gradc.config.json";
  } else if (existsSync(join(root, "package.json"))) {
    const pkg = read(join(root, "package.json")) as Record<string, unknown>;
    if (pkg.gradc !== undefined) {
      raw = pkg.gradc;
      from = 'package.json "gradc"';
    }
  }
  if (raw === undefined) return { config: defaults, from };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new ConfigError(`${from}: expected an object`);
  const o = raw as Record<string, unknown>;
  const known = ["include", "outDir", "dtype", "target", "explain", "outsideRoot"];
  for (const k of Object.keys(o))
    if (!known.includes(k)) throw new ConfigError(`${from}: unknown setting "${k}" (settings: ${known.join(", ")})`);
  const strings = (v: unknown, what: string) => {
    const a = typeof v === "string" ? [v] : v;
    if (!Array.isArray(a) || !a.every((x) => typeof x === "string"))
      throw new ConfigError(`${from}: "${what}" must be a string or a list of strings`);
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
              throw new ConfigError(`${from}: "outDir" must be a string`);
            })(),
    dtype:
      o.dtype === undefined
        ? "f64"
        : o.dtype === "f64" || o.dtype === "f32"
          ? o.dtype
          : (() => {
              throw new ConfigError(`${from}: "dtype" must be "f64" or "f32"`);
            })(),
    target:
      o.target === undefined
        ? "ts"
        : o.target === "ts" || o.target === "wasm"
          ? o.target
          : (() => {
              throw new ConfigError(`${from}: "target" must be "ts" or "wasm"`);
            })(),
    explain:
      o.explain === undefined
        ? []
        : strings(o.explain, "explain").map((f) => {
            if (f !== "md" && f !== "tex") throw new ConfigError(`${from}: "explain" takes "md" and "tex"`);
            return f;
          }),
    ...(o.outsideRoot === undefined
      ? {}
      : typeof o.outsideRoot === "boolean"
        ? { outsideRoot: o.outsideRoot }
        : (() => {
            throw new ConfigError(`${from}: "outsideRoot" must be true or false`);
          })()),
  };
  const out = resolve(root, config.outDir);
  const rel = relative(resolve(root), out);
  if ((rel.startsWith("..") || isAbsolute(rel)) && !config.outsideRoot)
    throw new ConfigError(
      `${from}: "outDir" ${JSON.stringify(config.outDir)} is outside the project (${out}); set "outsideRoot": true to write there`,
    );
  return { config, from };
}
