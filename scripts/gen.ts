// Regenerates the precompiled rule formulas, TypeScript's identifier tables, templates/ as a
// module, the error function's coefficients and generated/ from
// examples/: `npm run gen`. Tests fail when any is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { writeAtomic } from "../src/util/files.js";
import { examples, generatedPath } from "./examples.js";
import { GENERATED_RULES, precompiled } from "./rules.js";
import { GENERATED_IDENTIFIERS, identifierTables } from "./identifiers.js";
import { GENERATED_TEMPLATES, templatesModule } from "./templates.js";
import { GENERATED_ERF, erfModule } from "./erf.js";

// first the formulas the compiler reads (it cannot load with a stale table)
writeFileSync(GENERATED_RULES, await precompiled());
console.log(`src/ops -> ${GENERATED_RULES}`);
writeFileSync(GENERATED_IDENTIFIERS, identifierTables());
console.log(`typescript -> ${GENERATED_IDENTIFIERS}`);
writeFileSync(GENERATED_TEMPLATES, templatesModule());
console.log(`templates/ -> ${GENERATED_TEMPLATES}`);
writeFileSync(GENERATED_ERF, await erfModule());
console.log(`scripts/erf.ts -> ${GENERATED_ERF}`);
const { compile } = await import("../src/index.js");
for (const ex of examples()) {
  const r = await compile(readFileSync(ex.source, "utf8"), { filename: ex.source });
  writeAtomic(generatedPath(ex.name), r.typescript);
  console.log(`${ex.source} -> ${generatedPath(ex.name)}`);
}
