import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { compile, CompileError, renderDiagnostics } from "../index.js";
import { displayName, writeAtomic } from "./files.js";

export interface Io {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

const version = (): string => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8").toString()) as { version: string };
  return pkg.version;
};

function choice<T extends string>(values: readonly T[]) {
  return (v: string): T => {
    if (!values.includes(v as T)) throw new InvalidArgumentError(`expected one of ${values.join(", ")}`);
    return v as T;
  };
}

/** Run the CLI; resolves to the exit code (0 ok, 1 compile errors, 2 usage). */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  let code = 0;
  const program = new Command()
    .name("gradc")
    .description("Compile .grad network definitions into static, dependency-free gradient code.")
    .version(findVersion(), "-v, --version")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command("compile")
    .description("compile .grad files to TypeScript modules (or an IR dump)")
    .argument("<files...>", ".grad source files")
    .option("-o, --out <file>", "output file (one input only); without it the output goes to stdout")
    .option("--out-dir <dir>", "write <name>.ts for each input into this folder")
    .option("--emit <kind>", "what to emit: ts (the module) or ir (a text dump of the optimized IR)", choice(["ts", "ir"] as const), "ts")
    .option("--dtype <dtype>", "element type of tensors: f64 or f32", choice(["f64", "f32"] as const), "f64")
    .option("--debug", "check every value for NaN/Inf at run time and throw naming the node and its source line")
    .addHelpText(
      "after",
      "\nExamples:\n  gradc compile examples/lecture.grad\n  gradc compile model.grad -o src/model.grad.ts\n  gradc compile a.grad b.grad --out-dir generated\n  gradc compile model.grad --emit ir",
    )
    .action(async (files: string[], opts: { out?: string; outDir?: string; emit: "ts" | "ir"; dtype: "f64" | "f32"; debug?: boolean }) => {
      if (opts.out && files.length > 1) {
        io.stderr("gradc: -o takes one input; use --out-dir for several\n");
        code = 2;
        return;
      }
      for (const file of files) {
        let text: string;
        try {
          text = readFileSync(file, "utf8");
        } catch {
          io.stderr(`gradc: cannot read ${file}\n`);
          code = 1;
          continue;
        }
        const name = displayName(file);
        try {
          const r = await compile(text, { filename: name, dtype: opts.dtype, debug: opts.debug ?? false });
          if (r.diagnostics.length) io.stderr(renderDiagnostics(r.diagnostics, text));
          const output = opts.emit === "ir" ? r.irText : r.typescript;
          const target = opts.out ?? (opts.outDir ? join(opts.outDir, basename(file).replace(/\.grad$/, "") + (opts.emit === "ir" ? ".ir.txt" : ".ts")) : undefined);
          if (target) {
            writeAtomic(target, output);
            io.stderr(`gradc: ${name} -> ${displayName(target)}\n`);
          } else io.stdout(output);
        } catch (e) {
          if (!(e instanceof CompileError)) throw e;
          io.stderr(renderDiagnostics(e.diagnostics, text));
          code = 1;
        }
      }
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return 0;
    if (typeof err.exitCode === "number") return err.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return code;
}

function findVersion(): string {
  try {
    return version();
  } catch {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8").toString()) as { version: string };
    return pkg.version;
  }
}
