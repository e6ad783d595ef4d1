/**
 * --target wasm --dtype f32: the chunk's loops as WebAssembly SIMD kernels (src/emit/wasm/loops.ts),
 * and the f32x4 functions they call (src/emit/wasm/vmath.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compile } from "../src/index.js";
import { assemble } from "../src/emit/wasm/kernels.js";
import { loopKernel, Untranslatable, type Addresses } from "../src/emit/wasm/loops.js";
import { erf4, exp4, log4, tanh4, Vec } from "../src/emit/wasm/vmath.js";
import { moduleFunctions } from "../src/emit/ts/helpers.js";
import {
  assign,
  bin,
  call,
  cond,
  decl,
  id,
  index,
  loop,
  member,
  num,
  type Expr,
  type Stmt,
} from "../src/code/syntax.js";
import { loadModule, rng, size, type GeneratedModule, type Values } from "./helpers/module.js";
import { randomProgram } from "./helpers/random-program.js";

const long = process.env.GRADC_FUZZ === "long";
const seed = long ? Date.now() : 20261202;
const runs = (n: number) => ({ seed, numRuns: long ? n * 10 : n, endOnFailure: true });

const erf = new Function(...moduleFunctions.erf.params, moduleFunctions.erf.body.join("\n")) as (x: number) => number;

/** A function of one f32x4 value as a WebAssembly module, mapped over an array in place. */
async function lanewise(f: (b: Vec, x: string) => string): Promise<(xs: readonly number[]) => Float32Array> {
  const b = new Vec();
  const y = f(b, "(v128.load (local.get $p))");
  const wat = `(module (import "t" "memory" (memory 4))
  (func (export "run") (param $n i32) (local $p i32) ${b.decls()}
    (block $done (loop $next (br_if $done (i32.ge_u (local.get $p) (local.get $n)))
      ${b.stmts.join("\n      ")}
      (v128.store (local.get $p) ${y})
      (local.set $p (i32.add (local.get $p) (i32.const 16))) (br $next)))))`;
  const memory = new WebAssembly.Memory({ initial: 4 });
  const bytes = (await assemble(wat)) as Uint8Array<ArrayBuffer>;
  const run = new WebAssembly.Instance(new WebAssembly.Module(bytes), { t: { memory } }).exports.run as (
    n: number,
  ) => void;
  return (xs) => {
    const n = Math.ceil(xs.length / 4) * 4;
    const view = new Float32Array(memory.buffer, 0, n);
    view.fill(0);
    view.set(xs);
    run(n * 4);
    return Float32Array.from(view.subarray(0, xs.length));
  };
}

/** |got − exact| in units in the last place of f32 at the exact value (subnormals: the smallest ulp) */
function ulps32(got: number, exact: number): number {
  if (Object.is(got, Math.fround(exact)) || got === exact) return 0;
  if (!Number.isFinite(got) || !Number.isFinite(exact)) return Infinity;
  const e = Math.max(Math.floor(Math.log2(Math.abs(exact))), -126);
  return Math.abs(got - exact) / 2 ** (e - 23);
}

/** n points from lo to hi, evenly, or evenly in log scale */
const grid = (lo: number, hi: number, n: number, log = false): number[] =>
  Array.from({ length: n }, (_, i) =>
    Math.fround(
      log ? Math.exp(Math.log(lo) + ((Math.log(hi) - Math.log(lo)) * i) / (n - 1)) : lo + ((hi - lo) * i) / (n - 1),
    ),
  );

describe("f32x4 functions (vmath.ts)", () => {
  const cases = [
    { name: "exp", f: exp4, exact: Math.exp, points: grid(-103, 88.7, 20001), limit: 1.5 },
    { name: "log", f: log4, exact: Math.log, points: grid(1e-44, 3e38, 20001, true), limit: 2.5 },
    { name: "erf", f: erf4, exact: erf, points: grid(-4.5, 4.5, 20001), limit: 2 },
    { name: "tanh", f: tanh4, exact: Math.tanh, points: grid(-10, 10, 20001), limit: 2 },
  ];
  it.each(cases)("$name is within $limit f32 ulps of the double result, over its range", async (c) => {
    const run = await lanewise(c.f);
    const got = run(c.points);
    let worst = 0;
    c.points.forEach((x, i) => (worst = Math.max(worst, ulps32(got[i], c.exact(x)))));
    expect(worst).toBeLessThanOrEqual(c.limit);
    // and a deliberately wrong function is caught by the same measure
    const off = got.map((v, i) => (i === 5000 ? v * (1 + 2 ** -20) : v));
    expect(Math.max(...c.points.map((x, i) => ulps32(off[i], c.exact(x))))).toBeGreaterThan(c.limit);
  });

  it("keeps the edges: ±0, ±∞, NaN, overflow, underflow and subnormals as Math does", async () => {
    const edges = [
      0,
      -0,
      Infinity,
      -Infinity,
      NaN,
      88.72,
      88.73,
      -87.5,
      -103.9,
      -104.5,
      1e-45,
      1e-40,
      -1e-40,
      9.02,
      -9.02,
      1,
      -1,
    ];
    for (const [f, exact] of [
      [exp4, Math.exp],
      [log4, Math.log],
      [erf4, erf],
      [tanh4, Math.tanh],
    ] as const) {
      const got = (await lanewise(f))(edges);
      edges.forEach((x, i) => {
        const want = Math.fround(exact(Math.fround(x)));
        if (Number.isNaN(want)) expect(got[i], `${f.name}(${x})`).toBeNaN();
        else if (want === 0 || !Number.isFinite(want))
          expect(Object.is(got[i], want), `${f.name}(${x}) = ${got[i]}`).toBe(true);
        else expect(ulps32(got[i], exact(Math.fround(x))), `${f.name}(${x})`).toBeLessThanOrEqual(2.5);
      });
    }
  });
});

/** the kernels' memory for a translated loop: arrays a (at 0), b (at 1024) and out (at 2048), 256 floats each */
const memoryOf: Addresses = new Map([
  ["a", 0],
  ["b", 1024],
  ["out", 2048],
]);
const Math_ = (f: string, ...args: Expr[]) => call(member(id("Math"), f), ...args);
const at = (arr: string, i: Expr = id("i")) => index(id(arr), i);
/** i · n + j: row i's element j */
const row = (n: number) => bin("+", bin("*", id("i"), num(n)), id("j"));
const block = (...body: Stmt[]): Stmt => ({ k: "block", body });

/** a loop's kernel run on random a and b, and the loop run as JavaScript in doubles, rounded to f32 */
async function runBoth(l: Stmt, scalars: Record<string, number> = {}): Promise<[Float32Array, Float32Array]> {
  const k = loopKernel("e0", [l], memoryOf);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const bytes = (await assemble(`(module (import "t" "memory" (memory 1)) ${k.wat})`)) as Uint8Array<ArrayBuffer>;
  const e0 = new WebAssembly.Instance(new WebAssembly.Module(bytes), { t: { memory } }).exports.e0 as (
    ...s: number[]
  ) => void;
  const next = rng(5);
  const [a, b] = [0, 1024].map((at) => new Float32Array(memory.buffer, at, 256));
  for (let i = 0; i < 256; i++) [a[i], b[i]] = [next() * 4 - 2, next() * 4 - 2];
  const out = new Float32Array(memory.buffer, 2048, 256);
  e0(...k.args.map((e) => scalars[(e as { name: string }).name]));
  // the same loop as JavaScript
  const { printStmts } = await import("../src/code/syntax.js");
  const js = new Function("a", "b", "out", ...Object.keys(scalars), "erf", printStmts([l]).join("\n"));
  const want = new Float32Array(256);
  js(Float64Array.from(a), Float64Array.from(b), want, ...Object.values(scalars), erf);
  return [Float32Array.from(out), want];
}

describe("loops as SIMD kernels (loops.ts)", () => {
  it("computes what the loop computes: arithmetic, comparisons and selects, Math's functions, broadcasts, scalars and nests", async () => {
    const nest = (body: Stmt[]) => loop("i", num(8), [loop("j", num(12), body)]);
    const cases: [string, Stmt, Record<string, number>?][] = [
      [
        "a + b * a / 3 - 1",
        loop("i", num(256), [
          assign(at("out"), bin("-", bin("+", at("a"), bin("/", bin("*", at("b"), at("a")), num(3))), num(1))),
        ]),
      ],
      [
        "where a > b",
        loop("i", num(256), [
          assign(at("out"), cond(bin(">", at("a"), at("b")), at("a"), bin("*", num(0.1), at("b")))),
        ]),
      ],
      [
        "exp, log, erf, tanh",
        loop("i", num(256), [
          assign(
            at("out"),
            bin(
              "+",
              bin("+", Math_("exp", at("a")), Math_("log", bin("*", at("b"), at("b")))),
              bin("*", call("erf", at("a")), Math_("tanh", at("b"))),
            ),
          ),
        ]),
      ],
      [
        "sqrt, abs, max, min, sign",
        loop("i", num(256), [
          assign(
            at("out"),
            bin(
              "+",
              Math_("sqrt", Math_("abs", at("a"))),
              bin("*", Math_("max", at("a"), at("b"), num(0.5)), Math_("sign", Math_("min", at("a"), at("b")))),
            ),
          ),
        ]),
      ],
      [
        "a bias b[i % 16]",
        loop("i", num(256), [assign(at("out"), bin("+", at("a"), at("b", bin("%", id("i"), num(16)))))]),
      ],
      [
        "a row statistic b[⌊i / 8⌋]",
        loop("i", num(256), [
          assign(at("out"), bin("*", at("a"), at("b", bin("|", bin("/", id("i"), num(8)), num(0))))),
        ]),
      ],
      ["a scalar s", loop("i", num(256), [assign(at("out"), bin("*", at("a"), id("s")))]), { s: 0.37 }],
      ["x ** 3", loop("i", num(256), [assign(at("out"), bin("**", at("a"), num(3)))])],
      // a row's softmax: a maximum and a sum along the lanes (four partial results each), then the row
      [
        "softmax of 16 rows",
        block(
          loop("i", num(16), [
            decl("let", "m", num(-Infinity)),
            loop("j", num(16), [assign(id("m"), Math_("max", id("m"), at("a", row(16))))]),
            decl("let", "s", num(0)),
            loop("j", num(16), [assign(id("s"), Math_("exp", bin("-", at("a", row(16)), id("m"))), "+=")]),
            loop("j", num(16), [
              assign(at("out", row(16)), bin("/", Math_("exp", bin("-", at("a", row(16)), id("m"))), id("s"))),
            ]),
          ]),
        ),
      ],
      [
        "row sums, stored one per row",
        loop("i", num(8), [
          decl("let", "acc", num(0)),
          loop("j", num(32), [assign(id("acc"), bin("+", id("acc"), at("a", row(32))))]),
          assign(at("out", id("i")), id("acc")),
        ]),
      ],
      [
        "row sums, added into one element per row",
        block(
          loop("i", num(8), [assign(at("out", id("i")), num(0))]),
          loop("i", num(8), [loop("j", num(32), [assign(at("out", id("i")), at("a", row(32)), "+=")])]),
        ),
      ],
      [
        "column sums, added along the lanes",
        block(
          loop("j", num(32), [assign(at("out", id("j")), num(0))]),
          loop("i", num(8), [loop("j", num(32), [assign(at("out", id("j")), at("a", row(32)), "+=")])]),
        ),
      ],
      // the loop variables as numbers (an iota): the lanes' own, and an outer one's
      [
        "out[i·32 + j] = i − j",
        loop("i", num(8), [
          loop("j", num(32), [
            assign(at("out", bin("+", bin("*", id("i"), num(32)), id("j"))), bin("-", id("i"), id("j"))),
          ]),
        ]),
      ],
      [
        "a nest over a window: out[i·12 + j] = a[i·16 + 2 + j]",
        nest([
          assign(
            at("out", bin("+", bin("*", id("i"), num(12)), id("j"))),
            bin("*", at("a", bin("+", bin("*", id("i"), num(16)), bin("+", num(2), id("j")))), at("b", id("i"))),
          ),
        ]),
      ],
    ];
    for (const [name, l, scalars] of cases) {
      const [got, want] = await runBoth(l, scalars);
      for (let i = 0; i < 256; i++)
        expect(Math.abs(got[i] - want[i]), `${name} at ${i}: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(
          2e-6 * Math.max(1, Math.abs(want[i])),
        );
    }
  });

  it("leaves a loop it cannot run four lanes at a time as TypeScript, saying why", () => {
    const cases: [Stmt, RegExp][] = [
      [loop("i", num(10), [assign(at("out"), at("a"))]), /0 elements along the lanes: too few to pay/],
      [loop("i", num(128), [assign(at("out"), at("a", bin("*", id("i"), num(2))))]), /a strided index/],
      [
        loop("i", num(256), [assign(at("out"), at("b", bin("%", id("i"), num(6))))]),
        /a remainder that splits the lanes/,
      ],
      [
        loop("i", num(256), [assign(at("out"), at("b", bin("|", bin("/", id("i"), num(6)), num(0))))]),
        /a quotient that splits the lanes/,
      ],
      [loop("i", num(256), [assign(at("out"), at("elsewhere"))]), /elsewhere is not in the kernels' memory/],
      [loop("i", num(256), [assign(at("elsewhere"), at("a"))]), /elsewhere is not in the kernels' memory/],
      [loop("i", num(256), [assign(at("out"), Math_("sin", at("a")))]), /the function Math.sin/],
      [loop("i", num(256), [assign(at("out"), bin("*", at("a"), num(1e39)))]), /1e\+39, beyond f32's range/],
      [loop("i", num(256), [assign(at("out"), bin("**", at("a"), num(0.3)))]), /the operator \*\*/],
      [loop("i", num(256), [assign(at("out"), bin("+", at("a"), id("a")))]), /a, an array, read as a number/],
      [loop("i", num(256), [assign(at("out", num(4)), at("a"))]), /a store that is not along the lanes/],
    ];
    cases.push(
      // a value carried from one element to the next, or read back from a neighbour, cannot run four at a time
      [
        block(
          decl("let", "acc", num(0)),
          loop("j", num(256), [assign(id("acc"), bin("+", bin("*", id("acc"), num(0.5)), at("a", id("j"))))]),
          assign(at("out", num(0)), id("acc")),
        ),
        /acc carried from one element to the next/,
      ],
      [
        loop("j", num(252), [
          assign(at("out", bin("+", id("j"), num(1))), bin("+", at("out", id("j")), at("a", id("j")))),
        ]),
        /out is read where the loop does not store/,
      ],
      [loop("i", num(256), [assign(id("total"), at("a"), "+=")]), /total, a variable outside the loops, assigned/],
      [
        block(
          decl("let", "acc", num(0)),
          loop("j", num(256), [assign(at("out", id("j")), id("acc")), assign(id("acc"), at("a", id("j")), "+=")]),
        ),
        /acc carried from one element to the next/,
      ],
      [
        loop("i", num(8), [
          loop("j", num(32), [
            assign(at("out", id("i")), at("a", row(32)), "+="),
            assign(at("b", row(32)), at("out", id("i"))),
          ]),
        ]),
        /out is read while the loop sums into it/,
      ],
      [loop("i", num(8), [loop("i", num(32), [assign(at("out"), at("a"))])]), /i, a loop variable, shadowed/],
      [loop("i", num(8), [assign(at("out"), at("a"))]), /8 elements along the lanes: too few to pay/],
    );
    for (const [l, why] of cases) expect(() => loopKernel("e0", [l], memoryOf), String(why)).toThrow(why);
    expect(() => loopKernel("e0", [cases[0][0]], memoryOf)).toThrow(Untranslatable);
    // an expression of 6,000 terms (balanced, so not deep): more values than one function should hold
    const terms = (lo: number, hi: number): Expr =>
      hi - lo === 1 ? bin("*", at("a"), num(lo + 1)) : bin("+", terms(lo, (lo + hi) >> 1), terms((lo + hi) >> 1, hi));
    expect(() => loopKernel("e0", [loop("i", num(256), [assign(at("out"), terms(0, 6000))])], memoryOf)).toThrow(
      /values: too many for one function/,
    );
    // a variable the statements declare for the code after them (a block's own is fine)
    const sum = [decl("let", "acc", num(0)), loop("i", num(256), [assign(id("acc"), at("a"), "+=")])];
    expect(() => loopKernel("e0", sum, memoryOf)).toThrow(/acc, declared for the code after the loops/);
    expect(loopKernel("e0", [block(...sum)], memoryOf).wat).toContain("f32x4.add");
  });
});

/** params and inputs in f32, and the same values as doubles */
function f32Values(shapes: Record<string, readonly number[]>, next: () => number, n = 1): [Values, Values] {
  const v32: Values = {};
  const v64: Values = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const a = Float32Array.from({ length: size(shape) * n }, () => next() * 2 - 1);
    if (shape.length === 0 && n === 1) [v32[name], v64[name]] = [a[0], a[0]];
    else [v32[name], v64[name]] = [a, Float64Array.from(a)];
  }
  return [v32, v64];
}

/**
 * batchGradients of the wasm f32 module against the TypeScript f64 module's, at f32 precision;
 * undefined (nothing to compare) when the program's values leave f32's range, which the
 * TypeScript f32 target shows by a non-finite loss or gradient (an exp of a cube of a cube)
 */
async function expectF32Agrees(source: string, programSeed: number, n = 37): Promise<string | undefined> {
  const code = (await compile(source, { prettier: false, target: "wasm", dtype: "f32" })).typescript;
  const [m32, m64, ts32]: GeneratedModule[] = await Promise.all([
    loadModule(code),
    compile(source, { prettier: false }).then((r) => loadModule(r.typescript)),
    compile(source, { prettier: false, dtype: "f32" }).then((r) => loadModule(r.typescript)),
  ]);
  const next = rng(programSeed);
  const [p32, p64] = f32Values(m32.shapes.params, next);
  const [b32, b64] = f32Values(m32.shapes.inputs, next, n);
  const batch = (v: Values) => v as Record<string, Float32Array | Float64Array>;
  const values = (r: { loss: number; grads: Record<string, number | ArrayLike<number>> }) => [
    r.loss,
    ...Object.values(r.grads).flatMap((g) => (typeof g === "number" ? [g] : Array.from(g))),
  ];
  if (!values(ts32.batchGradients(p32, batch(b32), n)).every(Number.isFinite)) return undefined;
  const [g32, g64] = [m32.batchGradients(p32, batch(b32), n), m64.batchGradients(p64, batch(b64), n)];
  expect(Math.abs(g32.loss - g64.loss)).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(g64.loss)));
  for (const name of Object.keys(m32.shapes.params)) {
    const [x, y] = [g32.grads[name], g64.grads[name]];
    const xs = typeof x === "number" ? [x] : Array.from(x);
    const ys = typeof y === "number" ? [y] : Array.from(y);
    const scale = Math.max(1e-3, ...ys.map(Math.abs));
    ys.forEach((w, i) =>
      expect(Math.abs(xs[i] - w), `${name}[${i}] ${xs[i]} vs ${w}\n${source}`).toBeLessThanOrEqual(2e-4 * scale),
    );
  }
  return code;
}

const unary = [
  "exp(-(H)^2)",
  "tanh(H)",
  "sigmoid(H)",
  "relu(H)",
  "gelu(H)",
  "erf(H)",
  "abs(H)",
  "sqrt(H^2 + 1)",
  "log(H^2 + 1)",
  "where(H > 0, H, 0.1 * H)",
  "H^3",
  "max(H, 0.2)",
  "elu(H)",
];
const binary = ["A + B", "A - B", "A * B", "A / (B^2 + 1)", "min(A, B)", "where(A > B, A, B)"];

describe("programs through the SIMD loop kernels", () => {
  it("a random layer of elementwise functions, biases, gains, row statistics and windows agrees with the f64 TypeScript target", async () => {
    let kernels = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          rows: fc.constantFrom(1, 2, 3, 4),
          cols: fc.constantFrom(4, 6, 8),
          f: fc.array(fc.integer({ min: 0, max: unary.length - 1 }), { minLength: 2, maxLength: 4 }),
          op: fc.integer({ min: 0, max: binary.length - 1 }),
          norm: fc.boolean(),
          seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        }),
        async ({ rows, cols, f, op, norm, seed: s }) => {
          const fn = (k: number, h: string) => unary[f[k % f.length]].replace(/H/g, `(${h})`);
          const source = [
            `param W[${cols}, ${cols}], b[${cols}], g[${cols}]`,
            `input x[${rows}, ${cols}]`,
            `H = x @ W + b`,
            `A = ${fn(0, "H")}`,
            `B = ${fn(1, "H * g")}`,
            `C = ${binary[op].replace("A", "A").replace("B", "B")}`,
            norm ? `D = (C - mean(C, axis=-1, keepdims=true)) * g` : `D = ${fn(2, "C")} + b`,
            // a window of H: a nest of loops whose rows are 4 wide
            `loss = mean(${fn(3, "D")}^2) + mean(${fn(1, "H[:, 0:4]")} * g[0:4])`,
          ].join("\n");
          const code = await expectF32Agrees(source, s);
          // compared, through the SIMD kernels (a program whose values leave f32's range is not compared)
          if (code && /kernels\.e\d+\(/.test(code)) kernels++;
        },
      ),
      runs(25),
    );
    // the property means something only if most programs are compared and reach the SIMD kernels
    expect(kernels).toBeGreaterThan(long ? 200 : 20);
  }, 600_000);

  it("a constant beyond f32's range keeps its loop in TypeScript, where it computes in doubles", async () => {
    const source = [
      "param W[8, 8], b[8]",
      "input x[4, 8]",
      "H = x @ W + b",
      "loss = mean(tanh(H / 1e39 * 1e38)^2) + mean(H * 1e-50) + mean(sigmoid(H))",
    ].join("\n");
    const code = await expectF32Agrees(source, 3);
    expect(code).toMatch(/1e39|1e\+39/);
    expect(code).toMatch(/kernels\.e\d+\(/);
  });

  it("random programs over every op agree with the f64 TypeScript target (those whose chunks have kernels run the SIMD loops; those whose values leave f32's range are not compared)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (programSeed) => {
        await expectF32Agrees(randomProgram(programSeed, { batchable: true }), programSeed);
      }),
      runs(40),
    );
  }, 600_000);

  it("runs the transformer's GELU, softmax, layer norm and their gradients as kernels, and only with f32", async () => {
    const { readFileSync } = await import("node:fs");
    const src = readFileSync("examples/transformer.grad", "utf8");
    const f32 = (await compile(src, { target: "wasm", dtype: "f32" })).typescript;
    const from = f32.indexOf("function batchChunk");
    const chunk = f32.slice(from, f32.indexOf("\n}\n", from));
    // no exp or erf is left in the chunk's TypeScript: the softmax, the GELU and its derivative run in wasm
    expect(chunk).not.toMatch(/erf\(|Math\.exp\(/);
    // nor a row's sum (layer norm's statistics and their gradients)
    expect(chunk).not.toMatch(
      /let acc = 0;\n\s*for \(let q2 = 0; q2 < 64; q2\+\+\) \{\n\s*acc = acc \+ [A-Za-z]\w*_1\[\(/,
    );
    expect((chunk.match(/kernels\.e\d+\(/g) ?? []).length).toBeGreaterThan(40);
    const f64 = (await compile(src, { target: "wasm" })).typescript;
    expect(f64).not.toMatch(/kernels\.s?e\d+\(/);
  });
});
