/**
 * The generated module's declarations (src/emit/ts/declare.ts), in the order they are printed:
 * types, result storage, the workspace, the WebAssembly loader, helper functions, and the
 * exported functions around the bodies that src/emit/ts/function.ts emits.
 */
import type { Declaration, FunctionDecl, Interface, TypeAlias, Variable } from "./declare.js";
import type { Graph, Leaf } from "../../ir/graph.js";
import { integerBounds } from "../../ir/integers.js";
import { showShape, size } from "../../shape/shape.js";
import type { Mode } from "./function.js";
import { moduleFunctions, usedModuleFunctions } from "./helpers.js";
import { safeComment } from "../../code/syntax.js";
import type { EmitOptions } from "./types.js";
import type { validators } from "./validate.js";
import type { WasmLayout } from "./wasm-layout.js";

/** What the declarations are built from: the graph, the options, and the emitted bodies. */
export interface ModuleParts {
  readonly g: Graph;
  readonly opts: EmitOptions;
  /** the module's array type: Float64Array or Float32Array */
  readonly arr: string;
  readonly checks: ReturnType<typeof validators> | undefined;
  /** each function's body, printed (sample: the one-sample chunk function, EmitOptions.sample) */
  readonly bodies: Record<Part, string[]>;
  /** the bodies too long for V8 to optimize, run as parts (split.ts) */
  readonly split: Partial<Record<Part, SplitFunction>>;
  /** workspace entries: name and length, sorted by name */
  readonly workspace: readonly (readonly [string, number])[];
  readonly wasm: WasmLayout | undefined;
}

/** a printed function: one of the modes, or the one-sample chunk (a chunk function of its own) */
export type Part = Mode | "sample";

const propName = (name: string) =>
  /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) && name !== "__proto__" ? name : JSON.stringify(name);
/** a key in an object literal: computed, so even "__proto__" defines an own property */
const literalKey = (name: string) => (name === "__proto__" ? `[${JSON.stringify(name)}]` : propName(name));

/** an object literal of `key: value` entries, as prettier prints it ({} when empty) */
const objectText = (entries: readonly string[]) => (entries.length ? `{ ${entries.join(", ")} }` : "{}");

/** declarations, with their kinds filled in */
const typeAlias = (x: Omit<TypeAlias, "kind">): Declaration => ({ ...x, kind: "type" });
const variable = (x: Omit<Variable, "kind">): Declaration => ({ ...x, kind: "var" });
const fn = (x: Omit<FunctionDecl, "kind">): Declaration => ({ ...x, kind: "function" });

const leafType = (l: Leaf) => (l.shape.length === 0 ? "number" : l.int ? "Int32Array" : "Tensor");

/** one property per leaf; a tensor's doc gives its shape (a scalar's type, number, says all) */
function props(ls: readonly Leaf[], type: (l: Leaf) => string): Interface["properties"] {
  return ls.map((l) => ({
    name: propName(l.name),
    type: type(l),
    docs: l.shape.length === 0 ? [] : [`${showShape(l.shape)}, row-major`],
  }));
}

function iface(name: string, doc: string, properties: Interface["properties"]): Interface {
  return { kind: "interface", name, isExported: true, docs: [doc], properties };
}

/** Tensor, shapes, integers, and the Params, Inputs, Batch, Grads and Result interfaces. */
export function typeDeclarations({ g, arr }: ModuleParts): Declaration[] {
  const out: Declaration[] = [];
  const sf = {
    addTypeAlias: (x: Omit<TypeAlias, "kind">) => out.push(typeAlias(x)),
    addVariableStatement: (x: Omit<Variable, "kind">) => out.push(variable(x)),
    addInterface: (x: Interface) => out.push(x),
  };
  sf.addTypeAlias({ name: "Tensor", isExported: true, type: arr, docs: ["Tensors are flat row-major arrays."] });
  sf.addVariableStatement({
    isExported: true,
    declarationKind: "const",
    docs: ["The shape of every param and input ([] for a scalar)."],
    declarations: [
      {
        name: "shapes",
        initializer: `{ params: ${objectText(g.params.map((l) => `${literalKey(l.name)}: [${l.shape.join(", ")}]`))}, inputs: ${objectText(g.inputs.map((l) => `${literalKey(l.name)}: [${l.shape.join(", ")}]`))} } as const`,
      },
    ],
  });
  if (g.inputs.some((l) => l.int)) {
    const bounds = integerBounds(g);
    sf.addVariableStatement({
      isExported: true,
      declarationKind: "const",
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
  // the same fields and types as Params: an alias, not a second list of every param
  sf.addTypeAlias({
    name: "Grads",
    isExported: true,
    type: "Params",
    docs: ["d loss / d param: one entry per param, shaped like the param (so typed as Params)."],
  });
  sf.addInterface(
    iface("Result", "The loss and its gradients.", [
      { name: "loss", type: "number" },
      { name: "grads", type: "Grads" },
    ]),
  );
  return out;
}

/** The class that holds one result's gradients, and createResult(). */
export function resultStorage({ g, arr }: ModuleParts): Declaration[] {
  const statements: Declaration[] = [];
  // Gradients live in a class instance: V8 then keeps every field inside the object, so storing a
  // scalar gradient allocates nothing (fields of big object literals, or a number field after
  // array fields, box each double stored; measured in test/alloc.test.ts). Scalars come first.
  const ordered = [...g.params.filter((l) => l.shape.length === 0), ...g.params.filter((l) => l.shape.length > 0)];
  statements.push({
    kind: "class",
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
  statements.push(
    fn({
      name: "createResult",
      isExported: true,
      returnType: "Result",
      docs: ["A zeroed result to pass as `out`, so that gradients() and batchGradients() allocate nothing."],
      statements: ["return { loss: 0, grads: new GradsStorage() };"],
    }),
  );
  return statements;
}

/** createWorkspace(): the intermediate tensors, allocated once per module (workspaceVariable says when). */
export function workspaceFunction({ g, opts, arr, workspace, wasm }: ModuleParts): Declaration[] {
  const out: Declaration[] = [];
  const sf = { addFunction: (x: Omit<FunctionDecl, "kind">) => out.push(fn(x)) };
  const view = (name: string, n: number) => {
    const off = wasm?.views.get(name);
    return off === undefined ? `new ${arr}(${n})` : `new ${arr}(kernelMemory().buffer, ${off}, ${n})`;
  };
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
            ? [...new Set([...wasm.plan.staging.values(), ...(wasm.sample?.staging.values() ?? [])])]
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
                  `tailBatch: { ${g.inputs.map((l) => `${literalKey(l.name)}: ${tailStaged.find(([name]) => name === l.name)?.[1].key ?? `new ${l.int ? "Int32Array" : arr}(${opts.chunk!.size * size(l.shape)})`}`).join(", ")} }`,
                ]
              : [],
          )
          .join(", ")} };`,
      ],
    });
  return out;
}

/** WebAssembly through globalThis, so the module type-checks without DOM or Node types */
const wasmApiInterface: Declaration = {
  kind: "interface",
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
};

/** --target wasm: the WebAssembly API's types, the memory, the kernels' bytes, init() and their compilation. */
export function wasmLoader(wasm: WasmLayout): Declaration[] {
  const statements: Declaration[] = [];
  const sf = {
    addTypeAlias: (x: Omit<TypeAlias, "kind">) => statements.push(typeAlias(x)),
    addVariableStatement: (x: Omit<Variable, "kind">) => statements.push(variable(x)),
    addFunction: (x: Omit<FunctionDecl, "kind">) => statements.push(fn(x)),
  };
  statements.push(wasmApiInterface);
  sf.addTypeAlias({ name: "Kernels", type: "Record<string, (...args: number[]) => void>" });
  sf.addVariableStatement({
    declarationKind: "const",
    declarations: [
      { name: "wasmApi", initializer: "(globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly" },
      {
        name: "wasmBytes",
        initializer: `Uint8Array.from((globalThis as unknown as { atob(s: string): string }).atob("${wasm.base64}"), (c) => c.charCodeAt(0))`,
      },
    ],
  });
  sf.addVariableStatement({
    declarationKind: "let",
    declarations: [
      { name: "wasmMemory", type: "{ buffer: ArrayBuffer } | undefined" },
      { name: "kernelExports", type: "Kernels | undefined" },
    ],
  });
  sf.addFunction({
    name: "kernelMemory",
    returnType: "{ buffer: ArrayBuffer }",
    docs: [`The kernels' memory (${wasm.pages} pages of 64 KiB), allocated on first use rather than at import.`],
    statements: [`return (wasmMemory ??= new wasmApi.Memory({ initial: ${wasm.pages} }));`],
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
      "kernelExports ??= (await wasmApi.instantiate(wasmBytes, { gradc: { memory: kernelMemory() } })).instance.exports;",
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
      "  return (kernelExports = new wasmApi.Instance(new wasmApi.Module(wasmBytes), { gradc: { memory: kernelMemory() } }).exports);",
      "} catch (e) {",
      "  throw new Error(`gradc: the WebAssembly kernels could not be compiled synchronously (${String(e)}); in a browser, call await init() once before batchGradients`);",
      "}",
    ],
  });
  return statements;
}

/**
 * A workspace of at most this many bytes is allocated when the module is imported; a larger one
 * by the first call that needs it, so that importing a large model costs nothing until it runs.
 * Not all lazily: V8 treats the arrays of a `const` workspace as constants in the loops that
 * read them (their data pointers need no register), and a lazily allocated one measured 10 %
 * slower on the x @ W MLP's gradients().
 */
export const LAZY_WORKSPACE_BYTES = 64 * 2 ** 20;

/** the workspace's size in bytes (with the kernels' memory, which it is a view of, under wasm) */
function workspaceBytes({ workspace, arr, wasm }: ModuleParts): number {
  const own = workspace.reduce((sum, [, n]) => sum + n, 0) * (arr === "Float32Array" ? 4 : 8);
  return wasm ? Math.max(own, wasm.pages * 2 ** 16) : own;
}

/** whether the workspace is allocated by the first call rather than at import */
const lazyWorkspace = (parts: ModuleParts) => workspaceBytes(parts) > LAZY_WORKSPACE_BYTES;

/** `const workspace = createWorkspace()`, or (a large one) `let workspace`, allocated on first use */
export function workspaceVariable(parts: ModuleParts): Declaration[] {
  if (!parts.workspace.length) return [];
  if (!lazyWorkspace(parts))
    return [
      variable({ declarationKind: "const", declarations: [{ name: "workspace", initializer: "createWorkspace()" }] }),
    ];
  return [
    typeAlias({ name: "Workspace", type: "ReturnType<typeof createWorkspace>" }),
    variable({
      declarationKind: "let",
      docs: [`${(workspaceBytes(parts) / 2 ** 20).toFixed(0)} MiB, allocated by the first call that needs it.`],
      declarations: [{ name: "workspace", type: "Workspace", definite: true }],
    }),
  ];
}

/** the statement that allocates a lazy workspace on the first call of a function that reads it */
const USE_WORKSPACE = "workspace ??= createWorkspace();";

/** a body (with its parts) that reads the workspace, starting with the statement that allocates it */
function allocating(parts: ModuleParts, body: string[], more: readonly string[] = []): string[] {
  const reads = (text: string) => /\bworkspace\b/.test(text);
  if (!parts.workspace.length || !lazyWorkspace(parts) || ![...body, ...more].some(reads)) return body;
  return [`${USE_WORKSPACE}\n${body[0]}`, ...body.slice(1)];
}

/** The helpers the bodies call: special functions (erf), --debug's nonFinite, the argument checks. */
export function supportFunctions({ g, opts, checks }: ModuleParts): Declaration[] {
  const out: Declaration[] = [];
  const sf = { addFunction: (x: Omit<FunctionDecl, "kind">) => out.push(fn(x)) };
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
  return out;
}

/** A body run as parts: their names and printed bodies, and the module array of their spill slots. */
export interface SplitFunction {
  readonly names: readonly string[];
  readonly parts: readonly string[];
  /** the names each part reads (its unread parameters are named _x, as strict configs expect) */
  readonly reads: readonly ReadonlySet<string>[];
  readonly spill: string;
  readonly spills: number;
}

/** a function's parameters (a part of it takes the same ones) */
function parametersOf(mode: Part, opts: EmitOptions): { name: string; type: string }[] {
  if (mode === "loss")
    return [
      { name: "params", type: "Params" },
      { name: "inputs", type: "Inputs" },
    ];
  if (mode === "gradients")
    return [
      { name: "params", type: "Params" },
      { name: "inputs", type: "Inputs" },
      { name: "out", type: "Result" },
    ];
  return [
    { name: "params", type: "Params" },
    { name: "batch", type: "Batch" },
    { name: "first", type: "number" },
    { name: "out", type: "Result" },
    ...(mode !== "sample" && opts.chunk?.weight !== undefined
      ? [
          { name: "weights", type: "Tensor" },
          { name: "rows", type: "number" },
        ]
      : []),
  ];
}

/** the arguments a function passes on to its parts: its own parameters */
export function partArguments(mode: Part, opts: EmitOptions): string {
  return parametersOf(mode, opts)
    .map((p) => p.name)
    .join(", ");
}

/** a split body's parts, before the function that calls them, and their spill slots */
function partDeclarations(mode: Part, s: SplitFunction | undefined, opts: EmitOptions): Declaration[] {
  if (!s) return [];
  return [
    variable({
      declarationKind: "const",
      declarations: [{ name: s.spill, initializer: `new Float64Array(${Math.max(1, s.spills)})` }],
      docs: ["Values one part of a split function computes and a later part reads."],
    }),
    ...s.parts.map((text, k) =>
      fn({
        name: s.names[k],
        docs: [`Part ${k + 1} of ${s.parts.length}: a function short enough for V8 to optimize.`],
        parameters: parametersOf(mode, opts).map((p) => ({
          name: s.reads[k].has(p.name) ? p.name : `_${p.name}`,
          type: p.type,
        })),
        returnType: "void",
        statements: [text],
      }),
    ),
  ];
}

/** an argument the body never reads is named _x, as strict configs (noUnusedParameters) expect */
const arg = (name: string, body: string) => (new RegExp(`\\b${name}\\b`).test(body) ? name : `_${name}`);

/** a body with the argument checks in front */
const checked = (calls: readonly string[] | undefined, body: string[]) =>
  calls?.length ? [`${calls.join("\n")}\n${body[0]}`, ...body.slice(1)] : body;

/**
 * --target wasm, when one padded chunk beats the per-sample code even for one sample, or the
 * chunk is one sample (its products already matrices), and every input is a tensor (so one
 * sample's inputs are a batch of one): gradients() is that chunk
 */
const viaChunk = ({ g, opts, wasm }: ModuleParts) =>
  opts.target === "wasm" &&
  (opts.chunk?.paddedTailFrom === 1 || opts.chunk?.size === 1 || wasm?.sample !== undefined) &&
  g.inputs.every((l) => l.shape.length > 0);

/** loss(), gradients(), the chunk function and batchGradients(), around their bodies (and their parts). */
export function exportedFunctions(parts: ModuleParts): Declaration[] {
  const { opts, split } = parts;
  // gradients() that runs the chunk has no parts of its own
  const modes = viaChunk(parts)
    ? (["loss", "chunk", "sample"] as const)
    : (["loss", "gradients", "chunk", "sample"] as const);
  return [
    ...modes.flatMap((m) => partDeclarations(m, split[m], opts)),
    ...perSampleFunctions(parts),
    ...batchFunctions(parts),
  ];
}

/** loss() and gradients() */
function perSampleFunctions(parts: ModuleParts): Declaration[] {
  const { checks, bodies, split } = parts;
  // the parts a function calls read the workspace it allocates
  const partsOf = (m: Part) => split[m]?.parts ?? [];
  const lossBody = checked(checks?.calls.loss, allocating(parts, bodies.loss, partsOf("loss")));
  const chunk = viaChunk(parts);
  const gradientsBody = checked(
    checks?.calls.gradients,
    chunk
      ? ["return batchGradients(params, inputs, 1, out);"]
      : allocating(parts, bodies.gradients, partsOf("gradients")),
  );
  return [
    fn({
      name: "loss",
      isExported: true,
      parameters: [
        { name: arg("params", lossBody[0]), type: "Params" },
        { name: arg("inputs", lossBody[0]), type: "Inputs" },
      ],
      returnType: "number",
      docs: ["The loss at one sample."],
      statements: lossBody,
    }),
    fn({
      name: "gradients",
      isExported: true,
      parameters: [
        { name: arg("params", gradientsBody[0]), type: "Params" },
        { name: arg("inputs", gradientsBody[0]), type: "Inputs" },
        { name: "out", type: "Result", initializer: "createResult()" },
      ],
      returnType: "Result",
      docs: [
        `The loss and d loss / d param at one sample, written into \`out\` (allocation-free when \`out\` is given)${chunk ? "; computed as a batch of one, by the WebAssembly kernels" : ""}.`,
      ],
      statements: gradientsBody,
    }),
  ];
}

/** the chunk function (if any) and batchGradients() */
function batchFunctions(parts: ModuleParts): Declaration[] {
  const { opts, checks, bodies, split } = parts;
  const partsOf = (m: Part) => split[m]?.parts ?? [];
  // the chunk and the parts it calls read the workspace batchGradients allocates
  const batchBody = checked(
    checks?.calls.batch,
    allocating(parts, bodies.batch, [
      ...partsOf("batch"),
      ...(bodies.chunk ?? []),
      ...partsOf("chunk"),
      ...(bodies.sample ?? []),
      ...partsOf("sample"),
    ]),
  );
  const out: Declaration[] = [];
  if (opts.chunk)
    out.push(
      fn({
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
      }),
    );
  if (bodies.sample)
    out.push(
      fn({
        name: "sampleChunk",
        docs: [
          "Sample `first` alone, its vector products as one-row matrix products: adds its loss and gradients to `out`.",
        ],
        parameters: [
          { name: arg("params", bodies.sample[0]), type: "Params" },
          { name: "batch", type: "Batch" },
          { name: "first", type: "number" },
          { name: arg("out", bodies.sample[0]), type: "Result" },
        ],
        returnType: "void",
        statements: bodies.sample,
      }),
    );
  out.push(
    fn({
      name: "batchGradients",
      isExported: true,
      parameters: [
        { name: arg("params", batchBody[0]), type: "Params" },
        { name: arg("batch", batchBody[0]), type: "Batch" },
        { name: "n", type: "number" },
        { name: "out", type: "Result", initializer: "createResult()" },
      ],
      returnType: "Result",
      docs: ["The mean loss and mean gradients over n samples (minibatch SGD), written into `out`."],
      statements: batchBody,
    }),
  );
  return out;
}
