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

describe("the README's table of output sizes", () => {
  const lines = (path: string) => readFileSync(path, "utf8").trimEnd().split("\n").length;
  it("lists every example with its source's and its module's line counts", () => {
    const readme = readFileSync("README.md", "utf8");
    for (const ex of examples())
      expect(readme, `README row for ${ex.source}`).toContain(
        `| \`${ex.source}\` | ${lines(ex.source)} | ${lines(generatedPath(ex.name))} |`,
      );
  });
});

describe("the precompiled rule formulas", () => {
  it("src/rules/formulas.generated.ts is the rule table's formulas, parsed (npm run gen regenerates it)", async () => {
    const { GENERATED_RULES, precompiled } = await import("../scripts/rules.js");
    expect(readFileSync(GENERATED_RULES, "utf8")).toBe(await precompiled());
  });
});

describe("the templates", () => {
  it("src/emit/templates.generated.ts holds templates/ (npm run gen regenerates it)", async () => {
    const { GENERATED_TEMPLATES, templatesModule } = await import("../scripts/templates.js");
    expect(readFileSync(GENERATED_TEMPLATES, "utf8")).toBe(templatesModule());
  });
});

describe("TypeScript's identifier tables", () => {
  it("src/emit/ts/identifiers.generated.ts is the installed TypeScript's (npm run gen regenerates it)", async () => {
    const { GENERATED_IDENTIFIERS, identifierTables } = await import("../scripts/identifiers.js");
    expect(readFileSync(GENERATED_IDENTIFIERS, "utf8")).toBe(identifierTables());
  });
});
