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
  broadcast: "broadcast",
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

type GraphNode = Derivation["nodes"][number];
type Row = NonNullable<Derivation["table"]>[number];

/** One node's DOT line: its label (with its value and gradient when there is a point), shape and colour. */
function dotNode(n: GraphNode, dotId: string, row: Row | undefined): string {
  const name = plainLabel(n.label);
  const op = n.kind === "unit" ? (opSymbol[n.op] ?? n.op) : "";
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
    return `  ${dotId} [shape=record, label="${label.replace(/\\/g, "\\\\")}", ${style}];`;
  }
  const shape = n.kind === "param" ? "box" : n.kind === "input" ? "ellipse" : "circle";
  return `  ${dotId} [shape=${shape}, label=${quote(op ? `${name}\n${op}` : name).replace(/\n/g, "\\n")}, ${style}];`;
}

/**
 * Leaves read by many units (a weight shared by every layer): drawn beside each use, since one
 * node with a thousand long edges makes the picture unreadable and Graphviz's layout quadratic.
 */
function sharedLeaves(d: Derivation): Set<number> {
  const uses = new Map<number, number>();
  for (const n of d.nodes) for (const a of n.args) uses.set(a, (uses.get(a) ?? 0) + 1);
  return new Set(d.nodes.filter((n) => n.kind !== "unit" && (uses.get(n.id) ?? 0) > MAX_SHARED_USES).map((n) => n.id));
}

/** The nodes the loss depends on: a value computed for nothing is not part of the picture. */
function reachingLoss(d: Derivation): Set<number> {
  const byId = new Map(d.nodes.map((n) => [n.id, n]));
  const seen = new Set<number>();
  const stack = [d.loss];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id) || !byId.has(id)) continue;
    seen.add(id);
    stack.push(...byId.get(id)!.args);
  }
  return seen;
}

/** The longest path, in edges: a long chain is laid out top to bottom, so that it fits a page. */
function depth(nodes: readonly GraphNode[]): number {
  const level = new Map<number, number>();
  for (const n of nodes) level.set(n.id, Math.max(0, ...n.args.map((a) => (level.get(a) ?? 0) + 1)));
  return Math.max(0, ...level.values());
}

/** The computation graph in Graphviz DOT: params boxed and blue, inputs grey, units circles, constants as their values. */
export function graphDot(d: Derivation): string {
  const live = reachingLoss(d);
  const nodes = d.nodes.filter((n) => live.has(n.id));
  const rows = new Map(d.table?.map((r, i) => [d.nodes[i].id, r]));
  const lines = [
    "digraph gradc {",
    `  rankdir=${depth(nodes) > MAX_DEPTH_ACROSS ? "TB" : "LR"};`,
    ...(d.nodes.length > FAST_LAYOUT_FROM ? ["  nslimit=1; nslimit1=1; splines=line;"] : []),
    '  node [fontname="Helvetica", fontsize=12];',
    '  edge [color="#555555"];',
  ];
  const copied = sharedLeaves(d);
  const byId = new Map(d.nodes.map((n) => [n.id, n]));
  for (const n of nodes) if (!copied.has(n.id)) lines.push(dotNode(n, `n${n.id}`, rows.get(n.id)));
  for (const n of nodes) {
    for (const a of n.args) {
      if (!copied.has(a)) lines.push(`  n${a} -> n${n.id};`);
      else lines.push(dotNode(byId.get(a)!, `n${a}_${n.id}`, rows.get(a)), `  n${a}_${n.id} -> n${n.id};`);
    }
    n.constants.forEach((v, k) =>
      lines.push(
        `  c${n.id}_${k} [shape=plaintext, label=${quote(String(Number(v.toPrecision(6))))}, fontcolor="#4b5563"];`,
        `  c${n.id}_${k} -> n${n.id} [color="#9ca3af"];`,
      ),
    );
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** A graph whose longest path has more edges than this is laid out top to bottom (a page is taller than wide). */
const MAX_DEPTH_ACROSS = 6;
/** A param or input read by more units than this is drawn once beside each of them. */
const MAX_SHARED_USES = 3;
/** From this many nodes Graphviz lays out with straight edges and bounded iterations (seconds, not minutes). */
const FAST_LAYOUT_FROM = 60;
/** Graphs larger than this are not drawn: Graphviz runs out of memory, and no one could read them. */
export const MAX_DRAWN = 1500;

/** DOT -> SVG with Graphviz compiled to WebAssembly (no system Graphviz needed). */
export async function graphSvg(dot: string): Promise<string> {
  const { instance } = await import("@viz-js/viz");
  const viz = await instance();
  return viz.renderString(dot, { format: "svg" });
}
