// npm run example:iris: trains with SGD and with Adam, shows progress, prints accuracies and
// writes the loss curves to docs/iris-loss.svg.
import { SingleBar, Presets } from "cli-progress";
import { writeAtomic } from "../../src/util/files.js";
import { lineChart } from "../../src/plot/svg.js";
import { adam, sgd, train, type Run } from "./train.js";

const epochs = 60;
const runs: [string, Run][] = [];
for (const [name, optimizer] of [
  ["SGD (lr 0.05, momentum 0.9)", sgd(0.05)],
  ["Adam (lr 0.01)", adam(0.01)],
] as const) {
  const bar = new SingleBar(
    {
      format: `${name.padEnd(28)} {bar} {value}/{total} epochs | loss {loss}`,
      stream: process.stderr,
      noTTYOutput: !process.stderr.isTTY,
    },
    Presets.shades_classic,
  );
  bar.start(epochs, 0, { loss: "-" });
  const run = train({
    optimizer,
    epochs,
    batch: 16,
    seed: 42,
    onEpoch: (e, l) => bar.update(e, { loss: l.toFixed(4) }),
  });
  bar.stop();
  console.log(
    `${name}: training accuracy ${(100 * run.trainAccuracy).toFixed(1)}%, held-out accuracy ${(100 * run.testAccuracy).toFixed(1)}%, final loss ${run.losses[run.losses.length - 1].toFixed(4)}`,
  );
  runs.push([name, run]);
}
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
