/**
 * The batching rules (each op definition's `batch`, run by batch/vmap.ts), op by op as JAX tests
 * its vmap rules: every op of the rule tests (test/helpers/op-cases.ts), with every combination
 * of batched (per-sample) and shared operands, on B samples at once must give the sum of the B
 * per-sample losses and gradients, through the reference evaluator.
 */
import { describe, expect, it } from "vitest";
import { differentiate } from "../src/autodiff/differentiate.js";
import { vmap } from "../src/batch/vmap.js";
import { evaluate } from "../src/eval/evaluate.js";
import { Builder } from "../src/ir/build.js";
import type { Graph, Leaf } from "../src/ir/graph.js";
import { verify } from "../src/ir/verify.js";
import { size, type Shape } from "../src/shape/shape.js";
import { cases, type Case } from "./helpers/op-cases.js";
import { relErr, rng } from "./helpers/module.js";

const B = 3;
const span = { start: 0, end: 0 };

/** The op with operands `batched` as inputs (one value per sample) and the others as params; loss = sum(op(...) * w). */
function program(c: Case, batched: readonly boolean[]): Graph {
  const b = new Builder();
  const params: Leaf[] = [];
  const inputs: Leaf[] = [];
  const args = c.shapes.map((s, i) => {
    const name = `${batched[i] ? "a" : "p"}${i}`;
    const node = b.leaf(batched[i] ? "input" : "param", name, s);
    (batched[i] ? inputs : params).push({
      name,
      shape: s,
      node,
      span,
      ...(i === c.ints?.operand ? { int: true } : {}),
    });
    return node;
  });
  const y = b.node(c.op, args, { ...(c.target ? { target: c.target } : {}), ...(c.attrs ? { attrs: c.attrs } : {}) });
  const shape = b.shape(y);
  const w = b.leaf("input", "w", shape);
  inputs.push({ name: "w", shape, node: w, span });
  const prod = b.elementwise("mul", [y, w]);
  const loss = shape.length === 0 ? prod : b.node("sum", [prod]);
  return b.finish({ file: c.op, params, inputs, loss, grads: [] });
}

/** Combinations of batched operands: every non-empty subset. */
function masks(n: number): boolean[][] {
  return Array.from({ length: 2 ** n - 1 }, (_, m) => Array.from({ length: n }, (_, i) => ((m + 1) >> i) % 2 === 1));
}

/** Where a batched form is knowingly absent (the program then runs sample by sample): per-sample tables indexed by per-sample ids. */
function noBatchedForm(c: Case, batched: readonly boolean[]): boolean {
  return (c.op === "gather" && batched[0] && batched[1]) || (c.op === "scatter_add" && batched[1]);
}

const label = (c: Case, batched: readonly boolean[]) =>
  `${c.op} ${c.shapes.map((s, i) => `[${s.join(",")}]${batched[i] ? "ᴮ" : ""}`).join(" ")}${c.target ? ` -> [${c.target.join(",")}]` : ""}`;

describe("batching rules: B samples at once equal the sum of the samples", () => {
  for (const c of cases.filter((c) => c.shapes.length > 0)) {
    for (const batched of masks(c.shapes.length)) {
      it(label(c, batched), () => {
        const g = program(c, batched);
        const vm = vmap(g, B);
        if (noBatchedForm(c, batched)) {
          expect(vm).toBeUndefined();
          return;
        }
        expect(vm, "no batched form").toBeDefined();
        expect(verify(vm!.graph)).toEqual([]);
        const next = rng(c.op.length * 31 + batched.filter(Boolean).length);
        const ints = (s: Shape) => Float64Array.from({ length: size(s) }, (_, i) => c.ints!.values[i]);
        const value = (s: Shape, i: number) =>
          i === c.ints?.operand
            ? ints(s)
            : Float64Array.from({ length: size(s) }, () => (c.positive ? 0.5 + next() : (next() - 0.5) * 2));
        // each sample's inputs, and the shared params
        const shapeOf = (name: string) => [...g.inputs, ...g.params].find((l) => l.name === name)!.shape;
        const indexOf = (name: string) => (name === "w" ? -1 : Number(name.slice(1)));
        const samples = Array.from({ length: B }, () =>
          Object.fromEntries(g.inputs.map((l) => [l.name, value(l.shape, indexOf(l.name))])),
        );
        const params = Object.fromEntries(g.params.map((l) => [l.name, value(l.shape, indexOf(l.name))]));
        const scalarOf = (name: string, a: Float64Array) => (shapeOf(name).length === 0 ? a[0] : a);
        const asValues = (r: Record<string, Float64Array>) =>
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k, scalarOf(k, v)]));
        const stacked = Object.fromEntries(
          g.inputs.map((l) => {
            const out = new Float64Array(B * size(l.shape));
            samples.forEach((s, k) => out.set(s[l.name], k * size(l.shape)));
            return [l.name, out];
          }),
        );

        const perSample = differentiate(g).graph;
        const each = samples.map((s) => evaluate(perSample, asValues(params), asValues(s)));
        const together = evaluate(differentiate(vm!.graph).graph, asValues(params), stacked);

        const loss = each.reduce((t, r) => t + r.loss, 0);
        expect(relErr(together.loss, loss, 1e-9), `loss ${together.loss} vs ${loss}`).toBeLessThan(1e-9);
        for (const l of g.params) {
          const sum = new Float64Array(size(l.shape));
          for (const r of each) {
            const v = r.grads[l.name];
            sum.forEach((_, i) => (sum[i] += typeof v === "number" ? v : v[i]));
          }
          const got = together.grads[l.name];
          sum.forEach((v, i) => {
            const x = typeof got === "number" ? got : got[i];
            expect(relErr(x, v, 1e-9), `d/d${l.name}[${i}]: ${x} vs ${v}`).toBeLessThan(1e-9);
          });
        }
      });
    }
  }
});
