import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { build, targets } from "../src/build/build.js";
import { loadConfig } from "../src/build/config.js";
import { watchProject } from "../src/build/watch.js";
import { compile } from "../src/index.js";

function project(config?: object): string {
  const root = mkdtempSync(join(tmpdir(), "gradc-build-"));
  mkdirSync(join(root, "models"));
  cpSync("examples/lecture.grad", join(root, "models/lecture.grad"));
  cpSync("examples/tiny-mlp.grad", join(root, "models/tiny.grad"));
  if (config) writeFileSync(join(root, "gradc.config.json"), JSON.stringify(config));
  return root;
}
/** models/*.grad into gen/, f64 TypeScript, no derivations */
const plain = { include: ["models/*.grad"], outDir: "gen", dtype: "f64" as const, target: "ts" as const, explain: [] };

const collect = () => {
  const lines: string[] = [];
  return { print: (s: string) => void lines.push(s), text: () => lines.join("") };
};

describe("gradc build", () => {
  it("reads gradc.config.json, or the gradc key of package.json, with defaults", () => {
    expect(loadConfig(project()).config).toEqual({
      include: ["**/*.grad"],
      outDir: "generated",
      dtype: "f64",
      target: "ts",
      explain: [],
    });
    expect(
      loadConfig(project({ include: "models/*.grad", outDir: "out", dtype: "f32", target: "wasm", explain: ["md"] }))
        .config,
    ).toEqual({ include: ["models/*.grad"], outDir: "out", dtype: "f32", target: "wasm", explain: ["md"] });
    const root = project();
    writeFileSync(join(root, "package.json"), JSON.stringify({ name: "x", gradc: { outDir: "src/gen" } }));
    expect(loadConfig(root)).toMatchObject({ config: { outDir: "src/gen" }, from: 'package.json "gradc"' });
  });

  it("explains bad settings", () => {
    expect(() => loadConfig(project({ outdir: "x" }))).toThrow(
      'gradc.config.json: unknown setting "outdir" (settings: include, outDir, dtype, target, explain, outsideRoot)',
    );
    expect(() => loadConfig(project({ dtype: "f16" }))).toThrow('"dtype" must be "f64" or "f32"');
    expect(() => loadConfig(project({ target: "webgpu" }))).toThrow(
      'gradc.config.json: "target" must be "ts" or "wasm"',
    );
    const root = project();
    writeFileSync(join(root, "gradc.config.json"), "{ not json");
    expect(() => loadConfig(root)).toThrow("gradc.config.json");
  });

  it("maps sources below the glob's fixed prefix into outDir", async () => {
    const t = await targets(project(), {
      include: ["models/*.grad"],
      outDir: "gen",
      dtype: "f64",
      target: "ts",
      explain: ["md", "tex"],
    });
    expect(t).toEqual([
      {
        source: "models/lecture.grad",
        outputs: [
          { path: "gen/lecture.ts", kind: "ts" },
          { path: "gen/lecture.md", kind: "md" },
          { path: "gen/lecture.tex", kind: "tex" },
        ],
      },
      {
        source: "models/tiny.grad",
        outputs: [
          { path: "gen/tiny.ts", kind: "ts" },
          { path: "gen/tiny.md", kind: "md" },
          { path: "gen/tiny.tex", kind: "tex" },
        ],
      },
    ]);
  });

  it("builds, skips unchanged sources, and --check finds stale and missing outputs", async () => {
    const config = {
      include: ["models/*.grad"],
      outDir: "gen",
      dtype: "f64" as const,
      target: "ts" as const,
      explain: ["md" as const],
    };
    const root = project(config);
    const a = collect();
    expect(await build(root, config, { check: true }, a.print)).toMatchObject({
      stale: [
        "gen/lecture.ts (missing; from models/lecture.grad)",
        "gen/lecture.md (missing; from models/lecture.grad)",
        "gen/tiny.ts (missing; from models/tiny.grad)",
        "gen/tiny.md (missing; from models/tiny.grad)",
      ],
    });
    const b = collect();
    expect(await build(root, config, {}, b.print)).toMatchObject({ built: 2, skipped: 0, failed: 0 });
    expect(b.text()).toContain("gradc build: 2 built, 0 unchanged, 0 failed (2 sources)");
    expect(readFileSync(join(root, "gen/lecture.ts"), "utf8")).toBe(
      (await compile(readFileSync("examples/lecture.grad", "utf8"), { filename: "models/lecture.grad" })).typescript,
    );
    expect(await build(root, config, {}, () => {})).toMatchObject({ built: 0, skipped: 2 });
    expect(await build(root, config, { check: true }, () => {})).toMatchObject({ stale: [] });
    writeFileSync(
      join(root, "models/tiny.grad"),
      readFileSync(join(root, "models/tiny.grad"), "utf8").replace("1e-3", "2e-3"),
    );
    const c = collect();
    expect(await build(root, config, { check: true }, c.print)).toMatchObject({
      stale: ["gen/tiny.ts (stale; from models/tiny.grad)", "gen/tiny.md (stale; from models/tiny.grad)"],
    });
    expect(c.text()).toContain("gradc build --check: 2 stale or missing outputs; run gradc build");
    expect(await build(root, config, {}, () => {})).toMatchObject({ built: 1, skipped: 1 });
  });

  it("repairs a module truncated below its header: build and --check agree that it is stale", async () => {
    const config = { ...plain };
    const root = project(config);
    await build(root, config, {}, () => {});
    const path = join(root, "gen/lecture.ts");
    const whole = readFileSync(path, "utf8");
    writeFileSync(path, whole.slice(0, Math.floor(whole.length / 2)));
    expect(await build(root, config, { check: true }, () => {})).toMatchObject({
      stale: ["gen/lecture.ts (stale; from models/lecture.grad)"],
    });
    expect(await build(root, config, {}, () => {})).toMatchObject({ built: 1, skipped: 1 });
    expect(readFileSync(path, "utf8")).toBe(whole);
    // a hand edit below the header is stale too
    writeFileSync(path, whole.replace("export function loss", "export function loss2"));
    expect(await build(root, config, {}, () => {})).toMatchObject({ built: 1, skipped: 1 });
  });

  it("builds --target wasm modules, and rebuilds when the target changes", async () => {
    const wasm = {
      include: ["models/*.grad"],
      outDir: "gen",
      dtype: "f32" as const,
      target: "wasm" as const,
      explain: [],
    };
    const root = project(wasm);
    cpSync("examples/mlp.grad", join(root, "models/mlp.grad"));
    expect(await build(root, wasm, {}, () => {})).toMatchObject({ built: 3 });
    const mlp = readFileSync(join(root, "gen/mlp.ts"), "utf8");
    expect(mlp).toContain("// gradc options: dtype=f32 target=wasm\n");
    expect(mlp).toContain("export async function init(): Promise<void>");
    expect(await build(root, wasm, {}, () => {})).toMatchObject({ built: 0, skipped: 3 });
    // the same sources with the TypeScript target: every module is rebuilt, none is kept as up to date
    expect(await build(root, { ...wasm, target: "ts" }, {}, () => {})).toMatchObject({ built: 3, skipped: 0 });
    expect(readFileSync(join(root, "gen/mlp.ts"), "utf8")).not.toContain("WebAssembly");
  }, 60_000);

  it("keeps the previous output when a source has errors", async () => {
    const config = { ...plain };
    const root = project(config);
    await build(root, config, {}, () => {});
    const before = readFileSync(join(root, "gen/lecture.ts"), "utf8");
    writeFileSync(join(root, "models/lecture.grad"), "param w\nloss = rleu(w)\n");
    const out = collect();
    expect(await build(root, config, {}, out.print)).toMatchObject({ failed: 1 });
    expect(out.text()).toContain("models/lecture.grad:2:8: error[E104]: unknown function 'rleu'");
    expect(readFileSync(join(root, "gen/lecture.ts"), "utf8")).toBe(before);
  });
});

describe("gradc build on projects nobody tidied (#16)", () => {
  const base = { include: ["models/*.grad"], dtype: "f64" as const, target: "ts" as const, explain: [] };

  it("a model that stops explain (a formula thousands deep) fails alone; the others are built", async () => {
    const config = { ...base, outDir: "gen", explain: ["md" as const] };
    const root = project(config);
    const deep = `param w\nloss = ${Array.from({ length: 400 }, () => "w").join(" + ")}\n`;
    writeFileSync(join(root, "models/a-deep.grad"), deep);
    const out = collect();
    expect(await build(root, config, {}, out.print)).toMatchObject({ built: 2, failed: 1 });
    expect(out.text()).toContain(
      "gradc: error[E540]: models/a-deep.grad has a formula nested more than 200 operations deep",
    );
    expect(out.text()).toContain("failed     models/a-deep.grad");
    expect(existsSync(join(root, "gen/tiny.ts"))).toBe(true);
    // --check goes on past it too
    expect(await build(root, config, { check: true }, () => {})).toMatchObject({ failed: 1, stale: [] });
  });

  it("an absolute outDir inside the project is written there and reported relative to the root", async () => {
    const root = project();
    const config = { ...base, outDir: join(root, "gen") };
    const out = collect();
    expect(await build(root, config, {}, out.print)).toMatchObject({ built: 2 });
    expect(out.text()).toContain("models/lecture.grad -> gen/lecture.ts");
    expect(existsSync(join(root, "gen/lecture.ts"))).toBe(true);
    expect(existsSync(join(root, root.slice(1), "gen/lecture.ts"))).toBe(false);
  });

  it('an outDir outside the project ("../x") is refused unless "outsideRoot": true', async () => {
    const root = project({ outDir: "../elsewhere" });
    expect(() => loadConfig(root)).toThrow(
      /error\[E514\]: gradc.config.json: "outDir" "..\/elsewhere" is outside the project .*\n {2}= hint: set "outsideRoot": true/,
    );
    const outside = mkdtempSync(join(tmpdir(), "gradc-outside-"));
    const ok = project({ include: ["models/*.grad"], outDir: outside, outsideRoot: true });
    const { config } = loadConfig(ok);
    const out = collect();
    expect(await build(ok, config, {}, out.print)).toMatchObject({ built: 2 });
    expect(out.text()).toContain(`models/tiny.grad -> ${join(outside, "tiny.ts")}`);
    expect(existsSync(join(outside, "tiny.ts"))).toBe(true);
  });

  it("outputs of a deleted source are reported by --check and by build, and removed by --prune", async () => {
    const config = { ...base, outDir: "gen", explain: ["md" as const] };
    const root = project(config);
    await build(root, config, {}, () => {});
    writeFileSync(join(root, "gen/notes.md"), "# my own notes, not gradc's\n");
    rmSync(join(root, "models/tiny.grad"));
    const c = collect();
    const checked = await build(root, config, { check: true }, c.print);
    expect(checked.orphans).toEqual(["gen/tiny.md", "gen/tiny.ts"]);
    expect(c.text()).toContain("orphan     gen/tiny.ts (no source writes it any more; gradc build --prune removes it)");
    expect(c.text()).toContain("gradc build --check: 2 orphaned outputs; run gradc build --prune");
    const b = collect();
    expect(await build(root, config, {}, b.print)).toMatchObject({ orphans: ["gen/tiny.md", "gen/tiny.ts"] });
    expect(existsSync(join(root, "gen/tiny.ts"))).toBe(true);
    const p = collect();
    await build(root, config, { prune: true }, p.print);
    expect(p.text()).toContain("pruned     gen/tiny.ts");
    expect(existsSync(join(root, "gen/tiny.ts"))).toBe(false);
    expect(existsSync(join(root, "gen/tiny.md"))).toBe(false);
    // a file gradc did not write stays
    expect(existsSync(join(root, "gen/notes.md"))).toBe(true);
    expect(await build(root, config, { check: true }, () => {})).toMatchObject({ stale: [], orphans: [] });
  });
});

describe("gradc build --watch", () => {
  it("rebuilds a changed model, and on an error prints it and keeps the last good output", async () => {
    const config = { ...plain };
    const root = project(config);
    const out = collect();
    const w = await watchProject(root, config, out.print);
    await w.ready;
    try {
      const target = join(root, "gen/lecture.ts");
      const first = readFileSync(target, "utf8");
      const until = async (cond: () => boolean, what: string) => {
        for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
        expect(cond(), what).toBe(true);
      };
      writeFileSync(
        join(root, "models/lecture.grad"),
        readFileSync(join(root, "models/lecture.grad"), "utf8").replace("0.5 * w^2", "0.25 * w^2"),
      );
      await until(() => readFileSync(target, "utf8") !== first, "the output is rebuilt within 5 s");
      const second = readFileSync(target, "utf8");
      expect(second).toContain("0.25 * w^2");
      writeFileSync(join(root, "models/lecture.grad"), "param w\nloss = rleu(w)\n");
      await until(() => out.text().includes("error[E104]"), "the error is printed");
      expect(out.text()).toContain("models/lecture.grad:2:8: error[E104]: unknown function 'rleu'");
      expect(readFileSync(target, "utf8")).toBe(second);
      // a deleted source takes its outputs with it
      rmSync(join(root, "models/tiny.grad"));
      await until(() => !existsSync(join(root, "gen/tiny.ts")), "a deleted source's output is removed");
      expect(out.text()).toContain("removed    gen/tiny.ts (its source models/tiny.grad is gone)");
    } finally {
      await w.stop();
    }
  }, 30_000);

  it("survives a symbolic link loop under the root, and goes on watching", async () => {
    const config = { ...plain };
    const root = project(config);
    mkdirSync(join(root, "loop"));
    symlinkSync(join(root, "loop"), join(root, "loop", "again"));
    symlinkSync(join(root, "self"), join(root, "self"));
    const out = collect();
    const w = await watchProject(root, config, out.print);
    await w.ready;
    try {
      const target = join(root, "gen/lecture.ts");
      const first = readFileSync(target, "utf8");
      writeFileSync(
        join(root, "models/lecture.grad"),
        readFileSync(join(root, "models/lecture.grad"), "utf8").replace("0.5 * w^2", "0.25 * w^2"),
      );
      for (let i = 0; i < 100 && readFileSync(target, "utf8") === first; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(readFileSync(target, "utf8")).toContain("0.25 * w^2");
    } finally {
      await w.stop();
    }
  }, 30_000);
});
