import type { Graph } from "../../ir/graph.js";
import { opInfo } from "../../ops/index.js";
import { foldFormula } from "../../rules/fold.js";
import { ruleFor } from "../../rules/formula.js";

/**
 * Functions the rule table's forward formulas may call that JavaScript's Math lacks. Format:
 * name -> its doc, parameters and body. The module defines those its program's ops use.
 */
export const moduleFunctions: Readonly<
  Record<string, { readonly doc: string; readonly params: readonly string[]; readonly body: readonly string[] }>
> = {
  erf: {
    doc: "The error function (not in Math): its Maclaurin series below |x| = 2, the continued fraction of erfc above.",
    params: ["x"],
    // the series stops once a term is below 1e-17 of the sum (under half an ulp, as are all the
    // shrinking terms after it: the same double as 60 terms, ~12 terms at |x| = 0.5 instead of
    // 60); the fraction is cut at 640 / a² + 8 terms (the same doubles as 2,000 terms for a in
    // [2, 30], measured): a transformer's GELU spent half its step in the fixed-length loops
    body: [
      "const a = Math.abs(x);",
      "if (!(a >= 2)) {",
      "  // sum_n (-1)^n x^(2n+1) / (n! (2n+1)), times 2/sqrt(pi); NaN stays NaN",
      "  let term = x;",
      "  let sum = x;",
      "  for (let n = 1; n < 60; n++) {",
      "    term *= (-x * x) / n;",
      "    const d = term / (2 * n + 1);",
      "    sum += d;",
      "    if (Math.abs(d) <= 1e-17 * Math.abs(sum)) break;",
      "  }",
      "  return 1.1283791670955126 * sum;",
      "}",
      "// erfc(a) = exp(-a^2) / sqrt(pi) / (a + (1/2) / (a + 1 / (a + (3/2) / (a + ...))))",
      "let f = a;",
      "for (let k = Math.ceil(640 / (a * a)) + 8; k >= 1; k--) f = a + k / 2 / f;",
      "const erfc = Math.exp(-a * a) / 1.7724538509055159 / f;",
      "return x < 0 ? erfc - 1 : 1 - erfc;",
    ],
  },
};

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
