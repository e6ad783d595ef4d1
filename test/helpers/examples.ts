import { readFileSync } from "node:fs";
import { examples, generatedPath } from "../../scripts/examples.js";

/**
 * The examples whose pinned module is under 8,000 lines: every construct of the language but the
 * three big networks (the RNN, LeNet, the ResNet block), for tests that compile each program many
 * times (mutants, every padded-tail size); the big ones go through the gradient and corpus tests.
 */
export function smallExamples(): { name: string; source: string }[] {
  return examples()
    .filter((e) => readFileSync(generatedPath(e.name), "utf8").split("\n").length < 8_000)
    .map((e) => ({ name: e.name, source: readFileSync(e.source, "utf8") }));
}
