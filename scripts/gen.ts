// Regenerates generated/ from examples/: `npm run gen`. A test fails when generated/ is stale.
import { readFileSync } from "node:fs";
import { writeAtomic } from "../src/util/files.js";
import { examples, generatedPath } from "./examples.js";
import { compile } from "../src/index.js";

for (const ex of examples()) {
  const r = await compile(readFileSync(ex.source, "utf8"), { filename: ex.source });
  writeAtomic(generatedPath(ex.name), r.typescript);
  console.log(`${ex.source} -> ${generatedPath(ex.name)}`);
}
