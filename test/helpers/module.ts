import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ts } from "ts-morph";
import { uniform01 } from "../../src/util/random.js";

export type Tensor = Float64Array | Float32Array;
export type Values = Record<string, number | Tensor>;
export interface Result {
  loss: number;
  grads: Record<string, number | Tensor>;
}

/** The API every generated module exports. */
export interface GeneratedModule {
  shapes: { params: Record<string, readonly number[]>; inputs: Record<string, readonly number[]> };
  loss(params: Values, inputs: Values): number;
  gradients(params: Values, inputs: Values, out?: Result): Result;
  batchGradients(params: Values, batch: Record<string, ArrayLike<number>>, n: number, out?: Result): Result;
  createResult(): Result;
  /** integer inputs and their bounds, when the program has any */
  integers?: Record<string, number | null>;
}

const dir = join(tmpdir(), `gradc-test-${process.pid}`);

/** Transpile generated TypeScript and import it as an ES module. */
export async function loadModule(code: string): Promise<GeneratedModule> {
  const js = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${createHash("sha256").update(js).digest("hex").slice(0, 16)}.mjs`);
  writeFileSync(file, js);
  return (await import(pathToFileURL(file).href)) as GeneratedModule;
}

/** A small deterministic PRNG (the compiler's own mulberry32), so failures reproduce. */
export const rng = uniform01;

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Random values in [-scale, scale] for every name of `shapes`. */
export function randomValues(shapes: Record<string, readonly number[]>, next: () => number, scale = 1): Values {
  const out: Values = {};
  for (const [name, shape] of Object.entries(shapes)) {
    if (shape.length === 0) out[name] = (next() * 2 - 1) * scale;
    else out[name] = Float64Array.from({ length: size(shape) }, () => (next() * 2 - 1) * scale);
  }
  return out;
}

export function copyValues(v: Values): Values {
  const out: Values = {};
  for (const [k, x] of Object.entries(v)) out[k] = typeof x === "number" ? x : x.slice();
  return out;
}

/** Central difference d loss / d param[element], in float64. */
export function centralDifference(
  loss: (p: Values) => number,
  params: Values,
  name: string,
  element: number,
  h = 1e-6,
): number {
  const p = copyValues(params);
  const get = () => (typeof p[name] === "number" ? (p[name] as number) : (p[name] as Tensor)[element]);
  const set = (v: number) => {
    if (typeof p[name] === "number") p[name] = v;
    else (p[name] as Tensor)[element] = v;
  };
  const x = get();
  const step = h * Math.max(1, Math.abs(x));
  set(x + step);
  const up = loss(p);
  set(x - step);
  const down = loss(p);
  return (up - down) / (2 * step);
}

export function element(v: number | Tensor, i: number): number {
  return typeof v === "number" ? v : v[i];
}

/** |a - b| relative to the larger magnitude (absolute below `floor`). */
export function relErr(a: number, b: number, floor = 1e-3): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(floor, Math.abs(a), Math.abs(b));
}

/** Random inputs for a module: numbers in [-scale, scale], and integer inputs uniform in 0..bound-1 (Int32Array). */
export function randomInputs(mod: GeneratedModule, next: () => number, scale = 1): Values {
  const out = randomValues(mod.shapes.inputs, next, scale);
  for (const [name, bound] of Object.entries(mod.integers ?? {})) {
    const shape = mod.shapes.inputs[name];
    const draw = () => Math.floor(next() * (bound ?? 5));
    out[name] = shape.length === 0 ? draw() : (Int32Array.from({ length: size(shape) }, draw) as unknown as Tensor);
  }
  return out;
}
