import type { Graph, Leaf } from "../../ir/graph.js";
import { showShape, size } from "../../shape/shape.js";

/** A module-level function, as ts-morph takes it. */
export interface HelperFunction {
  readonly name: string;
  readonly docs: readonly string[];
  readonly parameters: readonly { readonly name: string; readonly type: string }[];
  readonly returnType: string;
  readonly statements: readonly string[];
}

/** Names the validators take in the module (so no generated local uses them). */
export const validatorNames = [
  "describeValue",
  "badTensor",
  "badNumber",
  "badScalars",
  "numberError",
  "badObject",
  "checkFinite",
  "checkLossArgs",
  "checkGradientsArgs",
  "checkBatchArgs",
];

/**
 * Argument checks for the exported functions, once per call: every param and input present,
 * of its type (the module's Float64Array or Float32Array; Int32Array for integer data; a number
 * for a scalar) and length, n a whole number of samples within the batch, `out` a Result of this
 * module. A failure throws a TypeError or RangeError that names the argument, what it must be and
 * what it is. With `debug`, every param and input element must also be finite.
 */
export function validators(
  g: Graph,
  arr: string,
  access: (obj: string, name: string) => string,
  debug: boolean,
): {
  functions: HelperFunction[];
  calls: { loss: string[]; gradients: string[]; batch: string[] };
  leaf: (role: "params" | "inputs", l: Leaf, local: string) => string;
  scalars: (role: "params" | "inputs", locals: readonly string[]) => string;
} {
  const w = new CheckWriter(g, arr, access, debug);
  const functions = [...messageHelpers(), ...scalarHelpers(), ...(debug ? [checkFinite] : []), ...w.entryFunctions()];
  // a program of scalars only: each one is checked on its local, and a missing params or inputs
  // object fails at its first read with JavaScript's TypeError naming the field; the call would
  // be a tenth of the lecture example's whole gradient
  const scalarsOnly = [...g.params, ...g.inputs].every((l) => l.shape.length === 0);
  const calls = {
    loss: scalarsOnly ? [] : ["checkLossArgs(params, inputs);"],
    gradients: scalarsOnly ? [] : ["checkGradientsArgs(params, inputs, out);"],
    batch: ["checkBatchArgs(params, batch, n, out);"],
  };
  const leaf = (role: "params" | "inputs", l: Leaf, local: string) => w.scalarLeaf(role, l, local);
  const scalars = [...g.params, ...g.inputs].some((l) => l.shape.length === 0);
  return {
    // the scalars' checks: one per scalar under --debug (each names its argument), else one per group
    functions: calledOnly(
      functions,
      calls,
      debug
        ? [...g.params.map((l) => leaf("params", l, "v")), ...g.inputs.map((l) => leaf("inputs", l, "v"))]
        : scalars
          ? ["badScalars(v)", "numberError(v)"]
          : [],
    ),
    calls,
    leaf,
    scalars: scalarsCheck,
  };
}

const q = (s: string) => JSON.stringify(s);
/** text inside a template literal: backslash, backtick and $ escaped (user names may hold any of them) */
const tpl = (s: string) => s.replace(/[\\`$]/g, "\\$&");
const listed = (ls: readonly Leaf[]) => {
  const names = ls.map((l) => l.name);
  return names.length <= 6 ? names.join(", ") : `${names.slice(0, 5).join(", ")}, … (${names.length - 5} more)`;
};

/**
 * prettier's print width less the function body's indent: the checks of many scalars are cut
 * into statements that fit it, as their reads are (code/syntax.ts printGroup)
 */
const CHECK_WIDTH = 118;

/**
 * Scalar params (or inputs) read as a group, checked in as few statements as fit a line, inline
 * (a typeof on each local: no call, no second load). Each throws what badScalars finds, the first
 * wrong scalar, the one a check per scalar would have named; the throw is at the call site, so
 * past the checks V8 knows every local is a number (a call that might return would merge an
 * unchecked path back in: measured 7 % on chain-relu's gradients).
 */
function scalarsCheck(role: "params" | "inputs", locals: readonly string[]): string {
  const statement = (tests: readonly string[]) => `if (${tests.join(" || ")}) throw badScalars(${role}, ${q(role)});`;
  const out: string[][] = [];
  for (const v of locals) {
    const t = `typeof ${v} !== "number"`;
    const last = out[out.length - 1];
    if (last && statement([...last, t]).length <= CHECK_WIDTH) last.push(t);
    else out.push([t]);
  }
  return out.map(statement).join("\n");
}

/** only the helpers the checks call (strict configs reject an unused function) */
function calledOnly(
  functions: readonly HelperFunction[],
  calls: { loss: string[]; gradients: string[]; batch: string[] },
  inline: readonly string[],
): HelperFunction[] {
  const all = [...calls.loss, ...calls.gradients, ...calls.batch];
  const text = [
    ...functions.filter((f) => all.some((c) => c.startsWith(`${f.name}(`))).flatMap((f) => f.statements),
    ...inline,
  ].join("\n");
  const called = new Set(all.map((c) => c.slice(0, c.indexOf("("))));
  const kept = new Set(
    functions
      .filter((f) => called.has(f.name) || (!f.name.endsWith("Args") && new RegExp(`\\b${f.name}\\(`).test(text)))
      .map((f) => f.name),
  );
  kept.add("describeValue");
  return functions.filter((f) => kept.has(f.name));
}

/** The check statements of one module: its array type, how it reads a member, whether --debug checks finiteness. */
class CheckWriter {
  constructor(
    private readonly g: Graph,
    private readonly arr: string,
    private readonly access: (obj: string, name: string) => string,
    private readonly debug: boolean,
  ) {}

  /**
   * the test is inline (loads and typeof/instanceof: nothing is allocated, not even a boxed
   * number); the function that builds the message runs only when it fails
   */
  private leafCheck(name: string, l: Leaf, v: string): string {
    const what = q(name);
    if (l.shape.length === 0) return `if (typeof ${v} !== "number") badNumber(${what}, ${v});`;
    const type = l.int ? "Int32Array" : this.arr;
    return `if (!(${v} instanceof ${type}) || ${v}.length !== ${size(l.shape)}) badTensor(${what}, ${v}, ${size(l.shape)}, ${q(showShape(l.shape))}, ${type});`;
  }

  private finite(name: string, v: string): string {
    return this.debug ? `\ncheckFinite(${q(name)}, ${v});` : "";
  }

  private object(name: string, v: string, holding: string): string {
    return `if (typeof ${v} !== "object" || ${v} === null) badObject(${q(name)}, ${v}, ${q(holding)});`;
  }

  /** a scalar param or input, checked on the local the body reads it into */
  scalarLeaf(role: "params" | "inputs", l: Leaf, local: string): string {
    return l.shape.length === 0
      ? this.leafCheck(`${role}.${l.name}`, l, local) + this.finite(`${role}.${l.name}`, local)
      : "";
  }

  /**
   * params or inputs as an object, and its tensors: in one function per exported function
   * (inline in a large body they slow V8's code for it); a scalar is checked inline, on the local
   * the body reads it into (a second load of each of 100 scalar params costs more than the test)
   */
  private leaves(role: "params" | "inputs", ls: readonly Leaf[]): string[] {
    const tensors = ls
      .filter((l) => l.shape.length > 0)
      .map((l) => {
        const v = this.access(role, l.name);
        return this.leafCheck(`${role}.${l.name}`, l, v) + this.finite(`${role}.${l.name}`, v);
      });
    return [this.object(role, role, listed(ls) || "nothing"), ...tensors];
  }

  /** n a whole number of samples; each input of the batch array-like and long enough for n samples */
  private batch(): string[] {
    const perInput = this.g.inputs.flatMap((l) => {
      const v = this.access("batch", l.name);
      const per = size(l.shape);
      const name = tpl(`batch.${l.name}`);
      return [
        `if (typeof (${v} as unknown) !== "object" || ${v} === null || typeof ${v}.length !== "number") throw new TypeError(\`gradc: ${name} must hold n samples of ${per} number${per === 1 ? "" : "s"}, one after another; got \${describeValue(${v})}\`);`,
        per === 1
          ? `if (${v}.length < n) throw new RangeError(\`gradc: ${name} holds \${${v}.length} samples, fewer than n = \${n}\`);`
          : `if (${v}.length < n * ${per}) throw new RangeError(\`gradc: ${name} holds \${Math.floor(${v}.length / ${per})} samples (\${${v}.length} numbers), fewer than n = \${n}\`);`,
      ];
    });
    return [
      "if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`gradc: batchGradients: n must be a whole number of samples, at least 1; got ${n}`);",
      this.object("batch", "batch", listed(this.g.inputs) || "nothing"),
      ...perInput,
    ];
  }

  /** out: a Result of this module, its tensors of the right type and length */
  private result(): string[] {
    return [
      this.object("out", "out", "loss and grads (make it with createResult())"),
      this.object("out.grads", "out.grads", "one entry per param (make out with createResult())"),
      ...this.g.params
        .filter((l) => l.shape.length > 0)
        .map((l) => this.leafCheck(`out.grads.${l.name}`, l, this.access("out.grads", l.name))),
    ];
  }

  /** checkLossArgs, checkGradientsArgs, checkBatchArgs */
  entryFunctions(): HelperFunction[] {
    const entry = (
      name: string,
      doc: string,
      parameters: { name: string; type: string }[],
      statements: string[],
    ): HelperFunction => ({ name, docs: [doc], parameters, returnType: "void", statements });
    const P = { name: "params", type: "Params" };
    const out = { name: "out", type: "Result" };
    const params = this.leaves("params", this.g.params);
    const inputs = this.leaves("inputs", this.g.inputs);
    return [
      entry(
        "checkLossArgs",
        "loss(): params and inputs, and their tensors.",
        [P, { name: "inputs", type: "Inputs" }],
        [...params, ...inputs],
      ),
      entry(
        "checkGradientsArgs",
        "gradients(): params, inputs and out, and their tensors.",
        [P, { name: "inputs", type: "Inputs" }, out],
        [...params, ...inputs, ...this.result()],
      ),
      entry(
        "checkBatchArgs",
        "batchGradients(): params, the batch, n and out.",
        [P, { name: "batch", type: "Batch" }, { name: "n", type: "number" }, out],
        [...params, ...this.batch(), ...this.result()],
      ),
    ];
  }
}

/** the helpers that build the message of a failed check; the checks themselves are inline */
function messageHelpers(): HelperFunction[] {
  return [
    {
      name: "describeValue",
      docs: ["What a wrong argument is, for the message."],
      parameters: [{ name: "v", type: "unknown" }],
      returnType: "string",
      statements: [
        "if (v === null || v === undefined) return String(v);",
        "if (ArrayBuffer.isView(v)) {",
        "  const type = v.constructor.name;",
        '  return `${/^[AEIOU]/.test(type) ? "an" : "a"} ${type} of ${(v as unknown as ArrayLike<number>).length}`;',
        "}",
        "if (Array.isArray(v)) return `an Array of ${v.length}`;",
        "return `a ${typeof v}`;",
      ],
    },
    {
      name: "badObject",
      docs: ["params, inputs, batch or out is not an object."],
      parameters: [
        { name: "name", type: "string" },
        { name: "v", type: "unknown" },
        { name: "holding", type: "string" },
      ],
      returnType: "never",
      statements: [
        "throw new TypeError(`gradc: ${name} must be an object holding ${holding}; got ${describeValue(v)}`);",
      ],
    },
    {
      name: "badTensor",
      docs: ["A tensor argument of the wrong array type or length."],
      parameters: [
        { name: "name", type: "string" },
        { name: "v", type: "unknown" },
        { name: "length", type: "number" },
        { name: "shape", type: "string" },
        { name: "type", type: "Function" },
      ],
      returnType: "never",
      statements: [
        'if (!(v instanceof type)) throw new TypeError(`gradc: ${name} must be ${/^[AEIOU]/.test(type.name) ? "an" : "a"} ${type.name} of ${length} numbers (${shape}, row-major); got ${describeValue(v)}`);',
        "throw new RangeError(`gradc: ${name} has ${(v as ArrayLike<number>).length} numbers; its shape ${shape} needs ${length}`);",
      ],
    },
    {
      name: "badNumber",
      docs: ["A scalar argument that is not a number."],
      parameters: [
        { name: "name", type: "string" },
        { name: "v", type: "unknown" },
      ],
      returnType: "never",
      statements: ["throw numberError(name, v);"],
    },
  ];
}

/** the error of a group of scalars (their check is inline, one typeof per local) */
function scalarHelpers(): HelperFunction[] {
  return [
    {
      name: "badScalars",
      docs: [
        "The error for the first scalar param or input that is not a number (the inline check of them all failed).",
      ],
      parameters: [
        { name: "v", type: "object" },
        { name: "role", type: '"params" | "inputs"' },
      ],
      returnType: "TypeError",
      statements: [
        "const values = v as Record<string, unknown>;",
        "const scalars = (Object.entries(shapes[role]) as [string, readonly number[]][]).filter(([, s]) => s.length === 0);",
        'const [name] = scalars.find(([n]) => typeof values[n] !== "number")!;',
        "return numberError(`${role}.${name}`, values[name]);",
      ],
    },
    {
      name: "numberError",
      docs: ["What a scalar argument that is not a number is told."],
      parameters: [
        { name: "name", type: "string" },
        { name: "v", type: "unknown" },
      ],
      returnType: "TypeError",
      statements: ["return new TypeError(`gradc: ${name} must be a number; got ${describeValue(v)}`);"],
    },
  ];
}

/** --debug: every param and input element must be finite */
const checkFinite: HelperFunction = {
  name: "checkFinite",
  docs: ["--debug: a NaN or an infinity in a param or input, named before anything is computed from it."],
  parameters: [
    { name: "name", type: "string" },
    { name: "v", type: "number | ArrayLike<number>" },
  ],
  returnType: "void",
  statements: [
    'if (typeof v === "number") {',
    "  if (!Number.isFinite(v)) throw new Error(`gradc --debug: ${name} = ${v} is not finite`);",
    "  return;",
    "}",
    "for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) throw new Error(`gradc --debug: ${name}[${i}] = ${v[i]} is not finite`);",
  ],
};
