// npm run example:iris [-- --weight-decay λ] [-- --clip c]: trains with SGD and with Adam, shows
// progress, prints accuracies and writes the loss curves to docs/iris-loss.svg; then trains an
// exploding setup (SGD at learning rate 1.5) plain, with gradient clipping and with weight decay,
// and draws each run's largest gradient norm per epoch to docs/iris-clip.svg (lecture 4.4).
import { parseArgs } from "node:util";
import { SingleBar, Presets } from "cli-progress";
import { writeAtomic } from "../../src/util/files.js";
import { lineChart } from "../../src/plot/svg.js";
import { adam, sgd, train, type Optimizer, type Run } from "./train.js";

/** --weight-decay and --clip: a positive number each, or absent */
function options(): { weightDecay?: number; clip?: number } {
  let values: { "weight-decay"?: string; clip?: string };
  try {
    ({ values } = parseArgs({ options: { "weight-decay": { type: "string" }, clip: { type: "string" } } }));
  } catch (e) {
    // an unknown flag, a flag without its value, or a value that looks like a flag (--clip -1)
    console.error(`example:iris: ${(e as Error).message} (usage: --weight-decay <λ> --clip <c>, both positive)`);
    process.exit(2);
  }
  const positive = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!(Number.isFinite(x) && x > 0)) {
      console.error(`example:iris: --${flag} takes a positive number; got '${v}'`);
      process.exit(2);
    }
    return x;
  };
  const weightDecay = positive("weight-decay", values["weight-decay"]);
  const clip = positive("clip", values.clip);
  return { ...(weightDecay ? { weightDecay } : {}), ...(clip ? { clip } : {}) };
}

const epochs = 60;
const given = options();

/** one training run with a progress bar on stderr and its accuracies on stdout */
function run(
  name: string,
  optimizer: Optimizer,
  extra: Parameters<typeof train>[0] extends infer T ? Partial<T> : never,
): Run {
  const bar = new SingleBar(
    {
      format: `${name.padEnd(40)} {bar} {value}/{total} epochs | loss {loss}`,
      stream: process.stderr,
      noTTYOutput: !process.stderr.isTTY,
    },
    Presets.shades_classic,
  );
  bar.start(epochs, 0, { loss: "-" });
  const r = train({
    optimizer,
    epochs,
    batch: 16,
    seed: 42,
    ...extra,
    onEpoch: (e, l) => bar.update(e, { loss: l.toFixed(4) }),
  });
  bar.stop();
  console.log(
    `${name}: training accuracy ${(100 * r.trainAccuracy).toFixed(1)}%, held-out accuracy ${(100 * r.testAccuracy).toFixed(1)}%, final loss ${r.losses[r.losses.length - 1].toFixed(4)}, largest gradient norm ${Math.max(...r.gradNorms).toPrecision(3)}`,
  );
  return r;
}

const suffix = [given.weightDecay ? `weight decay ${given.weightDecay}` : "", given.clip ? `clip ${given.clip}` : ""]
  .filter(Boolean)
  .join(", ");
const runs: [string, Run][] = [
  ["SGD (lr 0.05, momentum 0.9)", sgd(0.05)],
  ["Adam (lr 0.01)", adam(0.01)],
].map(([name, optimizer]) => {
  const label = suffix ? `${name as string}, ${suffix}` : (name as string);
  return [label, run(label, optimizer as Optimizer, given)];
});
writeAtomic(
  "docs/iris-loss.svg",
  lineChart({
    title: "Iris 4-16-3, training loss per epoch (seed 42)",
    xLabel: "epoch",
    yLabel: "mean softmax cross-entropy (log scale)",
    logY: true,
    series: runs.map(([name, r]) => ({ name, points: r.losses.map((l, i) => [i + 1, l] as [number, number]) })),
  }),
);
console.log("wrote docs/iris-loss.svg");

// an exploding setup: at learning rate 1.5 with momentum, a step overshoots and the gradients grow
const clip = given.clip ?? 1;
const decay = given.weightDecay ?? 0.001;
const exploding: [string, Run][] = [
  ["plain", {}],
  [`clip ${clip}`, { clip }],
  [`weight decay ${decay}`, { weightDecay: decay }],
].map(([name, extra]) => [name as string, run(`SGD lr 1.5, ${name as string}`, sgd(1.5), extra as object)]);
writeAtomic(
  "docs/iris-clip.svg",
  lineChart({
    title: "Iris 4-16-3, SGD at learning rate 1.5: largest gradient norm per epoch (seed 42)",
    xLabel: "epoch",
    yLabel: "largest minibatch ‖∇‖ before clipping (log)",
    logY: true,
    series: exploding.map(([name, r]) => ({ name, points: r.gradNorms.map((g, i) => [i + 1, g] as [number, number]) })),
  }),
);
console.log("wrote docs/iris-clip.svg");
