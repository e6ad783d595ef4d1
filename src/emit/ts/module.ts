import type { Graph } from "../../ir/graph.js";
import { opInfo } from "../../ops/index.js";
import { size } from "../../shape/shape.js";
import { moduleOptions, withHeader } from "./header.js";
import { moduleFunctions } from "./helpers.js";
import { validatorNames, validators } from "./validate.js";
import { emitBody, type FunctionContext } from "./function.js";
import { namesIn, splitBody } from "./split.js";
import { kernelLocals } from "../../ops/loops.js";
import { NameTable } from "./names.js";
import { memberText, printStmts } from "../../code/syntax.js";
import type { EmitOptions } from "./types.js";
import { wasmLayout, type WasmLayout } from "./wasm-layout.js";
import { printDeclarations, type Declaration } from "./declare.js";
import {
  exportedFunctions,
  partArguments,
  resultStorage,
  supportFunctions,
  typeDeclarations,
  wasmLoader,
  workspaceFunction,
  workspaceVariable,
  type ModuleParts,
  type Part,
  type SplitFunction,
} from "./declarations.js";

export type { Chunk, Dtype, EmitOptions } from "./types.js";
export { kernelCosts, wasmKernels, type WasmKernels } from "./wasm-layout.js";

/** Names the generated functions use themselves. */
const internal = [
  ...kernelLocals,
  ...Object.keys(moduleFunctions),
  "nonFinite",
  "batchChunk",
  "sampleChunk",
  "first",
  "grads",
  "sums",
  "batchSums",
  "GradsStorage",
  "kernels",
  "wasmKernels",
  "compileKernels",
  "weights",
  "rows",
  "chunkWeights",
  "tailBatch",
  "wasmBytes",
  "wasmMemory",
  "kernelMemory",
  "wasmApi",
  "init",
  "params",
  "inputs",
  "batch",
  "n",
  "out",
  "workspace",
  "scale",
  "createResult",
  "createWorkspace",
  "loss",
  "gradients",
  "batchGradients",
  "shapes",
  "integers",
  ...validatorNames,
];

/** Lecture numbering: u_1..u_n are the non-leaf, non-constant nodes in creation order. */
function localNames(g: Graph, table: NameTable): Map<number, string> {
  const local = new Map<number, string>();
  let k = 0;
  for (const n of g.nodes) {
    if (n.op === "const") continue;
    if (opInfo(n.op).kind === "leaf") {
      local.set(n.id, table.fresh(n.name!));
      continue;
    }
    k++;
    local.set(n.id, table.fresh(n.id === g.loss && n.hint === "loss" ? "loss_value" : (n.hint ?? `u${k}`)));
  }
  return local;
}

/**
 * Graph -> one self-contained TypeScript module (no imports): types, shapes, loss(),
 * gradients(), batchGradients(). Bodies come from function.ts through the syntax printer,
 * declarations from declarations.ts (printed by declare.ts), the header from templates/, and
 * prettier formats the result.
 */
export async function emitTypeScript(g: Graph, opts: EmitOptions): Promise<string> {
  const arr = opts.dtype === "f32" ? "Float32Array" : "Float64Array";
  // argument checks, once per call (--unchecked leaves them out)
  const checks = opts.unchecked ? undefined : validators(g, arr, memberText, opts.debug !== undefined);
  const parts: ModuleParts = { g, opts, arr, checks, ...(await emitBodies(g, opts, checks)) };
  return printModule(
    [
      ...typeDeclarations(parts),
      ...resultStorage(parts),
      ...workspaceFunction(parts),
      ...(parts.wasm ? wasmLoader(parts.wasm) : []),
      ...workspaceVariable(parts),
      ...supportFunctions(parts),
      ...exportedFunctions(parts),
    ],
    opts,
  );
}

/**
 * Modules longer than this many lines are printed as the printer writes them (indented, one
 * statement per line) instead of through prettier, which would take longer than the whole
 * compile (a 5,000-layer chain is 450,000 lines: 26 s of formatting).
 */
const FORMAT_LIMIT = 8_000;

/** The declarations printed, formatted by prettier (up to FORMAT_LIMIT lines), under the header. */
async function printModule(declarations: Declaration[], opts: EmitOptions): Promise<string> {
  const code = printDeclarations(declarations);
  const format = opts.format !== false && lineCount(code) <= FORMAT_LIMIT;
  const body = format ? await formatted(declarations, code) : code;
  return withHeader(body, { source: opts.source, hash: opts.hash, options: moduleOptions(opts) });
}

const PRETTIER = { parser: "babel-ts", printWidth: 120 } as const;

/**
 * The module as prettier formats it, with less of prettier's time: the printer already writes
 * statements as prettier does, except that it never breaks a long line. So prettier formats the
 * module's skeleton (each function body a placeholder), and a body goes in as printed when every
 * line of it fits in the print width (trailing comments do not count: prettier never breaks
 * them), else as prettier formats that body alone. The result is the whole module formatted
 * (test/format.test.ts); a 3,000-term sum formats in a fifth of the time.
 */
async function formatted(declarations: readonly Declaration[], code: string): Promise<string> {
  const bodies: string[] = [];
  const skeleton = declarations.map((d) =>
    d.kind === "function" && d.statements.length
      ? { ...d, statements: [`/*@body ${bodies.push(d.statements.join("\n")) - 1}*/`] }
      : d,
  );
  // a module every line of which fits (once its long `if`s are broken) is already as prettier
  // writes it: prettier is not even loaded
  const printed = code.split("\n").flatMap(breakIf);
  if (printed.every(fits)) return printed.join("\n");
  // prettier is loaded only when it formats (a module too long to format skips its 0.1 s load)
  const prettier = await import("prettier");
  const outline = await prettier.format(printDeclarations(skeleton), PRETTIER);
  const done = await Promise.all(
    bodies.map(async (text) => {
      const lines = text.split("\n").flatMap((l) => breakIf(`  ${l}`));
      if (lines.every(fits)) return lines.join("\n");
      const alone = await prettier.format(`function body() {\n${lines.join("\n")}\n}\n`, PRETTIER);
      return alone.slice(alone.indexOf("\n") + 1, alone.lastIndexOf("\n}"));
    }),
  );
  return outline.replace(/^ {2}\/\*@body (\d+)\*\/$/gm, (_, k: string) => done[Number(k)]);
}

/**
 * A line `if (cond) statement;` too long for the print width, broken as prettier breaks it: the
 * statement on a line of its own, one level in, and a call's single argument on a line of its
 * own when the statement still does not fit. Anything else is left (prettier formats its body).
 */
function breakIf(line: string): string[] {
  if (fits(line)) return [line];
  const m = /^( *)if \(/.exec(line);
  if (!m) return [line];
  const indent = m[1];
  // the condition's closing parenthesis (conditions hold no parentheses inside strings)
  let depth = 0;
  let end = -1;
  for (let i = m[0].length - 1; i < line.length; i++) {
    if (line[i] === "(") depth++;
    else if (line[i] === ")" && --depth === 0) {
      end = i;
      break;
    }
  }
  if (end < 0 || line[end + 1] !== " ") return [line];
  const head = line.slice(0, end + 1);
  const statement = `${indent}  ${line.slice(end + 2)}`;
  if (!fits(head)) return [line];
  if (fits(statement)) return [head, statement];
  const call = /^( *)(throw new \w+|[\w$.]+)\((.*)\);$/.exec(statement);
  if (!call || /^[^`"]*,/.test(call[3])) return [line];
  const arg = `${indent}    ${call[3]},`;
  return fits(arg) ? [head, `${call[1]}${call[2]}(`, arg, `${call[1]});`] : [line];
}

/** a line prettier leaves as it is: its code (before a trailing // comment) fits in the print width */
function fits(line: string): boolean {
  if (line.length <= PRETTIER.printWidth) return true;
  const comment = line.indexOf(" // ");
  return (
    comment >= 0 &&
    comment <= PRETTIER.printWidth &&
    !line.slice(0, comment).includes("`") &&
    !/["']/.test(line.slice(0, comment))
  );
}

function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/**
 * The bodies of loss(), gradients(), batchGradients() and the chunk function, printed, with the
 * workspace they use and (--target wasm) the kernels' memory layout.
 */
async function emitBodies(
  g: Graph,
  opts: EmitOptions,
  checks: Pick<ReturnType<typeof validators>, "leaf" | "scalars"> | undefined,
): Promise<Pick<ModuleParts, "bodies" | "workspace" | "wasm" | "split">> {
  const table = new NameTable(internal);
  const names = { local: localNames(g, table) };
  const bodies = {} as Record<Part, string[]>;
  const entries: [string, number][] = [];
  const shared = {
    fresh: (h: string) => table.fresh(h),
    ...(opts.debug ? { debug: opts.debug.locate } : {}),
    ...(opts.units ? { units: true } : {}),
    ...(opts.chunk ? { chunkSize: opts.chunk.size } : {}),
    ...(opts.chunk?.weight !== undefined
      ? { weighted: { input: opts.chunk.weight, paddedTailFrom: opts.chunk.paddedTailFrom ?? opts.chunk.size } }
      : {}),
  };
  const split: Partial<Record<Part, SplitFunction>> = {};
  // `as`: the one-sample chunk is a chunk function under its own name
  const emit = (ctx: FunctionContext, as: Part = ctx.mode) => {
    const body = emitBody(ctx);
    for (const nid of body.workspace) entries.push([ctx.names.local.get(nid)!, size(ctx.graph.nodes[nid].shape)]);
    if (body.chunkSums) entries.push(["batchSums", body.chunkSums]);
    const text = printStmts(body.stmts).join("\n");
    bodies[as] = [text];
    // a body too long for V8 to optimize runs as parts (split.ts); the per-sample loop stays whole
    const fn = functionNames[as];
    const spill = table.fresh(`${fn}_spill`);
    const s = ctx.mode === "batch" ? undefined : splitBody(body.stmts, body.head, spill, text.length);
    if (s) {
      const names = s.parts.map((_, k) => table.fresh(`${fn}_part${k + 1}`));
      split[as] = {
        names,
        parts: s.parts.map((p) => printStmts(p).join("\n")),
        reads: s.parts.map((p) => namesIn(p)),
        spill,
        spills: s.spills,
      };
      const call = (name: string) => `${name}(${partArguments(as, opts)});`;
      bodies[as] = [[...names.map(call), ...printStmts(s.main)].join("\n")];
    } else delete split[as];
    return body;
  };
  for (const mode of ["loss", "gradients", "batch"] as const)
    emit({
      graph: g,
      names,
      mode,
      ...shared,
      ...(checks ? { checkLeaf: checks.leaf, checkScalars: checks.scalars } : {}),
    });
  const wasm = opts.chunk ? await emitChunks({ g, names, opts, table, shared }, emit) : undefined;
  const workspace = [...new Map(entries)].sort((a, b) => a[0].localeCompare(b[0]));
  return { bodies, workspace, wasm, split };
}

/**
 * The chunk function (and, --target wasm, the one-sample chunk's), laid out in the kernels'
 * memory; then batchGradients again, which stages params for the kernels.
 */
async function emitChunks(
  m: {
    readonly g: Graph;
    readonly names: FunctionContext["names"];
    readonly opts: EmitOptions;
    readonly table: NameTable;
    readonly shared: Omit<FunctionContext, "graph" | "names" | "mode">;
  },
  emit: (ctx: FunctionContext, as?: Part) => unknown,
): Promise<WasmLayout | undefined> {
  const { g, names, opts, table, shared } = m;
  const cg = opts.chunk!.graph;
  const chunkNames = { local: localNames(cg, table) };
  const sample = opts.target === "wasm" && opts.sample ? opts.sample.graph : undefined;
  const sampleNames = sample && { local: localNames(sample, table) };
  const placed =
    opts.target === "wasm"
      ? wasmLayout(
          cg,
          chunkNames.local,
          opts.dtype,
          opts.source,
          sample && sampleNames ? { graph: sample, local: sampleNames.local } : undefined,
        )
      : undefined;
  emit({ graph: cg, names: chunkNames, mode: "chunk", ...shared, ...(placed ? { wasm: placed.plan } : {}) });
  // one sample, unweighted: gradients() and the samples past the last whole chunk
  const { fresh, debug, units } = shared;
  const own = { fresh, ...(debug ? { debug } : {}), ...(units ? { units } : {}) };
  if (placed?.sample && sample && sampleNames)
    emit({ graph: sample, names: sampleNames, mode: "chunk", ...own, chunkSize: 1, wasm: placed.sample }, "sample");
  // the module, with the loop kernels the two chunk functions collected
  const wasm: WasmLayout | undefined = placed && {
    plan: placed.plan,
    ...(placed.sample ? { sample: placed.sample } : {}),
    views: placed.views,
    pages: placed.pages,
    base64: await placed.assemble(),
  };
  // the batch function stages params for the kernels (the one-sample chunk's too): rebuild it with the layout
  if (wasm)
    emit({
      graph: g,
      names,
      mode: "batch",
      ...shared,
      wasm: wasm.sample
        ? { ...wasm.plan, staging: new Map([...wasm.sample.staging, ...wasm.plan.staging]) }
        : wasm.plan,
      ...(wasm.sample ? { sampleChunk: true } : {}),
    });
  return wasm;
}

/** the exported (or chunk) function of each body */
const functionNames: Record<Part, string> = {
  loss: "loss",
  gradients: "gradients",
  batch: "batchGradients",
  chunk: "batchChunk",
  sample: "sampleChunk",
};
