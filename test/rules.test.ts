import { describe, expect, it } from "vitest";
import { differentiate } from "../src/autodiff/differentiate.js";
import { evaluate } from "../src/eval/evaluate.js";
import { Builder } from "../src/ir/build.js";
import type { Graph } from "../src/ir/graph.js";
import { verify } from "../src/ir/verify.js";
import { ops } from "../src/ops/index.js";
import { parsedRules } from "../src/rules/formula.js";
import { size, type Shape } from "../src/shape/shape.js";
import { cases, type Case } from "./helpers/op-cases.js";
import { centralDifference, relErr, rng, type Values } from "./helpers/module.js";

/**
 * Every rule against central finite differences, through the reference evaluator only (no
 * emitter involved): loss = sum(op(params...) * weights) for fixed random weights.
 */
function build(c: Case): Graph {
  const b = new Builder();
  const args = c.shapes.map((s, i) =>
    b.leaf(i === c.ints?.operand ? "input" : "param", i === c.ints?.operand ? "ids" : `p${i}`, s),
  );
  const y = b.node(c.op, args, { ...(c.target ? { target: c.target } : {}), ...(c.attrs ? { attrs: c.attrs } : {}) });
  const shape = b.shape(y);
  const w = b.leaf("input", "w", shape);
  const prod = b.elementwise("mul", [y, w]);
  const loss = shape.length === 0 ? prod : b.node("sum", [prod]);
  return differentiate(
    b.finish({
      file: c.op,
      params: args.flatMap((n, i) =>
        i === c.ints?.operand ? [] : [{ name: `p${i}`, shape: c.shapes[i], node: n, span: { start: 0, end: 0 } }],
      ),
      inputs: [
        { name: "w", shape, node: w, span: { start: 0, end: 0 } },
        ...(c.ints
          ? [
              {
                name: "ids",
                shape: c.shapes[c.ints.operand],
                node: args[c.ints.operand],
                span: { start: 0, end: 0 },
                int: true,
              },
            ]
          : []),
      ],
      loss,
      grads: [],
    }),
  ).graph;
}

describe("the op definitions", () => {
  it("parse: one derivative per operand for every op that computes something", () => {
    for (const [op, info] of Object.entries(ops)) {
      if (info.kind === "leaf") continue;
      expect(parsedRules[op as keyof typeof parsedRules].grads.length, op).toBe(info.args.length);
    }
  });

  it("a node carries exactly the attributes its op declares, and a target shape only if the op takes one", () => {
    const b = new Builder();
    const x = b.leaf("param", "x", [2, 3]);
    expect(() => b.node("reduce_sum", [x])).toThrow(/reduce_sum: lacks axes/);
    expect(() => b.node("exp", [x], { attrs: { axes: [0] } })).toThrow(/exp: does not take axes/);
    expect(() => b.node("slice", [x], { target: [1, 3], attrs: { starts: [0, 0] } })).toThrow(/lacks steps/);
    const g = b.node("reduce_sum", [x], { attrs: { axes: [1] } });
    const graph = b.finish({ file: "t", params: [], inputs: [], loss: b.node("sum", [g]), grads: [] });
    expect(verify(graph)).toEqual([]);
    const bad = { ...graph, nodes: graph.nodes.map((n) => (n.id === g ? { ...n, attrs: { axis: 1 } } : n)) };
    expect(verify(bad).join("\n")).toMatch(/reduce_sum: lacks axes and does not take axis/);
  });

  it("covers every op with a finite-difference case", () => {
    const covered = new Set(cases.map((c) => c.op));
    for (const [op, info] of Object.entries(ops)) if (info.kind !== "leaf") expect(covered, op).toContain(op);
  });

  for (const c of cases) {
    it(`${c.op} ${c.shapes.map((s) => `[${s.join(",")}]`).join(" ")}${c.target ? ` -> [${c.target.join(",")}]` : ""}`, () => {
      const g = build(c);
      const next = rng(c.op.length * 7919 + c.shapes.length);
      const value = (s: Shape) => {
        // operands spread apart, so max/min/ge/relu/abs are never at a kink
        const a = Float64Array.from({ length: size(s) }, (_, i) =>
          c.positive ? 0.5 + next() : (next() - 0.5) * 2 + (i % 2 ? 0.05 : -0.05),
        );
        return s.length === 0 ? a[0] : a;
      };
      const params: Values = {};
      c.shapes.forEach((s, i) => {
        if (i !== c.ints?.operand) params[`p${i}`] = value(s);
      });
      if (c.op === "max" || c.op === "min" || c.op === "ge" || c.op === "gt" || c.op === "eq")
        (params.p1 as Float64Array).forEach(
          (v, i, arr) => (arr[i] = (params.p0 as Float64Array)[i] + (i % 2 ? 0.3 : -0.3)),
        );
      const inputs = {
        w: value(g.nodes[g.inputs[0].node].shape),
        ...(c.ints ? { ids: Float64Array.from(c.ints.values) } : {}),
      };
      const got = evaluate(g, params as never, inputs as never);
      const loss = (p: Values) => evaluate(g, p as never, inputs as never).loss;
      c.shapes.forEach((s, k) => {
        if (k === c.ints?.operand) return;
        for (let i = 0; i < size(s); i++) {
          const fd = centralDifference(loss, params, `p${k}`, i);
          const v = got.grads[`p${k}`];
          const an = typeof v === "number" ? v : v[i];
          expect(relErr(an, fd), `d/dp${k}[${i}]: rule ${an}, finite difference ${fd}`).toBeLessThan(1e-6);
        }
      });
    });
  }
});
