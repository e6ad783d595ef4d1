import type { Attrs } from "../../src/ops/attrs.js";
import type { Op } from "../../src/ops/index.js";
import type { Shape } from "../../src/shape/shape.js";

/** One op on operands of given shapes: the rule, batching and emitter tests run every op through these. */
export interface Case {
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
export const cases: Case[] = [
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
  // sliding windows: overlapping (stride 1), strided with a dilation, and in one axis
  { op: "unfold", shapes: [[2, 4, 5]], target: [2, 2, 3, 3, 3], attrs: { steps: [1, 1], dilation: [1, 1] } },
  { op: "unfold", shapes: [[1, 2, 7, 6]], target: [1, 2, 2, 2, 2, 2], attrs: { steps: [2, 3], dilation: [3, 2] } },
  { op: "unfold", shapes: [[9]], target: [3, 4], attrs: { steps: [2], dilation: [1] } },
  { op: "fold", shapes: [[2, 2, 3, 3, 3]], target: [2, 4, 5], attrs: { steps: [1, 1], dilation: [1, 1] } },
  { op: "fold", shapes: [[3, 2, 4]], target: [3, 8], attrs: { steps: [2], dilation: [1] } },
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
