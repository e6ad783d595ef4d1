import type { Derivation } from "./derive.js";

/** Op -> the symbol drawn in its node, as in the lecture's figures. */
const opSymbol: Readonly<Record<string, string>> = {
  mul: "×",
  add: "+",
  sub: "−",
  div: "÷",
  pow: "^",
  neg: "−",
  sigmoid: "σ",
  tanh: "tanh",
  relu: "ReLU",
  exp: "exp",
  log: "log",
  matvec: "@",
  vecmat: "@",
  matmul: "@",
  outer: "⊗",
  dot: "·",
  transpose: "ᵀ",
  sum: "Σ",
  sce: "CE",
  broadcast: "↗",
};

const subscripts = "₀₁₂₃₄₅₆₇₈₉";
/** u_{12} -> u₁₂, \mathbf{W}_{1} -> W₁: plain-text labels for the picture. */
function plainLabel(tex: string): string {
  return tex
    .replace(/\\math(bf|rm)\{([^}]*)\}/g, "$2")
    .replace(/\\boldsymbol\{([^}]*)\}/g, "$1")
    .replace(/_\{(\d+)\}/g, (_, d: string) => [...d].map((c) => subscripts[Number(c)]).join(""))
    .replace(
      /\\([a-z]+)/g,
      (_, g: string) =>
        ({
          alpha: "α",
          beta: "β",
          gamma: "γ",
          delta: "δ",
          theta: "θ",
          lambda: "λ",
          mu: "μ",
          sigma: "σ",
          tau: "τ",
          phi: "φ",
          omega: "ω",
          varepsilon: "ε",
          eta: "η",
          rho: "ρ",
          pi: "π",
        })[g] ?? g,
    );
}

const quote = (s: string) => `"${s.replace(/["\\{}|<>]/g, (c) => `\\${c}`)}"`;
const fmt = (v: number) => (v === 0 || (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4) ? v.toFixed(4) : v.toExponential(3));

/** The computation graph in Graphviz DOT: params boxed and blue, inputs grey, units circles. */
export function graphDot(d: Derivation): string {
  const rows = new Map(d.table?.map((r, i) => [d.nodes[i].id, r]));
  const lines = [
    "digraph gradc {",
    "  rankdir=LR;",
    '  node [fontname="Helvetica", fontsize=12];',
    '  edge [color="#555555"];',
  ];
  for (const n of d.nodes) {
    const name = plainLabel(n.label);
    const op = n.kind === "unit" ? (opSymbol[n.op] ?? n.op) : "";
    const row = rows.get(n.id);
    const style =
      n.kind === "param"
        ? 'style=filled, fillcolor="#dbeafe", color="#1d4ed8"'
        : n.kind === "input"
          ? 'style=filled, fillcolor="#f3f4f6", color="#6b7280"'
          : 'color="#111827"';
    if (row) {
      const data = row.shape.length === 0 ? `data ${fmt(row.value[0])}` : `data [${row.shape.join("×")}]`;
      const grad = row.grad
        ? row.shape.length === 0
          ? `grad ${fmt(row.grad[0])}`
          : `grad ‖·‖ ${fmt(Math.sqrt(row.grad.reduce((a, x) => a + x * x, 0)))}`
        : "grad —";
      const label = `{ ${[name, op].filter(Boolean).join(" ")} | ${data} | ${grad} }`.replace(/"/g, "");
      lines.push(`  n${n.id} [shape=record, label="${label.replace(/\\/g, "\\\\")}", ${style}];`);
    } else {
      const shape = n.kind === "param" ? "box" : n.kind === "input" ? "ellipse" : "circle";
      lines.push(
        `  n${n.id} [shape=${shape}, label=${quote(op ? `${name}\n${op}` : name).replace(/\n/g, "\\n")}, ${style}];`,
      );
    }
  }
  for (const n of d.nodes) for (const a of n.args) lines.push(`  n${a} -> n${n.id};`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** DOT -> SVG with Graphviz compiled to WebAssembly (no system Graphviz needed). */
export async function graphSvg(dot: string): Promise<string> {
  const { instance } = await import("@viz-js/viz");
  const viz = await instance();
  return viz.renderString(dot, { format: "svg" });
}
