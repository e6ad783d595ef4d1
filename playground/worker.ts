/**
 * The compiler, off the page's thread: the editor posts a source and a point, this answers
 * with everything the panels show (a derivation as HTML, the graph, the values, the module,
 * the gradient flow) or the diagnostics. Nothing here needs Node or a server.
 */
import katex from "katex";
import { analyze, compile, CompileError, type Diagnostic } from "../src/index.js";
import { lineCol } from "../src/source/span.js";
import { derive, type Derivation } from "../src/explain/derive.js";
import { mathText, renderDerivation, sections } from "../src/explain/render.js";
import { parsePoint } from "../src/explain/point.js";
import { graphDot, graphSvg, MAX_DRAWN } from "../src/explain/graph.js";
import { gradientFlow } from "../src/flow/flow.js";
import { lineChart } from "../src/plot/svg.js";
import type { Request, Response, Problem, Leaf } from "./protocol.js";

const FILE = "model.grad";

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
const tex = (t: string, display: boolean) =>
  katex.renderToString(t, { displayMode: display, throwOnError: true, strict: "error" });
/** prose with $…$ math */
const prose = (s: string) =>
  s
    .split(/(\$[^$]*\$)/)
    .map((part, i) => (i % 2 ? tex(part.slice(1, -1), false) : esc(part)))
    .join("");

/** the derivation as HTML: the same sections as `gradc explain`, typeset by KaTeX */
function derivationHtml(d: Derivation, digits: number): string {
  const out: string[] = [];
  for (const s of sections(d, undefined, digits)) {
    out.push(`<section><h3>${esc(s.title)}</h3>`);
    if (s.intro) out.push(`<p>${prose(s.intro)}</p>`);
    for (const m of s.math ?? []) out.push(`<div class="math">${tex(mathText(m), true)}</div>`);
    if (s.table) {
      out.push(`<table><thead><tr>${s.table.head.map((h) => `<th>${prose(h)}</th>`).join("")}</tr></thead><tbody>`);
      for (const r of s.table.rows)
        out.push(`<tr><td>${tex(r[0], false)}</td><td>${prose(r[1])}</td><td>${prose(r[2])}</td></tr>`);
      out.push("</tbody></table>");
    }
    out.push("</section>");
  }
  return out.join("\n");
}

function problems(e: CompileError, source: string): Problem[] {
  return e.diagnostics.map((d: Diagnostic) => {
    const { line, col } = lineCol(source, d.span.start);
    return {
      code: d.code,
      severity: d.severity,
      message: d.message,
      ...(d.hint ? { hint: d.hint } : {}),
      from: d.span.start,
      to: Math.max(d.span.end, d.span.start),
      line,
      col,
    };
  });
}

/** the point's value of every leaf, as the --at syntax writes it (the fields start from these) */
function leaves(point: ReturnType<typeof parsePoint>, a: ReturnType<typeof analyze>): Leaf[] {
  const show = (v: number | Float64Array | readonly number[]) =>
    typeof v === "number" ? String(v) : `[${[...v].map((x) => String(Number(x.toPrecision(6)))).join(", ")}]`;
  return [
    ...a.forward.params.map((l) => ({ name: l.name, role: "param" as const, value: show(point.params[l.name]) })),
    ...a.forward.inputs.map((l) => ({ name: l.name, role: "input" as const, value: show(point.inputs[l.name]) })),
  ];
}

async function answer(req: Request): Promise<Response> {
  const started = performance.now();
  try {
    const a = analyze(req.source, { filename: FILE });
    const point = parsePoint(req.at.trim() === "" ? "random" : req.at, a.canonical);
    const d = derive(a, point);
    const dot = graphDot(d);
    const svg = d.nodes.length <= MAX_DRAWN ? await graphSvg(dot) : undefined;
    const ts = (await compile(req.source, { filename: FILE, prettier: false })).typescript;
    // the CLI's defaults: gradc flow --init xavier --seed 1
    const flow = gradientFlow(a, { kind: "xavier" }, 1);
    const flowSvg =
      flow.rows.length === 0
        ? undefined
        : lineChart({
            title: "Gradient magnitude per layer (init xavier, seed 1)",
            xLabel: "layer k",
            yLabel: "magnitude (log scale)",
            logY: true,
            series: flow.columns.map((c) => ({
              name: c,
              points: flow.rows.flatMap((r) =>
                r.values[c] !== undefined ? [[r.layer, r.values[c]] as [number, number]] : [],
              ),
            })),
          });
    return {
      id: req.id,
      ok: true,
      derivation: derivationHtml(d, 6),
      markdown: renderDerivation(d, "md"),
      tex: renderDerivation(d, "tex"),
      ...(svg ? { graph: svg } : {}),
      typescript: ts,
      ...(flowSvg ? { flow: flowSvg } : {}),
      leaves: leaves(point, a),
      ms: performance.now() - started,
    };
  } catch (e) {
    if (e instanceof CompileError) return { id: req.id, ok: false, problems: problems(e, req.source) };
    const err = e as Error & { code?: string };
    return { id: req.id, ok: false, problems: [], error: `${err.code ? `${err.code}: ` : ""}${err.message}` };
  }
}

self.onmessage = async (e: MessageEvent<Request>) => {
  self.postMessage(await answer(e.data));
};
