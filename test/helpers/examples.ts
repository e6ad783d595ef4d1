import { readFileSync } from "node:fs";
import { examples } from "../../scripts/examples.js";

/**
 * The networks that take seconds to compile (the RNN and LSTM unrolled over time, the
 * convolutional ones, the batched transformer): they go through the gradient and corpus tests,
 * not through tests that compile each program many times (mutants, every padded-tail size).
 */
const BIG = new Set(["rnn", "lstm", "lenet", "lenet-batch", "resnet-block", "transformer-batch"]);

/** The other examples: every construct of the language, small enough to compile many times. */
export function smallExamples(): { name: string; source: string }[] {
  return examples()
    .filter((e) => !BIG.has(e.name))
    .map((e) => ({ name: e.name, source: readFileSync(e.source, "utf8") }));
}
