import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import {
  compile,
  CompileError,
  explain,
  ExplainError,
  explainFusion,
  graph,
  PointError,
  renderDiagnostics,
} from "../index.js";
import { displayName } from "../util/files.js";
import { checkOutputs, FileError, readSource, writeOutput } from "./paths.js";
import { analyze } from "../index.js";
import { decayPerLayer, flowTable, gradientFlow, parseInit } from "../flow/flow.js";
import { lineChart } from "../plot/svg.js";
import { ConfigError, loadConfig } from "../build/config.js";
import { build } from "../build/build.js";
import { watchProject } from "../build/watch.js";

export interface Io {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

const version = (): string => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8").toString()) as {
    version: string;
  };
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
    .option("--unchecked", "leave out the argument checks of the exported functions (types, lengths, n)")
    .option("--explain-fusion", "print (to stderr) which loops were fused and how the matrix products are ordered")
    .addHelpText(
      "after",
      "\nExamples:\n  gradc compile examples/lecture.grad\n  gradc compile model.grad -o src/model.grad.ts\n  gradc compile a.grad b.grad --out-dir generated\n  gradc compile model.grad --emit ir",
    )
    .action(
      async (
        files: string[],
        opts: {
          out?: string;
          outDir?: string;
          emit: "ts" | "ir";
          dtype: "f64" | "f32";
          target: "ts" | "wasm";
          debug?: boolean;
          unchecked?: boolean;
          explainFusion?: boolean;
        },
      ) => {
        if (opts.out && files.length > 1) {
          io.stderr("gradc: -o takes one input; use --out-dir for several\n");
          code = 2;
          return;
        }
        const targetOf = (file: string) =>
          opts.out ??
          (opts.outDir
            ? join(opts.outDir, basename(file).replace(/\.grad$/, "") + (opts.emit === "ir" ? ".ir.txt" : ".ts"))
            : undefined);
        try {
          checkOutputs(
            files.map((f) => ({ input: f, outputs: [targetOf(f)].filter((t): t is string => t !== undefined) })),
          );
        } catch (e) {
          if (!(e instanceof FileError)) throw e;
          io.stderr(`gradc: ${e.message}\n`);
          code = 1;
          return;
        }
        for (const file of files) {
          await guarded(file, async (text, name) => {
            const r = await compile(text, {
              filename: name,
              dtype: opts.dtype,
              target: opts.target,
              debug: opts.debug ?? false,
              unchecked: opts.unchecked ?? false,
            });
            if (r.diagnostics.length) io.stderr(renderDiagnostics(r.diagnostics, text));
            if (opts.explainFusion) io.stderr(`${name}:\n${explainFusion(r)}`);
            output(targetOf(file), opts.emit === "ir" ? r.irText : r.typescript, name);
          });
        }
      },
    );

  /** read, run, and turn user errors into messages and exit codes */
  const guarded = async (file: string, job: (text: string, name: string) => Promise<void>) => {
    let text = "";
    try {
      text = readSource(file);
      await job(text, displayName(file));
    } catch (e) {
      if (e instanceof CompileError) io.stderr(renderDiagnostics(e.diagnostics, text));
      else if (e instanceof PointError || e instanceof FileError || e instanceof ExplainError)
        io.stderr(`gradc: ${e.message}\n`);
      else throw e;
      code = 1;
    }
  };
  const output = (target: string | undefined, text: string, from: string) => {
    if (!target) return io.stdout(text);
    writeOutput(target, text);
    io.stderr(`gradc: ${from} -> ${displayName(target)}\n`);
  };
  /** -o (and the picture written beside it) must not be the input */
  const refuseInput = (file: string, ...outs: (string | undefined)[]) =>
    checkOutputs([{ input: file, outputs: outs.filter((o): o is string => o !== undefined) }]);

  program
    .command("explain")
    .description("write the worked backpropagation derivation of a model (lecture 4.6) as Markdown or LaTeX")
    .argument("<file>", ".grad source file")
    .option(
      "--at <point>",
      "evaluate every unit and gradient at a point: w=0.5,b=-1,x=2,y=1 (vectors v=[1,2]) or random[:seed]",
    )
    .option("--format <format>", "md or tex (default: from -o's extension, else md)", choice(["md", "tex"] as const))
    .option("-o, --out <file>", "output file; with .md, the graph picture is written beside it as .svg")
    .addHelpText(
      "after",
      "\nExamples:\n  gradc explain examples/lecture.grad --at w=0.5,b=-1,x=2,y=1\n  gradc explain examples/mlp.grad --format tex -o mlp.tex\n  gradc explain examples/lecture.grad -o lecture.md   # also writes lecture.svg",
    )
    .action(async (file: string, opts: { at?: string; format?: "md" | "tex"; out?: string }) => {
      await guarded(file, async (text, name) => {
        const format = opts.format ?? (opts.out?.endsWith(".tex") ? "tex" : "md");
        const svgPath = opts.out && format === "md" ? opts.out.replace(/(\.md)?$/, ".svg") : undefined;
        refuseInput(file, opts.out, svgPath);
        const r = explain(text, {
          filename: name,
          format,
          ...(opts.at !== undefined ? { at: opts.at } : {}),
          ...(svgPath ? { picture: basename(svgPath) } : {}),
        });
        if (svgPath)
          output(
            svgPath,
            await graph(text, { filename: name, format: "svg", ...(opts.at !== undefined ? { at: opts.at } : {}) }),
            name,
          );
        output(opts.out, r.text, name);
      });
    });

  program
    .command("graph")
    .description("draw the computation graph (params, inputs, units u_k) as SVG or Graphviz DOT")
    .argument("<file>", ".grad source file")
    .option("--at <point>", "label every node with its value and gradient at a point (as for explain)")
    .option("--format <format>", "svg or dot (default: from -o's extension, else svg)", choice(["svg", "dot"] as const))
    .option("-o, --out <file>", "output file")
    .addHelpText(
      "after",
      "\nExamples:\n  gradc graph examples/lecture.grad -o lecture.svg\n  gradc graph examples/lecture.grad --at w=0.5,b=-1,x=2,y=1 --format dot",
    )
    .action(async (file: string, opts: { at?: string; format?: "svg" | "dot"; out?: string }) => {
      await guarded(file, async (text, name) => {
        const format = opts.format ?? (opts.out?.endsWith(".dot") ? "dot" : "svg");
        refuseInput(file, opts.out);
        output(
          opts.out,
          await graph(text, { filename: name, format, ...(opts.at !== undefined ? { at: opts.at } : {}) }),
          name,
        );
      });
    });

  program
    .command("build")
    .description(
      'compile every .grad file of the project (settings: gradc.config.json or the "gradc" key of package.json)',
    )
    .option("--check", "write nothing; exit 1 listing every stale or missing output (for CI)")
    .option("--watch", "rebuild a model when it changes; errors are printed and the last good output kept")
    .option("--force", "rebuild even sources whose output is up to date")
    .option("--root <dir>", "the project folder", ".")
    .addHelpText(
      "after",
      '\nSettings (all optional):\n  { "include": ["models/**/*.grad"], "outDir": "src/generated", "dtype": "f64", "explain": ["md"] }\n\nExamples:\n  gradc build\n  gradc build --check\n  gradc build --watch',
    )
    .action(async (opts: { check?: boolean; watch?: boolean; force?: boolean; root: string }) => {
      let config;
      try {
        config = loadConfig(opts.root).config;
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        io.stderr(`gradc: ${e.message}\n`);
        code = 2;
        return;
      }
      if (opts.watch) {
        const w = await watchProject(opts.root, config, io.stdout);
        await w.ready;
        await new Promise<void>((resolve) => {
          const stop = () => void w.stop().then(resolve);
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
        return;
      }
      const r = await build(opts.root, config, { check: opts.check ?? false, force: opts.force ?? false }, io.stdout);
      if (r.failed || r.stale.length) code = 1;
    });

  program
    .command("flow")
    .description(
      "gradient magnitude per layer at a random initialization (vanishing and exploding gradients, lecture 4.4)",
    )
    .argument("<files...>", ".grad source files (several are drawn in one plot)")
    .option("--init <scheme>", "xavier, normal:<std> or uniform:<limit>", "xavier")
    .option("--seed <n>", "random seed (the same seed gives the same numbers)", "1")
    .option("-o, --out <file>", "write an SVG line plot (log scale) of the gradient magnitudes")
    .addHelpText(
      "after",
      "\nExamples:\n  gradc flow examples/chain.grad\n  gradc flow examples/chain.grad examples/chain-tanh.grad examples/chain-relu.grad -o flow.svg --init normal:1 --seed 7",
    )
    .action(async (files: string[], opts: { init: string; seed: string; out?: string }) => {
      const init = parseInit(opts.init);
      const seed = Number(opts.seed);
      if (!init || !Number.isInteger(seed)) {
        io.stderr(
          `gradc: ${init ? `--seed ${opts.seed} is not an integer` : `--init ${opts.init}: use xavier, normal:<std> or uniform:<limit>`}\n`,
        );
        code = 2;
        return;
      }
      const series: { name: string; points: [number, number][] }[] = [];
      for (const file of files) {
        await guarded(file, async (text, name) => {
          const f = gradientFlow(analyze(text, { filename: name }), init, seed);
          if (f.rows.length === 0) {
            io.stderr(
              `gradc: ${name} has no layers to follow: flow reports indexed names from a for loop (h{k}, w{k}, ...); this model has none\n`,
            );
            code = 1;
            return;
          }
          io.stdout(`${name} (init ${opts.init}, seed ${seed}, loss ${f.loss.toPrecision(6)})\n${flowTable(f)}`);
          const d = decayPerLayer(f);
          const hidden = f.columns.find((c) => c.startsWith("|"));
          const dead = hidden ? f.rows.filter((r) => r.values[hidden] === 0).map((r) => r.layer) : [];
          if (dead.length)
            io.stdout(
              `${hidden} is exactly 0 at layer ${dead[dead.length - 1]} and below: a unit there is off (relu with z <= 0), so its derivative 0 cuts the chain\n\n`,
            );
          else if (d) {
            const verdict = d.factor < 0.95 ? "shrinks" : d.factor > 1.05 ? "grows" : "stays about level";
            io.stdout(
              `${d.column} ${verdict} by a factor of ${d.factor.toPrecision(3)} per layer on the way back (∂f/∂h_(k-1) = ∂f/∂h_k · σ'(z_k) w_k; sigmoid' ≤ 1/4)\n\n`,
            );
          }
          const shown = files.length > 1 ? f.columns.filter((c) => c.startsWith("|")).slice(0, 1) : f.columns;
          for (const c of shown)
            series.push({
              name: files.length > 1 ? `${basename(file, ".grad")} ${c}` : c,
              points: f.rows.flatMap((r) =>
                r.values[c] !== undefined ? [[r.layer, r.values[c]] as [number, number]] : [],
              ),
            });
        });
      }
      if (opts.out && series.length) {
        const out = opts.out;
        try {
          // one plot from all the inputs: it must be none of them
          checkOutputs(files.map((f, k) => ({ input: f, outputs: k === 0 ? [out] : [] })));
          output(
            out,
            lineChart({
              title: `Gradient magnitude per layer (init ${opts.init}, seed ${seed})`,
              xLabel: "layer k",
              yLabel: "magnitude (log scale)",
              logY: true,
              series,
            }),
            files.join(", "),
          );
        } catch (e) {
          if (!(e instanceof FileError)) throw e;
          io.stderr(`gradc: ${e.message}\n`);
          code = 1;
        }
      }
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help")
      return 0;
    if (typeof err.exitCode === "number") return err.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return code;
}

function findVersion(): string {
  try {
    return version();
  } catch {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8").toString()) as {
      version: string;
    };
    return pkg.version;
  }
}
