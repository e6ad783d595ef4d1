import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import fc from "fast-check";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), "gradc-cli-"));

describe("gradc compile", () => {
  it("prints the module to stdout", async () => {
    const r = await run("compile", "examples/lecture.grad");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync("generated/lecture.ts", "utf8"));
    expect(r.stderr).toBe("");
  });

  it("writes -o and --out-dir outputs", async () => {
    const dir = tmp();
    expect((await run("compile", "examples/lecture.grad", "-o", join(dir, "one.ts"))).code).toBe(0);
    expect(readFileSync(join(dir, "one.ts"), "utf8")).toBe(readFileSync("generated/lecture.ts", "utf8"));
    const r = await run("compile", "examples/lecture.grad", "examples/mlp.grad", "--out-dir", join(dir, "out"));
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, "out", "mlp.ts"), "utf8")).toBe(readFileSync("generated/mlp.ts", "utf8"));
    expect(existsSync(join(dir, "out", "lecture.ts"))).toBe(true);
  });

  it("emits the IR dump", async () => {
    const r = await run("compile", "examples/lecture.grad", "--emit", "ir");
    expect(r.stdout).toBe(readFileSync("test/fixtures/lecture/optimized.ir.txt", "utf8"));
  });

  it("emits f32 modules", async () => {
    const r = await run("compile", "examples/mlp.grad", "--dtype", "f32");
    expect(r.stdout).toContain("export type Tensor = Float32Array;");
    expect(r.stdout).toContain("// gradc options: dtype=f32");
  });

  it("--units writes one local per elementary unit, and says so in the header", async () => {
    const r = await run("compile", "examples/lecture.grad", "--units");
    expect(r.stdout).toContain("const u2 = u1 + b; // w*x + b");
    expect(r.stdout).toContain("// gradc options: dtype=f64 units\n");
    expect(r.stdout).not.toBe(readFileSync("generated/lecture.ts", "utf8"));
  });

  it("exits 1 with rendered diagnostics and no stack trace, and leaves existing output alone", async () => {
    const dir = tmp();
    const bad = join(dir, "bad.grad");
    writeFileSync(bad, "param w\nloss = rleu(w)\n");
    const out = join(dir, "bad.ts");
    writeFileSync(out, "previous output\n");
    const r = await run("compile", bad, "-o", out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[E104]: unknown function 'rleu'");
    expect(r.stderr).toContain("= hint: did you mean 'relu'?");
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    expect(readFileSync(out, "utf8")).toBe("previous output\n");
  });

  it("prints warnings and still compiles", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "w.grad"), "param w, unused\nloss = w^2\n");
    const r = await run("compile", join(dir, "w.grad"));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning[W401]");
    expect(r.stdout).toContain("export function gradients");
  });

  it("reports unreadable files and bad options", async () => {
    expect((await run("compile", "no/such/file.grad")).code).toBe(1);
    expect((await run("compile", "examples/lecture.grad", "--dtype", "f16")).code).toBe(2);
    expect((await run("compile", "examples/lecture.grad", "examples/mlp.grad", "-o", "x.ts")).code).toBe(2);
  });

  it("has --help and --version", async () => {
    const help = await run("compile", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--out-dir");
    const v = await run("--version");
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
  });
});

describe("the real entry point", () => {
  it("runs as `npm run gradc -- compile examples/lecture.grad`", () => {
    const out = execFileSync("npm", ["run", "-s", "gradc", "--", "compile", "examples/lecture.grad"], {
      encoding: "utf8",
    });
    expect(out).toBe(readFileSync("generated/lecture.ts", "utf8"));
  }, 60_000);

  it("exits 1 on errors", () => {
    const dir = tmp();
    writeFileSync(join(dir, "bad.grad"), "loss = q\n");
    const r = spawnSync("npx", ["tsx", "cli.ts", "compile", join(dir, "bad.grad")], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error[E101]");
  }, 60_000);
});

describe("gradc compile --explain-fusion", () => {
  it("reports fused loops and matrix-product forms", async () => {
    const r = await run("compile", "examples/mlp.grad", "--explain-fusion");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("batchGradients(): 16 samples at a time, batched into matrix products (vmap)");
    expect(r.stderr).toContain(
      "d_W1 [128, 784]: matmul (Aᵀ B: row outer products, 8 rows at a time (4 when fewer than 16))",
    );
    expect(r.stderr).toContain(
      "W1 @ x [16, 128]: matmul (A Bᵀ: row dot products, 2×2 register tile); epilogue, per element: W1 @ x + b1 = add, h = relu",
    );
    expect(r.stderr).toContain(
      "W1 @ x [128]: matvec (four rows per pass over x); epilogue, per element: W1 @ x + b1 = add, h = relu",
    );
    const tiny = await run("compile", "examples/tiny-mlp.grad", "--explain-fusion");
    expect(tiny.stderr).toMatch(/elementwise ops fused/);
  });

  it("says which products run as WebAssembly kernels, and how, with --target wasm", async () => {
    const r = await run("compile", "examples/mlp.grad", "--target", "wasm", "--dtype", "f32", "--explain-fusion");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "W1 @ x [16, 128]: matmul (WebAssembly f32x4: A Bᵀ, 2×4 register tile of dot products; of a padded chunk, the real rows only)",
    );
    expect(r.stderr).toContain(
      "d_W1 [128, 784]: matmul (WebAssembly f32x4: Aᵀ B, 4×2-vector register tiles over B's nonzero rows where A is 70 % nonzero or more, else rows of B with a nonzero factor, 4 at a time, in L1 column blocks, added into the per-call sum)",
    );
    expect(r.stderr).toContain(
      "batchGradients(): 16 samples at a time, batched into matrix products (vmap), the rest as one more chunk padded with weight-0 samples when at least 1 remain",
    );
    // per sample, the TypeScript loops as before
    expect(r.stderr).toContain("W1 @ x [128]: matvec (four rows per pass over x)");
    // f32: the other loops of the chunks, as SIMD kernels
    expect(r.stderr).toMatch(
      /loop nests as WebAssembly SIMD kernels \(f32x4; elementwise passes, softmax, row sums\): [1-9]\d* in the chunk, [1-9]\d* in the one-sample chunk; the rest stay TypeScript/,
    );
  });
});

describe("writing outputs", () => {
  it("writes to a device like /dev/null without renaming over it", async () => {
    const { writeAtomic } = await import("../src/util/files.js");
    writeAtomic("/dev/null", "nothing\n");
    const { statSync } = await import("node:fs");
    expect(statSync("/dev/null").isCharacterDevice()).toBe(true);
  });
});

describe("files: an output never replaces an input, and every file problem is a message", () => {
  /** a project folder with a model, a link to it, and a sub-folder */
  const project = () => {
    const dir = tmp();
    // a model with layers, so that flow has something to draw
    writeFileSync(
      join(dir, "m.grad"),
      "input x, y\nh{0} = x\nfor k in 1..3 {\n  param w{k}\n  h{k} = tanh(w{k} * h{k-1})\n}\nloss = (h{3} - y)^2\n",
    );
    symlinkSync(join(dir, "m.grad"), join(dir, "link.grad"));
    mkdirSync(join(dir, "sub"));
    return dir;
  };

  it("refuses -o onto the input, however the path is spelled (fast-check), for every command", async () => {
    const spellings = (dir: string) => [
      join(dir, "m.grad"),
      join(dir, "sub", "..", "m.grad"),
      join(dir, ".", "m.grad"),
      join(dir, "link.grad"),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 3 }),
        fc.nat({ max: 3 }),
        fc.constantFrom("compile", "explain", "graph", "flow"),
        async (i, o, command) => {
          const dir = project();
          const [input, out] = [spellings(dir)[i], spellings(dir)[o]];
          const before = readFileSync(join(dir, "m.grad"), "utf8");
          const r = await run(command, input, "-o", out);
          expect(r.code).toBe(1);
          expect(r.stderr).toMatch(
            /^gradc: error\[E522\]: refusing to write .*: it is the input .*\n {2}= hint: choose another output\n/,
          );
          expect(readFileSync(join(dir, "m.grad"), "utf8")).toBe(before);
        },
      ),
      { numRuns: 24, seed: 7 },
    );
  });

  it("refuses the .svg written beside explain's .md when that is the input", async () => {
    const dir = project();
    writeFileSync(join(dir, "x.svg"), readFileSync("examples/lecture.grad", "utf8"));
    const r = await run("explain", join(dir, "x.svg"), "-o", join(dir, "x.md"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("it is the input");
  });

  it("refuses two inputs that --out-dir would write to one file, naming both", async () => {
    const dir = project();
    mkdirSync(join(dir, "a"));
    writeFileSync(join(dir, "a", "m.grad"), readFileSync("examples/lecture.grad", "utf8"));
    const r = await run("compile", join(dir, "m.grad"), join(dir, "a", "m.grad"), "--out-dir", join(dir, "out"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`both ${join(dir, "m.grad")} and ${join(dir, "a", "m.grad")} would write it`);
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("reports unreadable sources and unwritable outputs with the path and the reason, exit 1", async () => {
    const dir = project();
    const cases: [string[], string][] = [
      [["compile", "/dev/zero"], "gradc: error[E520]: cannot read /dev/zero: it is not a regular file\n"],
      [["compile", join(dir, "sub")], `gradc: error[E520]: cannot read ${join(dir, "sub")}: it is a directory\n`],
      [
        ["compile", join(dir, "none.grad")],
        `gradc: error[E520]: cannot read ${join(dir, "none.grad")}: no such file or directory\n`,
      ],
      [
        ["compile", join(dir, "m.grad"), "-o", join(dir, "sub")],
        `gradc: error[E524]: cannot write ${join(dir, "sub")}: it is a directory\n`,
      ],
      [
        ["compile", join(dir, "m.grad"), "--out-dir", join(dir, "m.grad", "x")],
        `gradc: error[E524]: cannot write ${join(dir, "m.grad", "x", "m.ts")}: a part of the path is not a directory\n`,
      ],
      [
        ["graph", join(dir, "m.grad"), "-o", join(dir, "sub")],
        `gradc: error[E524]: cannot write ${join(dir, "sub")}: it is a directory\n`,
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      expect({ argv, code: r.code, stderr: r.stderr }).toEqual({ argv, code: 1, stderr: message });
    }
    // explain writes its picture (sub.svg) first, then reports the .md it cannot write
    const r = await run("explain", join(dir, "m.grad"), "-o", join(dir, "sub"));
    expect(r.code).toBe(1);
    expect(r.stderr.endsWith(`gradc: error[E524]: cannot write ${join(dir, "sub")}: it is a directory\n`)).toBe(true);
  });

  it("flow on a model without layers says so and exits 1", async () => {
    const r = await run("flow", "examples/lecture.grad");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "gradc: error[E533]: examples/lecture.grad has no layers to follow\n  = hint: flow follows the indexed names of a for loop (h{k}, w{k}, ...); this model has none\n",
    );
  });
});
