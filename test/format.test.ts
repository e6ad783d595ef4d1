import { readdirSync, readFileSync } from "node:fs";
import { format } from "prettier";
import { describe, expect, it } from "vitest";
import { compile, type CompileOptions } from "../src/index.js";
import { examples } from "../scripts/examples.js";
import { corpus } from "./programs.js";

/** the module without its header (whose output hash covers the text below it) */
const body = (ts: string) => ts.slice(ts.indexOf("\n\n") + 2);

/**
 * The emitter formats a module in parts (src/emit/ts/module.ts: prettier formats the skeleton,
 * and only the function bodies with a line too long for the print width): the result must be
 * exactly what prettier makes of the whole module.
 */
describe("formatting in parts is formatting the whole module", () => {
  const programs = [
    ...examples().map((e) => ({ name: e.name, source: readFileSync(e.source, "utf8") })),
    ...readdirSync("test/corpus").map((f) => ({ name: f, source: readFileSync(`test/corpus/${f}`, "utf8") })),
    ...corpus.map((p) => ({ name: p.name, source: p.source })),
    { name: "a sum of 300 terms", source: `param w\ninput x\nloss = ${Array(300).fill("w*x").join(" + ")}\n` },
  ];
  // every program on the wasm target, the examples also in f32 with --debug and --units
  const cases: [string, string, CompileOptions][] = [
    ...programs.map((p): [string, string, CompileOptions] => [p.name, p.source, { target: "wasm" }]),
    ...programs
      .slice(0, examples().length)
      .map((p): [string, string, CompileOptions] => [
        `${p.name} f32 --debug --units`,
        p.source,
        { dtype: "f32", debug: true, units: true },
      ]),
    // --unchecked: small modules then fit the print width everywhere, and prettier is not run at all
    ...programs
      .slice(0, examples().length)
      .map((p): [string, string, CompileOptions] => [`${p.name} --unchecked`, p.source, { unchecked: true }]),
  ];
  it.each(cases)("%s", async (_, source, options) => {
    const parts = await compile(source, options);
    const raw = body((await compile(source, { ...options, prettier: false })).typescript);
    // a module past FORMAT_LIMIT (8,000 printed lines: the RNN's) is left as printed
    const whole = raw.split("\n").length > 8_000 ? raw : await format(raw, { parser: "babel-ts", printWidth: 120 });
    expect(body(parts.typescript)).toBe(whole);
  });
});
