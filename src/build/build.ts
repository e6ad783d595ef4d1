import { existsSync, readFileSync, rmSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { glob } from "tinyglobby";
import { compile, CompileError, explain, renderDiagnostics, sourceHash } from "../index.js";
import { UserError } from "../diagnostics/usage.js";
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

/** A file of the project on disk: output paths are relative to the root, or absolute outside it. */
const onDisk = (root: string, path: string) => resolve(root, path);

/** outDir as outputs name it: relative to the root (with "/") when inside it, else absolute */
function outDirOf(root: string, config: BuildConfig): string {
  const abs = resolve(root, config.outDir);
  const rel = relative(resolve(root), abs);
  return rel.startsWith("..") || isAbsolute(rel) ? abs : posix(rel) || ".";
}

/** Every .grad file the config includes, and where its outputs go. */
export async function targets(root: string, config: BuildConfig): Promise<Target[]> {
  const seen = new Map<string, Target>();
  const outDir = outDirOf(root, config);
  for (const pattern of config.include) {
    const prefix = fixedPrefix(pattern);
    const files = await glob(pattern, {
      cwd: root,
      ignore: ["**/node_modules/**", ...(isAbsolute(outDir) || outDir === "." ? [] : [`${outDir}/**`])],
      onlyFiles: true,
    });
    for (const f of files.map(posix).sort()) {
      if (!f.endsWith(".grad") || seen.has(f)) continue;
      const rel = prefix ? posix(relative(prefix, f)) : f;
      const stem = rel.replace(/\.grad$/, "");
      const base = posix(join(outDir, stem));
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
  /** gradc outputs in outDir that no source writes any more (deleted or renamed sources) */
  readonly orphans: readonly string[];
}

/** What a target's outputs should contain. Throws CompileError. */
async function render(root: string, t: Target, config: BuildConfig): Promise<Map<string, string>> {
  const text = readFileSync(onDisk(root, t.source), "utf8");
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
  let text = "";
  try {
    text = readFileSync(onDisk(root, t.source), "utf8");
    const module = onDisk(root, t.outputs[0].path);
    const upToDate =
      !opts.force && t.outputs.every((o) => existsSync(onDisk(root, o.path))) && moduleUpToDate(module, text, config);
    if (upToDate) {
      print(`  unchanged  ${t.source}\n`);
      return "skipped";
    }
    const outputs = await render(root, t, config);
    for (const [path, content] of outputs) writeAtomic(onDisk(root, path), content);
    print(`  built      ${t.source} -> ${[...outputs.keys()].join(", ")}\n`);
    return "built";
  } catch (e) {
    print(failure(e, text, t.source));
    print(`  failed     ${t.source} (its previous output is kept)\n`);
    return "failed";
  }
}

/**
 * Why a source failed, for the build log: its diagnostics, a user error's message, or (a bug in
 * gradc) the internal error, so that one model never stops the build of the others.
 */
function failure(e: unknown, text: string, source: string): string {
  if (e instanceof CompileError) return renderDiagnostics(e.diagnostics, text);
  if (e instanceof UserError) return `gradc: ${e.message}\n`;
  const what = e instanceof Error ? e.message : String(e);
  if (e instanceof Error && "syscall" in e) return `gradc: ${source}: ${what}\n`;
  return `gradc: internal error while building ${source} (please report it): ${what}\n`;
}

const GENERATED = /^(\/\/ Generated by gradc from |<!-- Generated by gradc from |% Generated by gradc from )/;

/** gradc's outputs in outDir (a module, a derivation: by their first line) that none of `ts` writes */
async function orphans(root: string, config: BuildConfig, ts: readonly Target[]): Promise<string[]> {
  const outDir = outDirOf(root, config);
  const dir = onDisk(root, outDir);
  if (!existsSync(dir)) return [];
  const expected = new Set(ts.flatMap((t) => t.outputs.map((o) => onDisk(root, o.path))));
  const files = await glob(["**/*.ts", "**/*.md", "**/*.tex"], {
    cwd: dir,
    ignore: ["**/node_modules/**"],
    onlyFiles: true,
    followSymbolicLinks: false,
  });
  return files
    .map((f) => join(dir, f))
    .filter((f) => !expected.has(f) && GENERATED.test(readFileSync(f, "utf8").slice(0, 200)))
    .map((f) => (isAbsolute(outDir) ? f : posix(relative(resolve(root), f))))
    .sort();
}

/** --check of one source: its outputs that are missing or differ from a fresh build, or why it failed */
async function checkOne(
  root: string,
  t: Target,
  config: BuildConfig,
  print: (s: string) => void,
): Promise<{ stale: string[]; failed: boolean }> {
  try {
    const stale: string[] = [];
    for (const [path, content] of await render(root, t, config)) {
      const full = onDisk(root, path);
      if (!existsSync(full)) stale.push(`${path} (missing; from ${t.source})`);
      else if (readFileSync(full, "utf8") !== content) stale.push(`${path} (stale; from ${t.source})`);
    }
    return { stale, failed: false };
  } catch (e) {
    const text = existsSync(onDisk(root, t.source)) ? readFileSync(onDisk(root, t.source), "utf8") : "";
    print(failure(e, text, t.source));
    return { stale: [], failed: true };
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * gradc build: compile what changed (one source failing never stops the others); with check,
 * write nothing and list what is stale; outputs whose source is gone are reported, and removed
 * with prune.
 */
export async function build(
  root: string,
  config: BuildConfig,
  opts: { check?: boolean; force?: boolean; prune?: boolean },
  print: (s: string) => void,
): Promise<BuildReport> {
  const ts = await targets(root, config);
  const counts = { built: 0, skipped: 0, failed: 0 };
  const stale: string[] = [];
  for (const t of ts) {
    if (opts.check) {
      const r = await checkOne(root, t, config, print);
      stale.push(...r.stale);
      if (r.failed) counts.failed++;
    } else counts[await buildOne(root, t, config, opts, print)]++;
  }
  const gone = await orphans(root, config, ts);
  if (opts.check) {
    for (const x of stale) print(`  stale      ${x}\n`);
    for (const x of gone) print(`  orphan     ${x} (no source writes it any more; gradc build --prune removes it)\n`);
    const problems = [
      stale.length ? `${plural(stale.length, "stale or missing output")}` : "",
      gone.length ? `${plural(gone.length, "orphaned output")}` : "",
      counts.failed ? `${plural(counts.failed, "source")} with errors` : "",
    ].filter(Boolean);
    print(
      problems.length
        ? `gradc build --check: ${problems.join(", ")}; run gradc build${gone.length ? " --prune" : ""}\n`
        : `gradc build --check: ${plural(ts.length, "source")}, all outputs up to date\n`,
    );
  } else {
    for (const x of gone) {
      if (opts.prune) rmSync(onDisk(root, x));
      print(
        opts.prune
          ? `  pruned     ${x} (no source writes it any more)\n`
          : `  orphan     ${x} (no source writes it any more; gradc build --prune removes it)\n`,
      );
    }
    print(
      `gradc build: ${counts.built} built, ${counts.skipped} unchanged, ${counts.failed} failed (${plural(ts.length, "source")})${opts.prune && gone.length ? `, ${gone.length} pruned` : ""}\n`,
    );
  }
  return { ...counts, stale, orphans: gone };
}
