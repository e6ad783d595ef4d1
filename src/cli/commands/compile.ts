import { basename, join } from "node:path";
import type { Command } from "commander";
import { UserError } from "../../diagnostics/usage.js";
import { checkOutputs, FileError } from "../paths.js";
import type { Session } from "../session.js";
import { choice } from "./options.js";

interface CompileFlags {
  out?: string;
  outDir?: string;
  emit: "ts" | "ir";
  dtype: "f64" | "f32";
  target: "ts" | "wasm";
  debug?: boolean;
  unchecked?: boolean;
  units?: boolean;
  explainFusion?: boolean;
}

export function registerCompile(program: Command, s: Session): void {
  program
    .command("compile")
    .description("compile .grad files to TypeScript modules (or an IR dump)")
    .argument("<files...>", ".grad source files")
    .option("-o, --out <file>", "output file (one input only); without it the output goes to stdout")
    .option("--out-dir <dir>", "write <name>.ts for each input into this folder")
    .option(
      "--emit <kind>",
      "what to emit: ts (the module) or ir (a text dump of the optimized IR)",
      choice(["ts", "ir"] as const),
      "ts",
    )
    .option("--dtype <dtype>", "element type of tensors: f64 or f32", choice(["f64", "f32"] as const), "f64")
    .option(
      "--target <target>",
      "ts, or wasm: batchGradients runs its matrix products as WebAssembly SIMD kernels",
      choice(["ts", "wasm"] as const),
      "ts",
    )
    .option("--debug", "check every value for NaN/Inf at run time and throw naming the node and its source line")
    .option("--units", "one local per elementary unit, u1..un in creation order, as lecture 4.6.1 writes them")
    .option("--unchecked", "leave out the argument checks of the exported functions (types, lengths, n)")
    .option("--explain-fusion", "print (to stderr) which loops were fused and how the matrix products are ordered")
    .addHelpText(
      "after",
      "\nExamples:\n  gradc compile examples/lecture.grad\n  gradc compile model.grad -o src/model.grad.ts\n  gradc compile a.grad b.grad --out-dir generated\n  gradc compile model.grad --emit ir",
    )
    .action((files: string[], opts: CompileFlags) => compileFiles(files, opts, s));
}

async function compileFiles(files: readonly string[], opts: CompileFlags, s: Session): Promise<void> {
  if (opts.out && files.length > 1) return s.fail(new UserError("E530"), 2);
  const targetOf = (file: string) =>
    opts.out ??
    (opts.outDir
      ? join(opts.outDir, basename(file).replace(/\.grad$/, "") + (opts.emit === "ir" ? ".ir.txt" : ".ts"))
      : undefined);
  try {
    checkOutputs(files.map((f) => ({ input: f, outputs: [targetOf(f)].filter((t): t is string => t !== undefined) })));
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    return s.fail(e);
  }
  // loaded on use: `gradc --version` and `--help` need none of the compiler
  // the pipeline alone: compile loads neither mathjs nor Graphviz (they are explain's)
  const { compile, explainFusion } = await import("../../pipeline.js");
  const { renderDiagnostics } = await import("../../diagnostics/render.js");
  for (const file of files) {
    await s.guarded(file, async (text, name) => {
      const r = await compile(text, {
        filename: name,
        dtype: opts.dtype,
        target: opts.target,
        debug: opts.debug ?? false,
        unchecked: opts.unchecked ?? false,
        units: opts.units ?? false,
      });
      if (r.diagnostics.length) s.io.stderr(renderDiagnostics(r.diagnostics, text));
      if (opts.explainFusion) s.io.stderr(`${name}:\n${explainFusion(r)}`);
      s.output(targetOf(file), opts.emit === "ir" ? r.irText : r.typescript, name);
    });
  }
}
