/**
 * Every error outside the source text (E5xx: --at values, project settings, files, command-line
 * options), rendered as the CLI prints it, against a golden in test/usage-errors/<code>.txt.
 * The temporary folder is printed as <tmp> (and its parent as <tmpdir>) so the goldens do not
 * depend on the machine.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { catalogue } from "../src/diagnostics/catalogue.js";
import { main } from "../src/cli/main.js";

interface Scenario {
  /** files to create in a fresh temporary folder (path -> text) */
  readonly files?: Readonly<Record<string, string>>;
  /** the command line; "<tmp>" stands for that folder */
  readonly argv: readonly string[];
  readonly exit: number;
}

const vector = "param v[2]\nloss = sum(v^2)\n";
const ints = "input ids[2]: int\nparam E[3, 2]\nloss = sum(E[ids])\n";
const shared = (L: number) =>
  `const L = ${L}\ninput x, y\nparam w, b\nh{0} = x\nfor k in 1..L {\n  h{k} = sigmoid(w * h{k-1} + b)\n}\nloss = 0.5 * (h{L} - y)^2\n`;
const project = (config: string) => ({ "gradc.config.json": config, "m.grad": "param w\nloss = w^2\n" });

const scenarios: Readonly<Record<string, Scenario>> = {
  E501: { argv: ["explain", "examples/lecture.grad", "--at", "w=abc,b=1,x=1,y=1"], exit: 1 },
  E502: { argv: ["explain", "examples/lecture.grad", "--at", "w"], exit: 1 },
  E503: { argv: ["explain", "examples/lecture.grad", "--at", "w=1,b=1,x=1,y=1,z=2"], exit: 1 },
  E504: { argv: ["explain", "examples/lecture.grad", "--at", "w=1"], exit: 1 },
  E505: { files: { "v.grad": vector }, argv: ["explain", "<tmp>/v.grad", "--at", "v=[1,2,3]"], exit: 1 },
  E506: {
    files: { "e.grad": ints },
    argv: ["explain", "<tmp>/e.grad", "--at", "ids=[0,7],E=[1,2,3,4,5,6]"],
    exit: 1,
  },
  E510: { files: project("{ not json"), argv: ["build", "--root", "<tmp>"], exit: 2 },
  E511: { files: project("[1, 2]"), argv: ["build", "--root", "<tmp>"], exit: 2 },
  E512: { files: project('{ "outdir": "gen" }'), argv: ["build", "--root", "<tmp>"], exit: 2 },
  E513: { files: project('{ "dtype": "f16" }'), argv: ["build", "--root", "<tmp>"], exit: 2 },
  E514: { files: project('{ "outDir": "../elsewhere" }'), argv: ["build", "--root", "<tmp>"], exit: 2 },
  E520: { argv: ["compile", "examples"], exit: 1 },
  E521: { files: { "big.grad": "#".repeat(16 * 1024 * 1024 + 1) }, argv: ["compile", "<tmp>/big.grad"], exit: 1 },
  E522: { argv: ["compile", "examples/lecture.grad", "-o", "examples/lecture.grad"], exit: 1 },
  E523: {
    files: { "a/m.grad": "param w\nloss = w^2\n", "b/m.grad": "param w\nloss = w^2\n" },
    argv: ["compile", "<tmp>/a/m.grad", "<tmp>/b/m.grad", "--out-dir", "<tmp>/out"],
    exit: 1,
  },
  E524: { files: { "sub/keep": "" }, argv: ["compile", "examples/lecture.grad", "-o", "<tmp>/sub"], exit: 1 },
  E530: { argv: ["compile", "examples/lecture.grad", "examples/chain.grad", "-o", "x.ts"], exit: 2 },
  E531: { argv: ["flow", "examples/chain.grad", "--init", "he"], exit: 2 },
  E532: { argv: ["flow", "examples/chain.grad", "--seed", "1.5"], exit: 2 },
  E533: { argv: ["flow", "examples/lecture.grad"], exit: 1 },
  E534: { argv: ["explain", "examples/lecture.grad", "--digits", "0"], exit: 2 },
  E541: {
    files: { "big.grad": shared(600) },
    argv: ["graph", "<tmp>/big.grad", "-o", "<tmp>/big.svg"],
    exit: 1,
  },
  E542: {
    // twenty weight matrices of 2^25 elements: their staging copies alone are 5 GiB in float64
    files: {
      "huge.grad": `input x[4096]\n${Array.from({ length: 20 }, (_, k) => `param W${k}[8192, 4096]`).join("\n")}\nloss = ${Array.from({ length: 20 }, (_, k) => `sum(W${k} @ x)`).join(" + ")}\n`,
    },
    argv: ["compile", "<tmp>/huge.grad", "--target", "wasm", "-o", "<tmp>/huge.ts"],
    exit: 1,
  },
  E540: {
    files: { "deep.grad": `param w\nloss = ${Array.from({ length: 300 }, () => "w").join(" + ")}\n` },
    argv: ["explain", "<tmp>/deep.grad"],
    exit: 1,
  },
};

async function run(s: Scenario): Promise<{ code: number; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), "gradc-usage-"));
  for (const [path, text] of Object.entries(s.files ?? {})) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  let stderr = "";
  const code = await main(
    s.argv.map((a) => a.replaceAll("<tmp>", dir)),
    { stdout: () => {}, stderr: (t) => (stderr += t) },
  );
  return { code, stderr: stderr.replaceAll(dir, "<tmp>").replaceAll(dirname(dir), "<tmpdir>") };
}

describe("errors outside the source (E5xx), as the CLI prints them (golden)", () => {
  it("every E5xx code of the catalogue has a scenario", () => {
    const codes = Object.keys(catalogue).filter((c) => c.startsWith("E5"));
    expect(Object.keys(scenarios).sort()).toEqual(codes.sort());
  });
  for (const [code, s] of Object.entries(scenarios))
    it(code, async () => {
      const r = await run(s);
      expect(r.stderr).toContain(`error[${code}]`);
      expect(r.code).toBe(s.exit);
      await expect(r.stderr).toMatchFileSnapshot(`usage-errors/${code}.txt`);
    });
});
