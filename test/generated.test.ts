import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compile } from "../src/index.js";
import { examples, generatedPath } from "../scripts/examples.js";

describe("generated/ is up to date with examples/ (run `npm run gen` after a change)", () => {
  for (const ex of examples()) {
    it(generatedPath(ex.name), async () => {
      const r = await compile(readFileSync(ex.source, "utf8"), { filename: ex.source });
      expect(existsSync(generatedPath(ex.name)), `${generatedPath(ex.name)} is missing: run npm run gen`).toBe(true);
      const committed = readFileSync(generatedPath(ex.name), "utf8");
      expect(committed === r.typescript, `${generatedPath(ex.name)} is stale: run npm run gen`).toBe(true);
    }, 30_000);
  }
});
