import type { Graph } from "../../ir/graph.js";
import { opInfo } from "../../ops/index.js";
import { foldFormula } from "../../rules/fold.js";
import { ruleFor } from "../../rules/formula.js";
import { erfFar, erfNear } from "../../util/erf.generated.js";

/**
 * Functions the rule table's forward formulas may call that JavaScript's Math lacks. Format:
 * name -> its doc, parameters and body. The module defines those its program's ops use.
 */
export const moduleFunctions: Readonly<
  Record<string, { readonly doc: string; readonly params: readonly string[]; readonly body: readonly string[] }>
> = {
  erf: {
    doc: "The error function (not in Math): x P(2x² − 1) below |x| = 1, 1 − exp(−x²) Q(t) up to 6, ±1 beyond; P and Q fitted by gradc's scripts/erf.ts, within two ulps of erf.",
    params: ["x"],
    // polynomials by Horner's rule, no loop and no division: 3× faster than the series and the
    // continued fraction it replaced, which a transformer's GELU spent a fifth of its step in
    body: [
      "const a = Math.abs(x);",
      "if (a < 1) {",
      "  const t = 2 * x * x - 1;",
      ...horner(erfNear, "t", "p", "  "),
      "  return x * p;",
      "}",
      "// erfc(6) = 2.2e-17 is under half an ulp of 1; NaN stays NaN",
      "if (!(a < 6)) return x < 0 ? -1 : x > 0 ? 1 : x;",
      "let t = 0,",
      "  q = 0;",
      ...erfFar.flatMap(({ lo, hi, q }, k) => [
        `${k === 0 ? "" : "} else "}${k === erfFar.length - 1 ? "" : `if (a < ${hi}) `}{`,
        `  t = ${2 / (hi - lo)} * a - ${(hi + lo) / (hi - lo)};`,
        ...horner(q, "t", "q", "  ").map((line, i) => (i === 0 ? line.replace("let q", "q") : line)),
      ]),
      "}",
      "// erfc(a) = exp(-a^2) Q(t)",
      "const erfc = Math.exp(-a * a) * q;",
      "return x < 0 ? erfc - 1 : 1 - erfc;",
    ],
  },
};

/** p[0] + t (p[1] + t (p[2] + …)) into `into`: a polynomial by Horner's rule, one step a line */
function horner(p: readonly number[], t: string, into: string, indent: string): string[] {
  const step = (c: number) => `${indent}${into} = ${into} * ${t} ${c < 0 ? "-" : "+"} ${Math.abs(c)};`;
  return [`${indent}let ${into} = ${p[p.length - 1]};`, ...p.slice(0, -1).reverse().map(step)];
}

/** The module functions the forward formulas of a graph's elementwise ops call, in table order. */
export function usedModuleFunctions(g: Graph): string[] {
  const used = new Set<string>();
  for (const op of new Set(g.nodes.map((n) => n.op))) {
    if (opInfo(op).kind !== "elementwise") continue;
    foldFormula<null>(ruleFor(op).forward!, {
      constant: () => null,
      symbol: () => null,
      operator: () => null,
      call: (name) => (name in moduleFunctions ? (used.add(name), null) : null),
      conditional: () => null,
    });
  }
  return Object.keys(moduleFunctions).filter((f) => used.has(f));
}
