import fc from "fast-check";

/** A convolution's geometry: x's and W's shapes and the per-axis arguments. */
export interface ConvCase {
  readonly x: number[];
  readonly W: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly dilation: number[];
  readonly groups: number;
}

export const list = (v: readonly number[]) => `[${v.join(", ")}]`;

/** Random convolutions: one or two spatial axes, with or without the batch axis, any stride, padding, dilation and groups. */
export const convCase: fc.Arbitrary<ConvCase> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    batch: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
    groups: fc.integer({ min: 1, max: 3 }),
    perGroupC: fc.integer({ min: 1, max: 2 }),
    perGroupF: fc.integer({ min: 1, max: 2 }),
    axes: fc.array(
      fc.record({
        kernel: fc.integer({ min: 1, max: 3 }),
        stride: fc.integer({ min: 1, max: 3 }),
        padding: fc.integer({ min: 0, max: 2 }),
        dilation: fc.integer({ min: 1, max: 2 }),
        extra: fc.integer({ min: 0, max: 4 }),
      }),
      { minLength: 2, maxLength: 2 },
    ),
  })
  .map(({ n, batch, groups, perGroupC, perGroupF, axes }) => {
    const used = axes.slice(0, n);
    // the smallest input one window fits into, plus `extra`
    const spatial = used.map((a) => Math.max(1, a.dilation * (a.kernel - 1) + 1 - 2 * a.padding + a.extra));
    return {
      x: [...(batch ? [batch] : []), groups * perGroupC, ...spatial],
      W: [groups * perGroupF, perGroupC, ...used.map((a) => a.kernel)],
      stride: used.map((a) => a.stride),
      padding: used.map((a) => a.padding),
      dilation: used.map((a) => a.dilation),
      groups,
    };
  });

/** the call, on `input` with filters W (and bias b unless `bias` is false) */
export const convCall = (c: ConvCase, input = "x", bias = true) =>
  `${c.W.length === 4 ? "conv2d" : "conv1d"}(${input}, W${bias ? ", bias=b" : ""}, stride=${list(c.stride)}, padding=${list(c.padding)}, dilation=${list(c.dilation)}, groups=${c.groups})`;
