/**
 * The shape of the source tree: no import cycles, and no stage imports a later one. The order
 * below is the pipeline's (docs/architecture.md); a module may import its own layer and earlier ones.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const LAYERS = [
  "source",
  "util",
  "diagnostics",
  "shape",
  "code",
  "ops",
  "parse",
  "ir",
  "rules",
  "lang",
  "check",
  "lower",
  "optimize",
  "autodiff",
  "batch",
  "eval",
  "emit",
  "emit/wasm",
  "emit/ts",
  "pipeline.ts",
  "explain",
  "flow",
  "plot",
  "index.ts",
  "build",
  "plugin",
  "cli",
];

function sources(dir = "src"): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** src-relative paths a file imports (static, re-exports and dynamic), as .ts files */
function importsOf(file: string): string[] {
  const specs = ts
    .preProcessFile(readFileSync(file, "utf8"), true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((s) => s.startsWith("."));
  return specs.map((s) => relative("src", join(dirname(file), s)).replace(/\.js$/, ".ts"));
}

/** the layer of a src-relative path: the longest entry of LAYERS that is a prefix of it */
function layerOf(path: string): number {
  const candidates = LAYERS.map((l, i) => [l, i] as const).filter(([l]) => path === l || path.startsWith(`${l}/`));
  if (!candidates.length) throw new Error(`${path}: not in any layer; add its folder to LAYERS`);
  return candidates.sort((a, b) => b[0].length - a[0].length)[0][1];
}

const graph = new Map(sources().map((f) => [relative("src", f), importsOf(f)]));

/** Strongly connected components with more than one file (or a file importing itself), Tarjan's algorithm. */
function cycles(g: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      on.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
  };
  for (const v of [...g.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

describe("the source tree", () => {
  it("every import names a file that exists", () => {
    const missing = [...graph].flatMap(([f, deps]) => deps.filter((d) => !graph.has(d)).map((d) => `${f} -> ${d}`));
    expect(missing).toEqual([]);
  });

  it("has no import cycle", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("finds a cycle when there is one (the check itself)", () => {
    const g = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["a.ts"]],
    ]);
    expect(cycles(g)).toEqual([["a.ts", "b.ts", "c.ts"]]);
  });

  it("no stage imports a later one", () => {
    const backwards = [...graph].flatMap(([f, deps]) =>
      deps
        .filter((d) => layerOf(d) > layerOf(f))
        .map((d) => `${f} (${LAYERS[layerOf(f)]}) imports ${d} (${LAYERS[layerOf(d)]})`),
    );
    expect(backwards).toEqual([]);
  });
});

/** what a module loads when it is imported: static imports and re-exports that are not type-only */
function runtimeImports(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const out: string[] = [];
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) && !st.importClause?.isTypeOnly)
      out.push((st.moduleSpecifier as ts.StringLiteral).text);
    if (ts.isExportDeclaration(st) && st.moduleSpecifier && !st.isTypeOnly)
      out.push((st.moduleSpecifier as ts.StringLiteral).text);
  }
  return out.map((s) => (s.startsWith(".") ? join(dirname(file), s).replace(/\.js$/, ".ts") : s));
}

/** every package a module loads, through its relative imports */
function packagesLoadedBy(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const stack = [entry];
  while (stack.length) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const i of runtimeImports(f)) {
      if (i.startsWith("src/") || i.startsWith("src\\")) stack.push(i);
      else packages.add(i.startsWith("@") ? i.split("/").slice(0, 2).join("/") : i.split("/")[0]);
    }
  }
  return packages;
}

describe("what each command loads (CLI start-up, #16)", () => {
  it("the compile pipeline loads neither mathjs, Graphviz nor the TypeScript compiler (prettier only to format); rule formulas and identifier tables are precompiled", () => {
    const loaded = packagesLoadedBy("src/pipeline.ts");
    expect(loaded).not.toContain("mathjs");
    expect(loaded).not.toContain("@viz-js/viz");
    expect(loaded).not.toContain("ts-morph");
    expect(loaded).not.toContain("typescript");
    expect(loaded).not.toContain("prettier"); // loaded only when a module is formatted
    expect(packagesLoadedBy("src/explain/derive.ts")).toContain("mathjs"); // the check itself sees packages
  });
  it("the compiler's API (compile, explain, graph, flow) loads no Node module: it runs in a browser (#15)", () => {
    for (const entry of ["src/index.ts", "src/flow/flow.ts"])
      expect(
        [...packagesLoadedBy(entry)].filter((p) => p.startsWith("node:")),
        entry,
      ).toEqual([]);
  });
  it("the CLI's entry loads no part of the compiler until a command runs", () => {
    const loaded = packagesLoadedBy("src/cli/main.ts");
    expect([...loaded].filter((p) => !p.startsWith("node:")).sort()).toEqual(["commander"]);
  });
});

describe("code outside the type-checked project (bench/, whose dependencies CI does not install)", () => {
  it("imports only names that src/ exports", () => {
    const missing: string[] = [];
    for (const file of readdirSync("bench").filter((f) => f.endsWith(".ts"))) {
      const text = readFileSync(join("bench", file), "utf8");
      for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"(\.\.\/src\/[^"]+)"/g)) {
        const target = readFileSync(join("bench", m[2]).replace(/\.js$/, ".ts"), "utf8");
        for (const raw of m[1].split(",")) {
          const name = raw
            .replace(/^\s*type\s+/, "")
            .trim()
            .split(/\s+as\s+/)[0];
          if (!name) continue;
          const exported = new RegExp(
            `export\\s+(async\\s+)?(function|const|let|class|interface|type)\\s+${name}\\b|export\\s+(type\\s+)?\\{[^}]*\\b${name}\\b[^}]*\\}|export\\s*\\{[^}]*\\b${name}\\b[^}]*\\}`,
          ).test(target);
          if (!exported) missing.push(`bench/${file}: ${name} from ${m[2]}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
