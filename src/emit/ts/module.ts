import {
  Project,
  StructureKind,
  VariableDeclarationKind,
  type FunctionDeclarationStructure,
  type InterfaceDeclarationStructure,
  type OptionalKind,
  type PropertySignatureStructure,
  type StatementStructures,
  type TypeAliasDeclarationStructure,
  type VariableStatementStructure,
} from "ts-morph";
import * as prettier from "prettier";
import type { Graph, Leaf, Node } from "../../ir/graph.js";
import { opInfo } from "../../ir/ops.js";
import { showShape, size } from "../../shape/shape.js";
import { moduleOptions, withHeader } from "./header.js";
import { integerBounds } from "../../ir/integers.js";
import { moduleFunctions, usedModuleFunctions } from "./helpers.js";
import { validatorNames, validators } from "./validate.js";
import { emitBody, plan, type Mode, type WasmPlan } from "./function.js";
import { assemble, kernelModule, scratchBytes, takesRows, type Form, type MatmulKernel } from "../wasm/kernels.js";
import { sampleRowValues, WEIGHT } from "../../batch/vmap.js";
import { kernelLocals } from "./kernels.js";
import { NameTable } from "./names.js";
import { memberText, printStmts, safeComment } from "./syntax.js";

export type Dtype = "f64" | "f32";

/** The program on `size` samples at once (batch/vmap.ts), differentiated and optimized. */
export interface Chunk {
  readonly graph: Graph;
  readonly size: number;
  /** weighted chunks: the input with each sample's weight in the loss */
  readonly weight?: string;
  /** weighted chunks: from how many remaining samples batchGradients pads a last chunk (see batch/cost.ts) */
  readonly paddedTailFrom?: number;
}

export interface EmitOptions {
  /** the source's display name, for the header */
  readonly source: string;
  /** sha256 of the source text */
  readonly hash: string;
  readonly dtype: Dtype;
  /** the program batched over `size` samples (see batch/vmap.ts), differentiated and optimized */
  readonly chunk?: Chunk;
  /** "wasm": the chunk's matrix products run as WebAssembly SIMD kernels (default "ts") */
  readonly target?: "ts" | "wasm";
  /** run prettier over the output (default true; false is for fuzzing, where speed matters) */
  readonly format?: boolean;
  /** check every value for NaN/Inf at run time; `locate` names a node's source position */
  readonly debug?: { readonly locate: (n: Node) => string };
  /** leave out the argument checks of the exported functions (default false: every call checks its arguments) */
  readonly unchecked?: boolean;
}

/** Names the generated functions use themselves. */
const internal = [
  ...kernelLocals,
  ...Object.keys(moduleFunctions),
  "nonFinite",
  "batchChunk",
  "first",
  "grads",
  "sums",
  "chunkSums",
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

const propName = (name: string) =>
  /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) && name !== "__proto__" ? name : JSON.stringify(name);
/** a key in an object literal: computed, so even "__proto__" defines an own property */
const literalKey = (name: string) => (name === "__proto__" ? `[${JSON.stringify(name)}]` : propName(name));

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
 * gradients(), batchGradients(). Structure comes from ts-morph, bodies from the syntax
 * printer, the header from templates/, and prettier formats the result.
 */
export async function emitTypeScript(g: Graph, opts: EmitOptions): Promise<string> {
  const table = new NameTable(internal);
  const local = localNames(g, table);
  const names = { local };
  const arr = opts.dtype === "f32" ? "Float32Array" : "Float64Array";
  const bodies = {} as Record<Mode, string[]>;
  const workspaceEntries: [string, number][] = [];
  const debug = opts.debug ? { debug: opts.debug.locate } : {};
  const chunkSize = opts.chunk ? { chunkSize: opts.chunk.size } : {};
  const weighted =
    opts.chunk?.weight !== undefined
      ? { weighted: { input: opts.chunk.weight, paddedTailFrom: opts.chunk.paddedTailFrom ?? opts.chunk.size } }
      : {};
  // argument checks, once per call (--unchecked leaves them out)
  const checks = opts.unchecked ? undefined : validators(g, arr, memberText, opts.debug !== undefined);
  const checkLeaf = checks ? { checkLeaf: checks.leaf } : {};
  for (const mode of ["loss", "gradients", "batch"] as const) {
    const body = emitBody({
      graph: g,
      names,
      mode,
      fresh: (h) => table.fresh(h),
      ...debug,
      ...chunkSize,
      ...weighted,
      ...checkLeaf,
    });
    bodies[mode] = [printStmts(body.stmts).join("\n")];
    for (const nid of body.workspace) workspaceEntries.push([local.get(nid)!, size(g.nodes[nid].shape)]);
  }
  let wasm: WasmLayout | undefined;
  if (opts.chunk) {
    const cg = opts.chunk.graph;
    const chunkNames = { local: localNames(cg, table) };
    wasm = opts.target === "wasm" ? await wasmLayout(cg, chunkNames.local, opts.dtype) : undefined;
    const body = emitBody({
      graph: cg,
      names: chunkNames,
      mode: "chunk",
      fresh: (h) => table.fresh(h),
      ...debug,
      ...chunkSize,
      ...weighted,
      ...(wasm ? { wasm: wasm.plan } : {}),
    });
    bodies.chunk = [printStmts(body.stmts).join("\n")];
    for (const nid of body.workspace) workspaceEntries.push([chunkNames.local.get(nid)!, size(cg.nodes[nid].shape)]);
    workspaceEntries.push(["chunkSums", body.chunkSums!]);
  }
  if (wasm) {
    // the batch function stages params for the kernels: rebuild it with the layout
    const body = emitBody({
      graph: g,
      names,
      mode: "batch",
      fresh: (h) => table.fresh(h),
      ...debug,
      ...chunkSize,
      ...weighted,
      wasm: wasm.plan,
    });
    bodies.batch = [printStmts(body.stmts).join("\n")];
  }
  const workspace = [...new Map(workspaceEntries)].sort((a, b) => a[0].localeCompare(b[0]));
  const view = (name: string, n: number) => {
    const off = wasm?.views.get(name);
    return off === undefined ? `new ${arr}(${n})` : `new ${arr}(wasmMemory.buffer, ${off}, ${n})`;
  };

  // every statement as a ts-morph structure, printed once (adding them one by one re-parses the file each time)
  const statements: StatementStructures[] = [];
  const sf = {
    addTypeAlias: (x: Omit<TypeAliasDeclarationStructure, "kind">) =>
      statements.push({ ...x, kind: StructureKind.TypeAlias }),
    addVariableStatement: (x: Omit<VariableStatementStructure, "kind">) =>
      statements.push({ ...x, kind: StructureKind.VariableStatement }),
    addInterface: (x: InterfaceDeclarationStructure) => statements.push(x),
    addFunction: (x: Omit<FunctionDeclarationStructure, "kind">) =>
      statements.push({ ...x, kind: StructureKind.Function }),
  };
  const leafType = (l: Leaf) => (l.shape.length === 0 ? "number" : l.int ? "Int32Array" : "Tensor");
  const props = (ls: readonly Leaf[], type: (l: Leaf) => string): OptionalKind<PropertySignatureStructure>[] =>
    ls.map((l) => ({
      name: propName(l.name),
      type: type(l),
      docs: [`${l.shape.length === 0 ? "scalar" : `${showShape(l.shape)}, row-major`}`],
    }));
  const iface = (
    name: string,
    doc: string,
    properties: OptionalKind<PropertySignatureStructure>[],
  ): InterfaceDeclarationStructure => ({
    kind: StructureKind.Interface,
    name,
    isExported: true,
    docs: [doc],
    properties,
  });

  sf.addTypeAlias({ name: "Tensor", isExported: true, type: arr, docs: ["Tensors are flat row-major arrays."] });
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ["The shape of every param and input ([] for a scalar)."],
    declarations: [
      {
        name: "shapes",
        initializer: `{ params: { ${g.params.map((l) => `${literalKey(l.name)}: [${l.shape.join(", ")}]`).join(", ")} }, inputs: { ${g.inputs.map((l) => `${literalKey(l.name)}: [${l.shape.join(", ")}]`).join(", ")} } } as const`,
      },
    ],
  });
  if (g.inputs.some((l) => l.int)) {
    const bounds = integerBounds(g);
    sf.addVariableStatement({
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      docs: [
        "The integer inputs, each with its valid values 0 <= v < bound (the length of the axis it indexes; null when it indexes none). A value outside throws a RangeError.",
      ],
      declarations: [
        {
          name: "integers",
          initializer: `{ ${g.inputs
            .filter((l) => l.int)
            .map((l) => `${literalKey(l.name)}: ${bounds.get(l.name) ?? "null"}`)
            .join(", ")} } as const`,
        },
      ],
    });
  }
  sf.addInterface(iface("Params", "The differentiated parameters.", props(g.params, leafType)));
  sf.addInterface(iface("Inputs", "One sample of data (not differentiated).", props(g.inputs, leafType)));
  sf.addInterface(
    iface(
      "Batch",
      "n samples of each input, sample after sample (row-major [n, ...shape]).",
      props(g.inputs, () => "ArrayLike<number>"),
    ),
  );
  sf.addInterface(
    iface("Grads", "d loss / d param, one entry per param, shaped like the param.", props(g.params, leafType)),
  );
  sf.addInterface(
    iface("Result", "The loss and its gradients.", [
      { name: "loss", type: "number" },
      { name: "grads", type: "Grads" },
    ]),
  );

  // Gradients live in a class instance: V8 then keeps every field inside the object, so storing a
  // scalar gradient allocates nothing (fields of big object literals, or a number field after
  // array fields, box each double stored; measured in test/alloc.test.ts). Scalars come first.
  const ordered = [...g.params.filter((l) => l.shape.length === 0), ...g.params.filter((l) => l.shape.length > 0)];
  statements.push({
    kind: StructureKind.Class,
    name: "GradsStorage",
    implements: ["Grads"],
    docs: ["Storage for one result's gradients."],
    // computed keys where a plain one would mean something else ("constructor", "__proto__")
    properties: ordered.map((l) => ({
      name: l.name === "__proto__" || l.name === "constructor" ? `[${JSON.stringify(l.name)}]` : propName(l.name),
      type: leafType(l),
      initializer: l.shape.length === 0 ? "0" : `new ${arr}(${size(l.shape)})`,
    })),
  });
  sf.addFunction({
    name: "createResult",
    isExported: true,
    returnType: "Result",
    docs: ["A zeroed result to pass as `out`, so that gradients() and batchGradients() allocate nothing."],
    statements: ["return { loss: 0, grads: new GradsStorage() };"],
  });
  const weightedChunk = opts.chunk?.weight !== undefined;
  const tailStaged = weightedChunk && wasm ? [...wasm.plan.staging].filter(([, st]) => st.role === "input") : [];
  if (workspace.length)
    sf.addFunction({
      name: "createWorkspace",
      docs: ["Intermediate tensors, allocated once per module."],
      statements: [
        // an input the kernels read is staged in their memory; a padded last chunk writes it there directly
        ...tailStaged.map(
          ([name, st]) => `const ${st.key} = ${view(st.key, st.size)}; // also the tail batch's ${safeComment(name)}`,
        ),
        `return { ${[
          ...workspace,
          ...(wasm
            ? [...wasm.plan.staging.values()]
                .filter((st) => !tailStaged.some(([, t]) => t === st))
                .map((st) => [st.key, st.size] as [string, number])
            : []),
          ...(wasm && opts.chunk
            ? [...wasm.plan.accumulators.values()].map(
                (a) => [a.key, size(opts.chunk!.graph.nodes[a.node].shape)] as [string, number],
              )
            : []),
        ]
          .map(([name, n]) => `${name}: ${view(name, n)}`)
          .concat(tailStaged.map(([, st]) => st.key))
          .concat(
            weightedChunk
              ? [
                  `chunkWeights: new ${arr}(${opts.chunk!.size})`,
                  `tailBatch: { ${g.inputs.map((l) => `${literalKey(l.name)}: ${tailStaged.find(([name]) => name === l.name)?.[1].key ?? `new ${arr}(${opts.chunk!.size * size(l.shape)})`}`).join(", ")} }`,
                ]
              : [],
          )
          .join(", ")} };`,
      ],
    });
  if (wasm) {
    // WebAssembly through globalThis, so the module type-checks without DOM or Node types
    statements.push({
      kind: StructureKind.Interface,
      name: "WasmApi",
      docs: ["The part of the WebAssembly API this module uses."],
      properties: [
        { name: "Memory", type: "new (descriptor: { initial: number }) => { buffer: ArrayBuffer }" },
        { name: "Module", type: "new (bytes: Uint8Array) => object" },
        { name: "Instance", type: "new (module: object, imports: object) => { exports: Kernels }" },
      ],
      methods: [
        {
          name: "instantiate",
          parameters: [
            { name: "bytes", type: "Uint8Array" },
            { name: "imports", type: "object" },
          ],
          returnType: "Promise<{ instance: { exports: Kernels } }>",
        },
      ],
    });
    sf.addTypeAlias({ name: "Kernels", type: "Record<string, (...args: number[]) => void>" });
    sf.addVariableStatement({
      declarationKind: VariableDeclarationKind.Const,
      declarations: [
        { name: "wasmApi", initializer: "(globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly" },
        { name: "wasmMemory", initializer: `new wasmApi.Memory({ initial: ${wasm.pages} })` },
        {
          name: "wasmBytes",
          initializer: `Uint8Array.from((globalThis as unknown as { atob(s: string): string }).atob("${wasm.base64}"), (c) => c.charCodeAt(0))`,
        },
      ],
    });
    sf.addVariableStatement({
      declarationKind: VariableDeclarationKind.Let,
      declarations: [{ name: "kernelExports", type: "Kernels | undefined" }],
    });
    sf.addFunction({
      name: "init",
      isExported: true,
      isAsync: true,
      returnType: "Promise<void>",
      docs: [
        "Compiles the WebAssembly kernels ahead of time. Browsers, which refuse to compile larger modules synchronously, call this once before batchGradients; Node does not need to.",
      ],
      statements: [
        "kernelExports ??= (await wasmApi.instantiate(wasmBytes, { gradc: { memory: wasmMemory } })).instance.exports;",
      ],
    });
    sf.addFunction({
      name: "wasmKernels",
      returnType: "Kernels",
      docs: ["The kernels, compiled on first use when init() was not called."],
      statements: ["return kernelExports ?? compileKernels();"],
    });
    sf.addFunction({
      name: "compileKernels",
      returnType: "Kernels",
      docs: ["Compiles the kernels synchronously, which browsers refuse for modules this size on the main thread."],
      statements: [
        "try {",
        "  return (kernelExports = new wasmApi.Instance(new wasmApi.Module(wasmBytes), { gradc: { memory: wasmMemory } }).exports);",
        "} catch (e) {",
        "  throw new Error(`gradc: the WebAssembly kernels could not be compiled synchronously (${String(e)}); in a browser, call await init() once before batchGradients`);",
        "}",
      ],
    });
  }
  if (workspace.length)
    sf.addVariableStatement({
      declarationKind: VariableDeclarationKind.Const,
      declarations: [{ name: "workspace", initializer: "createWorkspace()" }],
    });
  // an argument the body never reads is named _x, as strict configs (noUnusedParameters) expect
  const arg = (name: string, body: string) => (new RegExp(`\\b${name}\\b`).test(body) ? name : `_${name}`);
  for (const name of usedModuleFunctions(g)) {
    const f = moduleFunctions[name];
    sf.addFunction({
      name,
      docs: [f.doc],
      parameters: f.params.map((p) => ({ name: p, type: "number" })),
      returnType: "number",
      statements: [...f.body],
    });
  }
  if (opts.debug) {
    sf.addFunction({
      name: "nonFinite",
      docs: ["--debug: a value is NaN or Inf; name it and where it came from (like anomaly detection)."],
      parameters: [
        { name: "name", type: "string" },
        { name: "expr", type: "string" },
        { name: "where", type: "string" },
        { name: "value", type: "number" },
        { name: "index", type: "number" },
      ],
      returnType: "never",
      statements: [
        'throw new Error(`gradc --debug: ${name}${index >= 0 ? `[${index}]` : ""} = ${value} is not finite; it computes ${expr} (${where})`);',
      ],
    });
  }
  for (const f of checks?.functions ?? [])
    sf.addFunction({
      name: f.name,
      docs: [...f.docs],
      parameters: f.parameters.map((p) => ({ ...p })),
      returnType: f.returnType,
      statements: [...f.statements],
    });
  const checked = (calls: readonly string[] | undefined, body: string[]) =>
    calls?.length ? [`${calls.join("\n")}\n${body[0]}`, ...body.slice(1)] : body;
  bodies.loss = checked(checks?.calls.loss, bodies.loss);
  bodies.batch = checked(checks?.calls.batch, bodies.batch);
  sf.addFunction({
    name: "loss",
    isExported: true,
    parameters: [
      { name: arg("params", bodies.loss[0]), type: "Params" },
      { name: arg("inputs", bodies.loss[0]), type: "Inputs" },
    ],
    returnType: "number",
    docs: ["The loss at one sample."],
    statements: bodies.loss,
  });
  // --target wasm, when one padded chunk beats the per-sample code even for one sample (and every
  // input is a tensor, so one sample's inputs are a batch of one): gradients() is that chunk
  const viaChunk = opts.chunk?.paddedTailFrom === 1 && g.inputs.every((l) => l.shape.length > 0);
  const gradientsBody = checked(
    checks?.calls.gradients,
    viaChunk ? ["return batchGradients(params, inputs, 1, out);"] : bodies.gradients,
  );
  sf.addFunction({
    name: "gradients",
    isExported: true,
    parameters: [
      { name: arg("params", gradientsBody[0]), type: "Params" },
      { name: arg("inputs", gradientsBody[0]), type: "Inputs" },
      { name: "out", type: "Result", initializer: "createResult()" },
    ],
    returnType: "Result",
    docs: [
      `The loss and d loss / d param at one sample, written into \`out\` (allocation-free when \`out\` is given)${viaChunk ? "; computed as a batch of one, by the WebAssembly kernels" : ""}.`,
    ],
    statements: gradientsBody,
  });
  if (opts.chunk) {
    sf.addFunction({
      name: "batchChunk",
      docs: [
        `Samples first..first+${opts.chunk.size - 1} at once, as matrix products: adds their summed loss and gradients to \`out\`.`,
      ],
      parameters: [
        { name: arg("params", bodies.chunk[0]), type: "Params" },
        { name: "batch", type: "Batch" },
        { name: "first", type: "number" },
        { name: arg("out", bodies.chunk[0]), type: "Result" },
        ...(opts.chunk.weight !== undefined
          ? [
              { name: arg("weights", bodies.chunk[0]), type: "Tensor" },
              { name: arg("rows", bodies.chunk[0]), type: "number" },
            ]
          : []),
      ],
      returnType: "void",
      statements: bodies.chunk,
    });
  }
  sf.addFunction({
    name: "batchGradients",
    isExported: true,
    parameters: [
      { name: arg("params", bodies.batch[0]), type: "Params" },
      { name: arg("batch", bodies.batch[0]), type: "Batch" },
      { name: "n", type: "number" },
      { name: "out", type: "Result", initializer: "createResult()" },
    ],
    returnType: "Result",
    docs: ["The mean loss and mean gradients over n samples (minibatch SGD), written into `out`."],
    statements: bodies.batch,
  });

  const project = new Project({ useInMemoryFileSystem: true });
  const file = project.createSourceFile("module.ts", { statements }, { overwrite: true });
  const code = file.getFullText();
  const body = opts.format === false ? code : await prettier.format(code, { parser: "babel-ts", printWidth: 120 });
  return withHeader(body, { source: opts.source, hash: opts.hash, options: moduleOptions(opts) });
}

interface WasmLayout {
  readonly plan: WasmPlan;
  /** workspace key -> byte offset, for the entries that live in the kernels' memory */
  readonly views: ReadonlyMap<string, number>;
  readonly pages: number;
  readonly base64: string;
}

/** The chunk's products that run as WebAssembly kernels: node -> export name, their specs, and the accumulated gradients. */
export interface WasmKernels {
  readonly kernels: ReadonlyMap<number, string>;
  readonly specs: readonly MatmulKernel[];
  /** products whose rows of A are the chunk's samples (batch/vmap.ts sampleRowValues) */
  readonly sampleRows: ReadonlySet<number>;
  /** product node -> the param whose whole gradient it is, added straight into a per-call sum */
  readonly accumulated: ReadonlyMap<number, string>;
}

/**
 * --target wasm: the chunk's matrix products whose operands the kernels can read (buffers,
 * params, inputs, and their transposes); undefined when there are none.
 */
export function wasmKernels(g: Graph): WasmKernels | undefined {
  const p = plan(g, "chunk");
  const source = (id: number) => (g.nodes[id].op === "transpose" ? g.nodes[g.nodes[id].args[0]] : g.nodes[id]);
  const usable = (id: number) => {
    const s = source(id);
    return s.op === "param" || s.op === "input" || p.placement.get(s.id) === "buffer";
  };
  const kernels = new Map<number, string>();
  const specs: MatmulKernel[] = [];
  // a product that is a param's whole gradient, read by nothing else, is added straight into a sum
  const users = new Map<number, number>();
  for (const id of p.order) for (const a of g.nodes[id].args) users.set(a, (users.get(a) ?? 0) + 1);
  const gradOf = new Map(
    g.grads.filter((o) => g.grads.filter((x) => x.node === o.node).length === 1).map((o) => [o.node, o.param]),
  );
  const accumulated = new Map<number, string>();
  // where a padding sample's row of A equals the sample it repeats, so does its row of the product
  const rowsOfSamples = sampleRowValues(g, WEIGHT);
  const sampleRows = new Set<number>();
  for (const id of p.order) {
    const n = g.nodes[id];
    if (n.op !== "matmul" || p.placement.get(id) !== "buffer" || !n.args.every(usable)) continue;
    const [ta, tb] = n.args.map((a) => g.nodes[a].op === "transpose");
    const form: Form | undefined = !ta && tb ? "nt" : ta && !tb ? "tn" : !ta && !tb ? "nn" : undefined;
    if (!form) continue;
    const [a, b] = n.args.map((x) => g.nodes[x].shape);
    const name = `k${specs.length}`;
    kernels.set(id, name);
    const param = gradOf.get(id);
    const accumulate = form !== "nt" && param !== undefined && !users.has(id);
    if (accumulate) accumulated.set(id, param);
    const spec: MatmulKernel = { name, form, m: a[0], n: a[1], c: b[1], ...(accumulate ? { accumulate } : {}) };
    if (takesRows(spec) && rowsOfSamples.has(n.args[0])) sampleRows.add(id);
    specs.push(spec);
  }
  return kernels.size ? { kernels, specs, accumulated, sampleRows } : undefined;
}

/**
 * --target wasm: one memory for every buffer of the chunk, a staging copy of each param and
 * input the kernels read, and the kernels' scratch; and the kernels assembled over it.
 */
async function wasmLayout(g: Graph, local: ReadonlyMap<number, string>, dtype: Dtype): Promise<WasmLayout | undefined> {
  const selected = wasmKernels(g);
  if (!selected) return undefined;
  const { kernels, specs, accumulated, sampleRows } = selected;
  const p = plan(g, "chunk");
  const bytes = dtype === "f32" ? 4 : 8;
  const source = (id: number) => (g.nodes[id].op === "transpose" ? g.nodes[g.nodes[id].args[0]] : g.nodes[id]);
  let offset = 0;
  const take = (n: number) => {
    const at = offset;
    offset += Math.ceil((n * bytes) / 16) * 16;
    return at;
  };
  const offsets = new Map<number, number>();
  const views = new Map<string, number>();
  const accumulators = new Map<string, { key: string; node: number; offset: number }>();
  for (const id of p.order) {
    if (p.placement.get(id) !== "buffer") continue;
    const at = take(size(g.nodes[id].shape));
    offsets.set(id, at);
    const param = accumulated.get(id);
    // an accumulated gradient's buffer is the per-call sum, under its own key
    const key =
      param !== undefined ? `chunkGrad_${param.replace(/[^A-Za-z0-9_]/g, "_")}_${accumulators.size}` : local.get(id)!;
    if (param !== undefined) accumulators.set(param, { key, node: id, offset: at });
    views.set(key, at);
  }
  const staging = new Map<string, { key: string; offset: number; role: "param" | "input"; size: number }>();
  for (const id of kernels.keys()) {
    for (const arg of g.nodes[id].args) {
      const s = source(arg);
      if ((s.op !== "param" && s.op !== "input") || staging.has(s.name!)) continue;
      const key = `staged_${s.name!.replace(/[^A-Za-z0-9_]/g, "_")}_${staging.size}`;
      const at = take(size(s.shape));
      staging.set(s.name!, { key, offset: at, role: s.op, size: size(s.shape) });
      views.set(key, at);
    }
  }
  // the kernels' own scratch (row lists), past everything the module reads
  const scratch = offset;
  offset += scratchBytes({ bytes }, specs);
  const pages = Math.ceil(offset / 65536) + 1;
  const wasmBytes = await assemble(kernelModule({ bytes }, specs, pages, scratch));
  return {
    plan: { kernels, sampleRows, offsets, staging, accumulators },
    views,
    pages,
    base64: Buffer.from(wasmBytes).toString("base64"),
  };
}
