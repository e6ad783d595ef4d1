import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { explain, graph } from "../src/index.js";
import { derivations } from "../scripts/derivations.js";

/** docs/ holds worked derivations and graphs (npm run docs): they are what gradc prints today */
describe("the derivations in docs/ are current", () => {
  for (const d of derivations) {
    it(`docs/${d.name}-derivation.md and its graph, from ${d.source}`, async () => {
      const text = readFileSync(d.source, "utf8");
      const at = d.at ? { at: d.at } : {};
      const md = explain(text, { filename: d.source, ...at, picture: `${d.name}-graph.svg` }).text;
      expect(md).toBe(readFileSync(`docs/${d.name}-derivation.md`, "utf8"));
      expect(await graph(text, { filename: d.source, ...at })).toBe(readFileSync(`docs/${d.name}-graph.svg`, "utf8"));
    }, 60_000);
  }
});
