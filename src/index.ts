/**
 * gradc's API: compile a .grad source to a TypeScript gradient module (src/pipeline.ts), and the
 * worked derivation, graph picture and fusion report built on the same analysis.
 */
import { analyze, type CompileOptions } from "./pipeline.js";
import { derive, type Derivation } from "./explain/derive.js";
import { graphDot, graphSvg, MAX_DRAWN } from "./explain/graph.js";
import { ExplainError } from "./explain/errors.js";
import { parsePoint } from "./explain/point.js";
import { renderDerivation, type Format } from "./explain/render.js";

export { analyze, compile, explainFusion, sourceHash } from "./pipeline.js";
export type { Analysis, CompileOptions, CompileResult } from "./pipeline.js";
export interface ExplainOptions extends CompileOptions {
  /** evaluate every node and gradient here: "w=0.5,b=-1,x=2,y=1", "v=[1,2]", or "random[:seed]" */
  readonly at?: string;
  readonly format?: Format;
  /** the graph picture's file name, referenced from Markdown */
  readonly picture?: string;
  /** significant digits in the values table (default 6) */
  readonly digits?: number;
}

/** The worked derivation of a model (lecture 4.6), as Markdown or LaTeX. */
export function explain(text: string, options: ExplainOptions = {}): { text: string; derivation: Derivation } {
  const a = analyze(text, options);
  const point = options.at === undefined ? undefined : parsePoint(options.at, a.canonical);
  const derivation = derive(a, point);
  return { text: renderDerivation(derivation, options.format ?? "md", options.picture, options.digits), derivation };
}

/** The computation graph as DOT, or as SVG (drawn by Graphviz compiled to wasm). */
export async function graph(
  text: string,
  options: CompileOptions & { at?: string; format?: "svg" | "dot" } = {},
): Promise<string> {
  const a = analyze(text, options);
  const d = derive(a, options.at === undefined ? undefined : parsePoint(options.at, a.canonical));
  const dot = graphDot(d);
  if (options.format === "dot") return dot;
  if (d.nodes.length > MAX_DRAWN)
    throw new ExplainError("E541", { file: d.file, count: d.nodes.length, limit: MAX_DRAWN });
  return graphSvg(dot);
}

export { CompileError } from "./diagnostics/error.js";
export { ExplainError, PointError } from "./explain/errors.js";
export { UserError } from "./diagnostics/usage.js";
export type { Diagnostic } from "./diagnostics/diagnostic.js";
export { renderDiagnostic, renderDiagnostics } from "./diagnostics/render.js";
export { evaluate } from "./eval/evaluate.js";
export type { Graph, Node } from "./ir/graph.js";
export { printGraph } from "./ir/print.js";
export { verify } from "./ir/verify.js";
export type { Dtype } from "./emit/ts/module.js";
