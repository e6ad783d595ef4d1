import { existsSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { glob } from "tinyglobby";
import { compile, CompileError, explain, renderDiagnostics, sourceHash } from "../index.js";
import { writeAtomic } from "../util/files.js";
import { moduleOptions, readHeader } from "../emit/ts/header.js";
import type { BuildConfig } from "./config.js";

export interface Target {
  /** the source, relative to the root, with "/" */
  readonly source: string;
  /** outputs, relative to the root: the module first, then derivations */
  readonly outputs: readonly { readonly path: string; readonly kind: "ts" | "md" | "tex" }[];
}

const posix = (p: string) => p.split(sep).join("/");
/** the part of a glob before its first wildcard: "models/**\/*.grad" -> "models" */
const fixedPrefix = (pattern: string) => {
  const parts = pattern.split("/");
  const i = parts.findIndex((p) => /[*?[\]{}!]/.test(p));
  return parts.slice(0, i < 0 ? parts.length - 1 : i).join("/");
};

/** Every .grad file the config includes, and where its outputs go. */
export async function targets(root: string, config: BuildConfig): Promise<Target[]> {
  const seen = new Map<string, Target>();
  for (const pattern of config.include) {
    const prefix = fixedPrefix(pattern);
    const files = await glob(pattern, {
      cwd: root,
      ignore: ["**/node_modules/**", `${config.outDir}/**`],
      onlyFiles: true,
    });
    for (const f of files.map(posix).sort()) {
      if (!f.endsWith(".grad") || seen.has(f)) continue;
      const rel = prefix ? posix(relative(prefix, f)) : f;
      const stem = rel.replace(/\.grad$/, "");
      const base = posix(join(config.outDir, stem));
      seen.set(f, {
        source: f,
        outputs: [
          { path: `${base}.ts`, kind: "ts" },
          ...config.explain.map((k) => ({ path: `${base}.${k}`, kind: k })),
        ],
      });
    }
  }
  return [...seen.values()].sort((a, b) => a.source.localeCompare(b.source));
}

export interface BuildReport {
  readonly built: number;
  readonly skipped: number;
  readonly failed: number;
  /** --check: outputs that are missing or differ */
  readonly stale: readonly string[];
}

/** What a target's outputs should contain. Throws CompileError. */
async function render(root: string, t: Target, config: BuildConfig): Promise<Map<string, string>> {
  const text = readFileSync(join(root, t.source), "utf8");
  const out = new Map<string, string>();
  for (const o of t.outputs) {
    if (o.kind === "ts")
      out.set(
        o.path,
        (await compile(text, { filename: t.source, dtype: config.dtype, target: config.target })).typescript,
      );
    else out.set(o.path, explain(text, { filename: t.source, format: o.kind }).text);
  }
  return out;
}

/** A module is up to date when its header names this source and these settings, and its body is the one the header hashed. */
function moduleUpToDate(path: string, text: string, config: BuildConfig): boolean {
  const header = readHeader(readFileSync(path, "utf8"));
  return (
    header !== undefined &&
    header.intact &&
    header.hash === sourceHash(text) &&
    header.options === moduleOptions(config)
  );
}

export async function buildOne(
  root: string,
  t: Target,
  config: BuildConfig,
  opts: { force?: boolean },
  print: (s: string) => void,
): Promise<"built" | "skipped" | "failed"> {
  const text = readFileSync(join(root, t.source), "utf8");
  const module = join(root, t.outputs[0].path);
  const upToDate =
    !opts.force && t.outputs.every((o) => existsSync(join(root, o.path))) && moduleUpToDate(module, text, config);
  if (upToDate) {
    print(`  unchanged  ${t.source}\n`);
    return "skipped";
  }
  try {
    const outputs = await render(root, t, config);
    for (const [path, content] of outputs) writeAtomic(join(root, path), content);
    print(`  built      ${t.source} -> ${[...outputs.keys()].join(", ")}\n`);
    return "built";
  } catch (e) {
    if (!(e instanceof CompileError)) throw e;
    print(renderDiagnostics(e.diagnostics, text));
    print(`  failed     ${t.source} (its previous output is kept)\n`);
    return "failed";
  }
}

/** gradc build: compile what changed; with check, write nothing and list what is stale. */
export async function build(
  root: string,
  config: BuildConfig,
  opts: { check?: boolean; force?: boolean },
  print: (s: string) => void,
): Promise<BuildReport> {
  const ts = await targets(root, config);
  let built = 0,
    skipped = 0,
    failed = 0;
  const stale: string[] = [];
  for (const t of ts) {
    if (opts.check) {
      try {
        const want = await render(root, t, config);
        for (const [path, content] of want) {
          const full = join(root, path);
          if (!existsSync(full)) stale.push(`${path} (missing; from ${t.source})`);
          else if (readFileSync(full, "utf8") !== content) stale.push(`${path} (stale; from ${t.source})`);
        }
      } catch (e) {
        if (!(e instanceof CompileError)) throw e;
        print(renderDiagnostics(e.diagnostics, readFileSync(join(root, t.source), "utf8")));
        failed++;
      }
      continue;
    }
    const r = await buildOne(root, t, config, opts, print);
    if (r === "built") built++;
    else if (r === "skipped") skipped++;
    else failed++;
  }
  if (opts.check) {
    for (const s of stale) print(`  stale      ${s}\n`);
    print(
      stale.length || failed
        ? `gradc build --check: ${stale.length} stale or missing output${stale.length === 1 ? "" : "s"}${failed ? `, ${failed} source${failed === 1 ? "" : "s"} with errors` : ""}; run gradc build\n`
        : `gradc build --check: ${ts.length} source${ts.length === 1 ? "" : "s"}, all outputs up to date\n`,
    );
  } else
    print(
      `gradc build: ${built} built, ${skipped} unchanged, ${failed} failed (${ts.length} source${ts.length === 1 ? "" : "s"})\n`,
    );
  return { built, skipped, failed, stale };
}
