/**
 * Backpropagation through time by hand (#14): a derivation writes each recursive family's
 * gradient once for a generic step (lecture 4.3's δ_k, an RNN's ∇h_t in terms of ∇h_{t+1}),
 * and a param every step shares as a Σ over the steps, each the sweep's checked lines renamed
 * (src/explain/recursion.ts).
 */
import fc from "fast-check";
import katex from "katex";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { derive, type Derivation } from "../src/explain/derive.js";
import { renamed } from "../src/explain/recursion.js";
import { mathFragments } from "../src/explain/render.js";

const lines = (d: Derivation) => d.recursion.map((e) => `${e.lhs} = ${e.steps.join(" = ")}  [${e.note}]`);

/** the sweep's last written form of the gradient of the unit the source names `name` (the nth of those so named) */
function sweepLine(d: Derivation, name: string, nth = 1): string {
  const unit = d.units.filter((e) => e.note?.startsWith(`(= ${name})`))[nth - 1].lhs;
  const e = d.sweep.find((s) => s.lhs.includes(`{\\partial ${unit}}`) || s.lhs.startsWith(`\\nabla_{${unit}}`))!;
  return e.steps[e.steps.length - 1];
}

/**
 * a generic line at step k, with a def's locals (named alike at every step in the sweep)
 * unnumbered — and so without the parentheses a numbered one takes under a subscript
 */
const atStep = (line: string, k: number, locals: readonly string[]) =>
  locals.reduce(
    (l, x) =>
      l
        .replace(new RegExp(`\\\\mathbf\\{${x}\\}_\\{\\d+\\}`, "g"), `\\mathbf{${x}}`)
        .replaceAll(`\\left(\\mathbf{${x}}\\right)`, `\\mathbf{${x}}`),
    line
      .replaceAll("t + 1", String(k + 1))
      .replaceAll("t - 1", String(k - 1))
      .replaceAll("{t}", `{${k}}`),
  );

describe("the recursion over the steps", () => {
  it("lecture 4.3's chain: δ_k from δ_{k+1}, and each layer's weight and bias from δ_k", () => {
    const d = derive(analyze(readFileSync("examples/chain.grad", "utf8")));
    expect(lines(d)).toEqual([
      "\\frac{\\partial f}{\\partial h_{k}} = \\frac{\\partial f}{\\partial h_{k + 1}}\\,\\sigma'\\left(w_{k + 1}\\,h_{k} + b_{k + 1}\\right)\\,w_{k + 1}  [k = 1, \\dots, 48]",
      "\\frac{\\partial f}{\\partial w_{k}} = \\frac{\\partial f}{\\partial h_{k}}\\,\\sigma'\\left(w_{k}\\,h_{k - 1} + b_{k}\\right)\\,h_{k - 1}  [k = 2, \\dots, 49]",
      "\\frac{\\partial f}{\\partial b_{k}} = \\frac{\\partial f}{\\partial h_{k}}\\,\\sigma'\\left(w_{k}\\,h_{k - 1} + b_{k}\\right)  [k = 2, \\dots, 49]",
    ]);
    // the generic line is the sweep's own line at every step it names
    const generic = d.recursion[0].steps[0];
    for (let k = 1; k <= 48; k++)
      expect(sweepLine(d, `h_{${k}}`)).toBe(generic.replaceAll("k + 1", String(k + 1)).replaceAll("{k}", `{${k}}`));
  });

  it("the character RNN: ∇h_t from ∇h_{t+1} (the embedding e of step t + 1), ∇Wh as a sum over t", () => {
    const d = derive(analyze(readFileSync("examples/rnn.grad", "utf8")));
    expect(lines(d)).toEqual([
      "\\nabla_{\\mathbf{h}_{t}} \\ell = 0.0625\\,\\mathbf{Wo}^{\\top} \\left(\\operatorname{softmax}\\left(\\mathbf{Wo} \\mathbf{h}_{t} + \\mathbf{bo}\\right) - \\operatorname{onehot}\\left(\\operatorname{reshape}_{\\mathbb{R}}\\left(\\mathbf{chars}_{\\left[t\\right]}\\right)\\right)\\right) + \\mathbf{Wh}^{\\top} \\left(\\nabla_{\\mathbf{h}_{t + 1}} \\ell \\odot \\tanh'\\left(\\mathbf{e}_{t + 1} + \\mathbf{Wh} \\mathbf{h}_{t} + \\mathbf{bh}\\right)\\right)  [t = 1, \\dots, 15]",
      "\\nabla_{\\mathbf{e}_{t}} \\ell = \\nabla_{\\mathbf{h}_{t}} \\ell \\odot \\tanh'\\left(\\mathbf{e}_{t} + \\mathbf{Wh} \\mathbf{h}_{t - 1} + \\mathbf{bh}\\right)  [t = 2, \\dots, 16]",
      "\\nabla_{\\mathbf{Wh}} \\ell = \\sum_{t=1}^{15} \\left(\\nabla_{\\mathbf{h}_{t + 1}} \\ell \\odot \\tanh'\\left(\\mathbf{e}_{t + 1} + \\mathbf{Wh} \\mathbf{h}_{t} + \\mathbf{bh}\\right)\\right) \\mathbf{h}_{t}^{\\top}  [\\text{a term per step}]",
      "\\nabla_{\\mathbf{bh}} \\ell = \\nabla_{\\mathbf{h}_{1}} \\ell \\odot \\tanh'\\left(\\mathbf{e}_{1} + \\mathbf{bh}\\right) + \\sum_{t=1}^{15} \\nabla_{\\mathbf{h}_{t + 1}} \\ell \\odot \\tanh'\\left(\\mathbf{e}_{t + 1} + \\mathbf{Wh} \\mathbf{h}_{t} + \\mathbf{bh}\\right)  [\\text{a term per step}]",
    ]);
    // step 3's line, as the sweep writes it (every step's embedding is named e there)
    expect(sweepLine(d, "\\mathbf{h}_{3}")).toBe(
      d.recursion[0].steps[0]
        .replaceAll("t + 1", "4")
        .replaceAll("{t}", "{3}")
        .replace("\\left[t\\right]", "\\left[3\\right]")
        .replace("\\mathbf{e}_{4}", "\\mathbf{e}"),
    );
    for (const m of mathFragments(d)) expect(() => katex.renderToString(m, { throwOnError: true })).not.toThrow();
  });

  it("the LSTM: the cell state's recursion through the forget gate, h_t and the gates z_t through each other, W as a sum over t", () => {
    const d = derive(analyze(readFileSync("examples/lstm.grad", "utf8")));
    expect(d.recursion.map((e) => `${e.lhs} [${e.note}]`)).toEqual([
      "\\nabla_{\\mathbf{c}_{t}} \\ell [t = 1, \\dots, 7]",
      "\\nabla_{\\mathbf{h}_{t}} \\ell [t = 1, \\dots, 7]",
      "\\nabla_{\\mathbf{z}_{t}} \\ell [t = 2, \\dots, 7]",
      "\\nabla_{\\mathbf{W}} \\ell [\\text{a term per step}]",
    ]);
    const [c, h, z, W] = d.recursion.map((e) => e.steps[0]);
    expect(c).toContain(
      "\\nabla_{\\mathbf{c}_{t + 1}} \\ell \\odot \\sigma\\left(\\left(\\mathbf{z}_{t + 1}\\right)_{\\left[4:8\\right]}\\right)",
    );
    // h_t is the h part of the next step's input [x, h]: a slice of Wᵀ ∇z_{t+1}, with its window
    expect(h).toBe("\\left(\\mathbf{W}^{\\top} \\nabla_{\\mathbf{z}_{t + 1}} \\ell\\right)_{\\left[3:7\\right]}");
    // z_t's four gates' gradients written into their windows of z
    for (const w of ["0:4", "4:8", "8:12", "12:16"]) expect(z).toContain(`\\operatorname{pad}_{\\left[${w}\\right]}`);
    expect(W).toContain("\\sum_{t=1}^{7}");
    // each generic line is the sweep's own line at every step it names (z named alike at every step there)
    for (let k = 1; k <= 7; k++) {
      expect(sweepLine(d, `\\mathbf{h}_{${k}}`)).toBe(atStep(h, k, ["z"]));
      expect(sweepLine(d, `\\mathbf{c}_{${k}}`)).toBe(atStep(c, k, ["z"]));
      if (k >= 2) expect(sweepLine(d, "\\mathbf{z}", k)).toBe(atStep(z, k, ["z"]));
    }
    for (const m of mathFragments(d)) expect(() => katex.renderToString(m, { throwOnError: true })).not.toThrow();
  });

  it("no recursion where there is none: an MLP's named layers, a lecture's single step", () => {
    for (const f of ["examples/mlp.grad", "examples/lecture.grad", "examples/transformer.grad"])
      expect(derive(analyze(readFileSync(f, "utf8"))).recursion, f).toEqual([]);
    // h1, h2 are a family by name, but each layer has its own weights: the lines differ
    const mlp =
      "param W1[3, 3], W2[3, 3], W3[3, 3]\ninput x[3]\nh1 = tanh(W1 @ x)\nh2 = tanh(W2 @ h1)\nh3 = tanh(W3 @ h2)\nloss = sum(h3)\n";
    expect(derive(analyze(mlp)).recursion).toEqual([]);
  });

  it("renames a step's names, not a unit's number nor another step's", () => {
    expect(
      renamed(
        "h_{3} + \\mathbf{h}_{4} w_{2} + u_{3} + \\mathbf{u}_{4} + x_{\\left[3\\right]} + X_{\\left[2,\\,:\\right]} + z_{\\left[3:4\\right]} + y_{7}",
        3,
        "t",
      ),
    ).toBe(
      "h_{t} + \\mathbf{h}_{t + 1} w_{t - 1} + u_{3} + \\mathbf{u}_{4} + x_{\\left[t\\right]} + X_{\\left[t - 1,\\,:\\right]} + z_{\\left[3:4\\right]} + y_{7}",
    );
  });

  it("any recurrent cell (fast-check): inline or a def, with or without a loss per step, any activation", () => {
    fc.assert(
      fc.property(
        fc.record({
          T: fc.integer({ min: 4, max: 7 }),
          H: fc.integer({ min: 1, max: 3 }),
          act: fc.constantFrom("tanh", "sigmoid", "relu", "softplus"),
          def: fc.boolean(),
          perStep: fc.boolean(),
          ownWeights: fc.boolean(),
        }),
        ({ T, H, act, def, perStep, ownWeights }) => {
          const W = ownWeights ? "W{t}" : "W";
          const cell = def ? `cell(xs[t - 1], h{t-1}, ${W}, U, b)` : `${act}(${W} @ h{t-1} + U @ xs[t - 1] + b)`;
          const source = [
            `param ${ownWeights ? "" : `W[${H}, ${H}], `}U[${H}, 2], b[${H}], V[2, ${H}]`,
            `input xs[${T}, 2]`,
            ...(def ? [`def cell(x, h, M, A, c) = ${act}(M @ h + A @ x + c)`] : []),
            `h{0} = zeros(${H})`,
            "s{0} = 0",
            `for t in 1..${T} {`,
            ...(ownWeights ? [`  param W{t}[${H}, ${H}]`] : []),
            `  h{t} = ${cell}`,
            `  s{t} = s{t-1} + ${perStep ? "sum((V @ h{t})^2)" : "0"}`,
            "}",
            "loss = s{" + T + "} + sum(sin(h{" + T + "}))",
            "",
          ].join("\n");
          const d = derive(analyze(source));
          const [first] = d.recursion;
          expect(first.lhs).toBe("\\nabla_{\\mathbf{h}_{t}} \\ell");
          expect(first.steps[0]).toContain("\\nabla_{\\mathbf{h}_{t + 1}} \\ell");
          // every step but the last (its gradient has no successor), perhaps not the first (h_0 is a
          // constant) nor the last but one (the last step's gradient, when small, is written out)
          expect(first.note).toMatch(new RegExp(`^t = [12], \\\\dots, (${T - 2}|${T - 1})$`));
          for (const m of mathFragments(d)) expect(() => katex.renderToString(m, { throwOnError: true })).not.toThrow();
        },
      ),
      { numRuns: 25, seed: 45 },
    );
  });
});
