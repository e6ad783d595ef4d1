import { basename } from "node:path";
import type { Command } from "commander";
import type { Flow, Init } from "../../flow/flow.js";
import { UserError } from "../../diagnostics/usage.js";
import { checkOutputs, FileError } from "../paths.js";
import type { Session } from "../session.js";

interface FlowFlags {
  init: string;
  seed: string;
  out?: string;
}

type Series = { name: string; points: [number, number][] };

/** one run of `gradc flow` over its files */
interface FlowRun {
  readonly init: Init;
  readonly seed: number;
  readonly opts: FlowFlags;
  /** several files: one series each, in one plot */
  readonly several: boolean;
  readonly series: Series[];
  readonly s: Session;
}

export function registerFlow(program: Command, s: Session): void {
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
    .action((files: string[], opts: FlowFlags) => flowOf(files, opts, s));
}

async function flowOf(files: readonly string[], opts: FlowFlags, s: Session): Promise<void> {
  const { parseInit } = await import("../../flow/flow.js");
  const init = parseInit(opts.init);
  const seed = Number(opts.seed);
  if (!init) return s.fail(new UserError("E531", { value: opts.init }), 2);
  if (!Number.isInteger(seed)) return s.fail(new UserError("E532", { value: opts.seed }), 2);
  const run: FlowRun = { init, seed, opts, several: files.length > 1, series: [], s };
  for (const file of files) await s.guarded(file, (text, name) => flowOfOne(text, name, file, run));
  if (opts.out && run.series.length) await plot(files, run);
}

/** one model's table and verdict on stdout, and its series for the plot */
async function flowOfOne(text: string, name: string, file: string, run: FlowRun): Promise<void> {
  const { init, seed, several, opts, s, series } = run;
  const { analyze } = await import("../../pipeline.js");
  const { activationNotes, flowTable, gradientFlow, layerRecurrence } = await import("../../flow/flow.js");
  const a = analyze(text, { filename: name });
  const f = gradientFlow(a, init, seed);
  if (f.rows.length === 0) return s.fail(new UserError("E533", { file: name, example: "h{k}, w{k}, ..." }));
  s.io.stdout(`${name} (init ${opts.init}, seed ${seed}, loss ${f.loss.toPrecision(6)})\n${flowTable(f)}`);
  const hidden = f.columns.find((c) => c.startsWith("|"));
  const family = hidden ? hidden.slice("|∂f/∂".length, -1) : "";
  s.io.stdout(await verdict(f, activationNotes(a), layerRecurrence(a, family)));
  const shown = several ? f.columns.filter((c) => c.startsWith("|")).slice(0, 1) : f.columns;
  for (const c of shown)
    series.push({
      name: several ? `${basename(file, ".grad")} ${c}` : c,
      points: f.rows.flatMap((r) => (r.values[c] !== undefined ? [[r.layer, r.values[c]] as [number, number]] : [])),
    });
}

/** what the numbers say: a layer where the gradient is exactly 0, or the decay per layer */
async function verdict(
  f: Flow,
  activations: readonly { op: string; bound: string }[],
  recurrence: { form: "plain" | "skip"; activation: string } | undefined,
): Promise<string> {
  const { decayPerLayer } = await import("../../flow/flow.js");
  const d = decayPerLayer(f);
  const hidden = f.columns.find((c) => c.startsWith("|"));
  const dead = hidden ? f.rows.filter((r) => r.values[hidden] === 0).map((r) => r.layer) : [];
  if (dead.length) {
    const why = activations.some((x) => x.op === "relu")
      ? "a unit there is off (relu with z <= 0), so its derivative 0 cuts the chain"
      : "a derivative 0 there cuts the chain";
    return `${hidden} is exactly 0 at layer ${dead[dead.length - 1]} and below: ${why}\n\n`;
  }
  if (!d) return "";
  const trend = d.factor < 0.95 ? "shrinks" : d.factor > 1.05 ? "grows" : "stays about level";
  // the chain rule as this model's layers give it, with its activation's bound (lecture 4.4); a
  // layer of another form (a batch norm, a matrix) is its Jacobian
  const h = d.column.slice("|∂f/∂".length, -1);
  const bound = activations.find((x) => x.op === recurrence?.activation)?.bound;
  const local = !recurrence
    ? `∂${h}_k/∂${h}_(k-1), the layer's Jacobian`
    : recurrence.form === "plain"
      ? `${recurrence.activation}'(z_k) w_k${bound ? `; ${bound}` : ""}`
      : `(1 + ${recurrence.activation}'(z_k) w_k): the skip connection's 1 carries it past the activation`;
  return `${d.column} ${trend} by a factor of ${d.factor.toPrecision(3)} per layer on the way back (∂f/∂${h}_(k-1) = ∂f/∂${h}_k · ${local})\n\n`;
}

/** one plot from all the inputs (it must be none of them) */
async function plot(files: readonly string[], { opts, seed, series, s }: FlowRun): Promise<void> {
  const { lineChart } = await import("../../plot/svg.js");
  const out = opts.out!;
  try {
    checkOutputs(files.map((f, k) => ({ input: f, outputs: k === 0 ? [out] : [] })));
    const svg = lineChart({
      title: `Gradient magnitude per layer (init ${opts.init}, seed ${seed})`,
      xLabel: "layer k",
      yLabel: "magnitude (log scale)",
      logY: true,
      series,
    });
    s.output(out, svg, files.join(", "));
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    s.fail(e);
  }
}
