import type { Shape } from "../shape/shape.js";
import { userKeyed } from "../util/table.js";

const greek: Readonly<Record<string, string>> = userKeyed({
  α: "\\alpha",
  β: "\\beta",
  γ: "\\gamma",
  δ: "\\delta",
  ε: "\\varepsilon",
  ζ: "\\zeta",
  η: "\\eta",
  θ: "\\theta",
  ι: "\\iota",
  κ: "\\kappa",
  λ: "\\lambda",
  μ: "\\mu",
  ν: "\\nu",
  ξ: "\\xi",
  π: "\\pi",
  ρ: "\\rho",
  σ: "\\sigma",
  τ: "\\tau",
  φ: "\\phi",
  χ: "\\chi",
  ψ: "\\psi",
  ω: "\\omega",
  Γ: "\\Gamma",
  Δ: "\\Delta",
  Θ: "\\Theta",
  Λ: "\\Lambda",
  Σ: "\\Sigma",
  Φ: "\\Phi",
  Ω: "\\Omega",
});
const greekWords = new Set([
  "alpha",
  "beta",
  "gamma",
  "delta",
  "epsilon",
  "theta",
  "lambda",
  "mu",
  "sigma",
  "tau",
  "phi",
  "omega",
  "eta",
  "rho",
]);

function base(name: string, bold: boolean): string {
  let t: string;
  if (greek[name]) t = greek[name];
  else if (greekWords.has(name)) t = `\\${name}`;
  else if (/^[A-Za-z]$/.test(name)) t = name;
  else if (/^[A-Za-z0-9]+$/.test(name)) t = `\\mathrm{${name}}`;
  else
    t = `\\mathrm{${[...name].map((c) => (greek[c] ? `${greek[c]}` : /[A-Za-z0-9]/.test(c) ? c : c === "_" ? "\\_" : "?")).join("")}}`;
  if (!bold) return t;
  return t.startsWith("\\mathrm{")
    ? `\\mathbf{${t.slice(8, -1)}}`
    : t.startsWith("\\")
      ? `\\boldsymbol{${t}}`
      : `\\mathbf{${t}}`;
}

/** A source name as math: w_3 -> w_{3}, W1 -> \mathbf{W}_{1} (tensors bold), pred -> \mathrm{pred}. */
export function nameTex(name: string, shape: Shape): string {
  const bold = shape.length > 0;
  const m = /^(.*?)_?(\d+)$/.exec(name);
  if (m && m[1] && !/_$/.test(m[1])) return `${base(m[1], bold)}_{${m[2]}}`;
  return base(name, bold);
}

export function shapeTex(shape: Shape): string {
  return shape.length === 0 ? "\\mathbb{R}" : `\\mathbb{R}^{${shape.join(" \\times ")}}`;
}
