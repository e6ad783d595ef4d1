// Renders the documentation pictures: `npm run docs`. Needs pdflatex and pdftoppm for the PNG.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeAtomic } from "../src/util/files.js";
import { explain, graph } from "../src/index.js";
import { derivations } from "./derivations.js";

for (const d of derivations) {
  const text = readFileSync(d.source, "utf8");
  const at = d.at ? { at: d.at } : {};
  writeAtomic(
    `docs/${d.name}-derivation.md`,
    explain(text, { filename: d.source, ...at, picture: `${d.name}-graph.svg` }).text,
  );
  writeAtomic(`docs/${d.name}-graph.svg`, await graph(text, { filename: d.source, ...at }));
}
const [lecture, , student] = derivations;

/** the first page of a derivation's PDF as a PNG under docs/ (false when pdflatex or pdftoppm is missing) */
function firstPage(name: string, tex: string, png: string): boolean {
  const dir = mkdtempSync(join(tmpdir(), "gradc-docs-"));
  writeAtomic(join(dir, `${name}.tex`), tex);
  const ok =
    spawnSync("pdflatex", ["-interaction=nonstopmode", `${name}.tex`], { cwd: dir }).status === 0 &&
    spawnSync("pdftoppm", ["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", `${name}.pdf`, "page"], {
      cwd: dir,
    }).status === 0;
  if (ok) copyFileSync(join(dir, "page.png"), png);
  return ok;
}
const png =
  firstPage(
    "lecture",
    explain(readFileSync(lecture.source, "utf8"), { filename: lecture.source, at: lecture.at, format: "tex" }).text,
    "docs/lecture-derivation-page1.png",
  ) &&
  firstPage(
    "autoencoder",
    explain(readFileSync(student.source, "utf8"), { filename: student.source, at: student.at, format: "tex" }).text,
    "docs/autoencoder-derivation-page1.png",
  );
console.log(
  png
    ? "docs/ updated, with the PDF's first page"
    : "docs/ updated; pdflatex or pdftoppm missing, so the PNG was not redrawn",
);
