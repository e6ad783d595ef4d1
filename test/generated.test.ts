import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compile } from "../src/index.js";
import { examples, generatedPath } from "../scripts/examples.js";

/**
 * generated/ is pinned the way the README tells users to pin theirs: toMatchFileSnapshot.
 * A stale file fails here; `npm run gen` (or `npm run test:update`) regenerates it, and the
 * change is reviewed as a diff.
 */
describe("generated/ matches a fresh compile of examples/", () => {
  for (const ex of examples()) {
    it(
      generatedPath(ex.name),
      async () => {
        const r = await compile(readFileSync(ex.source, "utf8"), { filename: ex.source });
        await expect(r.typescript).toMatchFileSnapshot(`../${generatedPath(ex.name)}`);
      },
      30_000,
    );
  }
});
