import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyze, compile, CompileError, evaluate } from "../src/index.js";
import { ts } from "ts-morph";
import { smallExamples } from "./helpers/examples.js";
import {
  centralDifference,
  element,
  loadModule,
  randomValues,
  relErr,
  rng,
  size,
  type Values,
} from "./helpers/module.js";
import { randomProgram } from "./helpers/random-program.js";
import katex from "katex";
import { derive } from "../src/explain/derive.js";
import { parsePoint } from "../src/explain/point.js";
import { mathFragments } from "../src/explain/render.js";
import { expectBatchIsMean } from "./helpers/batch.js";

/** `npm run fuzz` sets GRADC_FUZZ=long: more runs and a fresh seed (printed on failure). */
const long = process.env.GRADC_FUZZ === "long";
const seed = long ? Date.now() : 20261126;
const params = (runs: number): fc.Parameters<unknown> => ({
  seed,
  numRuns: long ? runs * 10 : runs,
  endOnFailure: true,
});

// the examples to mutate: a mutant that still type-checks compiles at the example's cost, so the
// big networks are left to the gradient and corpus tests
const corpus = smallExamples().map((e) => e.source);
const tokenize = (s: string) => s.match(/\s+|[A-Za-z_][A-Za-z0-9_]*|\d+(\.\d+)?(e-?\d+)?|\.\.|./g) ?? [];
const pool = [
  "param",
  "input",
  "loss",
  "for",
  "in",
  "const",
  "=",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ",",
  "@",
  "'",
  "^",
  "*",
  "-",
  "..",
  "\n",
  "x",
  "h{k}",
  "sum",
  "relu",
  "0",
  "1e-3",
  "#",
  "σ",
  "[0]",
  "1..0",
];

const mutation = fc.oneof(
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("duplicate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("swap" as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), token: fc.constantFrom(...pool) }),
);
const mutatedSource = fc
  .tuple(fc.nat({ max: corpus.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([i, ms]) => {
    const t = tokenize(corpus[i]);
    for (const m of ms) {
      if (t.length === 0) break;
      const a = m.at % t.length;
      if (m.op === "delete") t.splice(a, 1);
      else if (m.op === "duplicate") t.splice(a, 0, t[a]);
      else if (m.op === "insert") t.splice(a, 0, m.token);
      else {
        const b = m.with % t.length;
        [t[a], t[b]] = [t[b], t[a]];
      }
    }
    return t.join("");
  });
const randomText = fc.oneof(
  fc.string({
    unit: fc.constantFrom(..."paramintuloscf =()[]{},.@'^*/+-#\n0123456789xyzWbhk_eσ".split("")),
    maxLength: 120,
  }),
  fc.string({ unit: "binary", maxLength: 60 }),
);

/** Source text in, then either a module (that parses as TypeScript) or diagnostics; nothing else. */
async function survives(text: string): Promise<void> {
  const start = performance.now();
  let ok = false;
  try {
    analyze(text, { filename: "fuzz.grad" });
    ok = true;
  } catch (e) {
    if (!(e instanceof CompileError)) throw e;
    expect(e.diagnostics.length).toBeGreaterThan(0);
    for (const d of e.diagnostics) expect(d.span.start).toBeLessThanOrEqual(text.length);
  }
  // compile time is linear in the program: a mutation can make a valid 50,000-node program
  let nodes = 0;
  if (ok) {
    const r = await compile(text, { filename: "fuzz.grad", prettier: false });
    nodes = r.ir.nodes.length + (r.chunk?.graph.nodes.length ?? 0);
    const out = ts.transpileModule(r.typescript, {
      reportDiagnostics: true,
      compilerOptions: { target: ts.ScriptTarget.ES2022 },
    });
    expect(out.diagnostics ?? []).toEqual([]);
  }
  expect(performance.now() - start, `one source must compile (${nodes} IR nodes) or fail in bounded time`).toBeLessThan(
    15_000 + nodes,
  );
}

describe("fuzzing source text (fast-check)", () => {
  it("mutated examples give a module or diagnostics, never an exception", async () => {
    await fc.assert(fc.asyncProperty(mutatedSource, survives), params(1500));
  }, 600_000);
  it("random text gives a module or diagnostics, never an exception", async () => {
    await fc.assert(fc.asyncProperty(randomText, survives), params(600));
  }, 600_000);
});

/** Finite differences at two step sizes; undefined where they disagree (a kink of relu/abs/max nearby). */
function stableDifference(loss: (p: Values) => number, p: Values, name: string, i: number): number | undefined {
  const a = centralDifference(loss, p, name, i, 1e-5);
  const b = centralDifference(loss, p, name, i, 1e-6);
  return relErr(a, b) < 1e-6 ? b : undefined;
}

describe("fuzzing random well-typed programs (fast-check)", () => {
  it("gradients agree with finite differences and the reference evaluator", async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (programSeed) => {
        const source = randomProgram(programSeed);
        const r = await compile(source, { filename: `random-${programSeed}.grad`, prettier: false });
        const mod = await loadModule(r.typescript);
        const next = rng(programSeed);
        const p = randomValues(mod.shapes.params, next);
        const inputs = randomValues(mod.shapes.inputs, next);
        const got = mod.gradients(p, inputs);
        const ref = evaluate(r.differentiated, p as never, inputs as never);
        expect(relErr(got.loss, ref.loss, 1e-6), source).toBeLessThan(1e-9);
        for (const [name, shape] of Object.entries(mod.shapes.params)) {
          for (let i = 0; i < size(shape); i++) {
            const g = element(got.grads[name], i);
            expect(relErr(g, element(ref.grads[name], i), 1e-6), `${source}\n${name}[${i}] vs evaluator`).toBeLessThan(
              1e-9,
            );
            const fd = stableDifference((q) => mod.loss(q, inputs), p, name, i);
            if (fd === undefined) continue;
            checked++;
            expect(relErr(g, fd), `${source}\n${name}[${i}]: ${g} vs finite difference ${fd}`).toBeLessThan(1e-5);
          }
        }
      }),
      params(500),
    );
    expect(checked).toBeGreaterThan(500);
  }, 600_000);

  it("explain prints only equations that hold, in TeX KaTeX parses (#12)", () => {
    // derive checks every printed equation numerically (at its own random point and at this
    // one) and throws on a false one; the fragments must also parse
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (programSeed) => {
        const source = randomProgram(programSeed);
        const a = analyze(source, { filename: `random-${programSeed}.grad` });
        const d = derive(a, parsePoint(`random:${programSeed}`, a.canonical));
        for (const f of mathFragments(d))
          expect(
            () => katex.renderToString(f, { displayMode: true, strict: "error", throwOnError: true }),
            `${source}\n${f}`,
          ).not.toThrow();
      }),
      params(300),
    );
  }, 600_000);

  it("batchGradients (both targets) equals the mean of per-sample gradients", async () => {
    let kernels = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (programSeed) => {
        // no matrix input, so the program has a batched form
        const source = randomProgram(programSeed, { batchable: true });
        if ((await compile(source, { prettier: false, target: "wasm" })).typescript.includes("kernels.k")) kernels++;
        await expectBatchIsMean(source, programSeed, "ts");
        await expectBatchIsMean(source, programSeed, "wasm");
        await expectBatchIsMean(source, programSeed, "wasm", 18, { paddedTailFrom: 1 }); // an even remainder: a tile of two real rows
        // chunks of one sample, which gradients() runs too (as for a sample that is a matrix)
        await expectBatchIsMean(source, programSeed, "wasm", 3, { chunkSize: 1 });
      }),
      params(150),
    );
    // the property means something only if random programs reach the WebAssembly kernels
    expect(kernels).toBeGreaterThan(10);
  }, 600_000);
});
