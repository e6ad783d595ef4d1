import { describe, expect, it } from "vitest";
import { differentiate } from "../src/autodiff/differentiate.js";
import { evaluate } from "../src/eval/evaluate.js";
import { Builder } from "../src/ir/build.js";
import type { Attrs } from "../src/ops/attrs.js";
import type { Graph } from "../src/ir/graph.js";
import { verify } from "../src/ir/verify.js";
import { ops, type Op } from "../src/ops/index.js";
import { parsedRules } from "../src/rules/formula.js";
import { size, type Shape } from "../src/shape/shape.js";
import { centralDifference, relErr, rng, type Values } from "./helpers/module.js";

/**
 * Every rule against central finite differences, through the reference evaluator only (no
 * emitter involved): loss = sum(op(params...) * weights) for fixed random weights.
 */
interface Case {
  readonly op: Op;
  readonly shapes: readonly Shape[];
  readonly target?: Shape;
  /** the generic primitives' attributes */
  readonly attrs?: Attrs;
  /** an operand that is integer data (indices, labels): an input with these values, not a param */
  readonly ints?: { readonly operand: number; readonly values: readonly number[] };
  /** keep operands where the op is smooth */
  readonly positive?: boolean;
}

const unaryOps: Op[] = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "abs",
  "sin",
  "cos",
  "tan",
  "tanh",
  "sigmoid",
  "relu",
  "softplus",
  "step",
  "sign",
  "log1p",
  "expm1",
  "erf",
];
const binaryOps: Op[] = ["add", "sub", "mul", "div", "pow", "max", "min", "ge", "gt", "eq"];
const cases: Case[] = [
  ...unaryOps.map((op) => ({ op, shapes: [[3]], positive: op === "log" || op === "sqrt" })),
  ...binaryOps.map((op) => ({
    op,
    shapes: [
      [2, 3],
      [2, 3],
    ],
    positive: op === "pow" || op === "div",
  })),
  {
    op: "select",
    shapes: [
      [2, 3],
      [2, 3],
      [2, 3],
    ],
  },
  {
    op: "guard",
    shapes: [
      [2, 3],
      [2, 3],
    ],
  },
  { op: "broadcast", shapes: [[3]], target: [2, 3] },
  { op: "broadcast", shapes: [[]], target: [4] },
  { op: "broadcast", shapes: [[2, 1]], target: [2, 3] },
  { op: "rowbcast", shapes: [[2]], target: [2, 3] },
  { op: "transpose", shapes: [[2, 3]] },
  { op: "sum", shapes: [[2, 3]] },
  { op: "rowsum", shapes: [[2, 3]] },
  { op: "reduce_to", shapes: [[2, 3]], target: [3] },
  { op: "reduce_to", shapes: [[2, 3]], target: [2, 1] },
  { op: "reduce_to", shapes: [[4]], target: [] },
  { op: "matvec", shapes: [[2, 3], [3]] },
  { op: "vecmat", shapes: [[2], [2, 3]] },
  {
    op: "matmul",
    shapes: [
      [2, 3],
      [3, 4],
    ],
  },
  { op: "outer", shapes: [[2], [3]] },
  { op: "dot", shapes: [[3], [3]] },
  { op: "softmax", shapes: [[2, 4]] },
  { op: "softmax", shapes: [[4]] },
  { op: "log_softmax", shapes: [[2, 4]] },
  { op: "logsumexp", shapes: [[2, 4]] },
  { op: "logsumexp", shapes: [[4]] },
  {
    op: "sce",
    shapes: [
      [2, 4],
      [2, 4],
    ],
  },
  { op: "sce", shapes: [[4], [4]] },
  // the axis-generic primitives, at ranks 1 to 4
  { op: "reduce_sum", shapes: [[2, 3, 4]], attrs: { axes: [0, 2] } },
  { op: "reduce_sum", shapes: [[2, 3, 2, 2]], attrs: { axes: [1] } },
  { op: "reduce_max", shapes: [[2, 3, 4]], attrs: { axes: [1] } },
  { op: "reduce_min", shapes: [[3, 4]], attrs: { axes: [0, 1] } },
  { op: "permute", shapes: [[2, 3, 4]], attrs: { perm: [2, 0, 1] } },
  { op: "reshape", shapes: [[2, 3, 4]], target: [6, 4] },
  { op: "slice", shapes: [[4, 5, 3]], target: [2, 2, 3], attrs: { starts: [1, 4, 0], steps: [2, -3, 1] } },
  { op: "pad", shapes: [[2, 2]], target: [4, 5], attrs: { starts: [1, 0], steps: [2, 3] } },
  { op: "contract1", shapes: [[3, 3, 2]], target: [3], attrs: { spec: "iij->i" } },
  { op: "contract1", shapes: [[3]], target: [3, 3], attrs: { spec: "i->ii" } },
  {
    op: "contract2",
    shapes: [
      [2, 3, 4],
      [2, 4, 5],
    ],
    target: [2, 3, 5],
    attrs: { spec: "bij,bjk->bik" },
  },
  { op: "contract2", shapes: [[3], [2]], target: [3, 2, 4], attrs: { spec: "i,j->ijk" } },
  { op: "iota", shapes: [], target: [2, 3], attrs: { axis: 1 } },
  // integer data: repeated ids, so the scatter-add accumulates
  { op: "gather", shapes: [[4, 3], [5]], attrs: { axis: 0 }, ints: { operand: 1, values: [2, 0, 2, 3, 2] } },
  {
    op: "gather",
    shapes: [
      [2, 4, 3],
      [2, 2],
    ],
    attrs: { axis: 1 },
    ints: { operand: 1, values: [3, 3, 0, 1] },
  },
  {
    op: "scatter_add",
    shapes: [[5, 3], [5]],
    target: [4, 3],
    attrs: { axis: 0 },
    ints: { operand: 1, values: [1, 1, 3, 0, 1] },
  },
  { op: "one_hot", shapes: [[3]], target: [3, 4], ints: { operand: 0, values: [3, 0, 3] } },
];

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
