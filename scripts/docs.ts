// Renders the documentation pictures: `npm run docs`. Needs pdflatex and pdftoppm for the PNG.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeAtomic } from "../src/util/files.js";
import { explain, graph } from "../src/index.js";

const source = "examples/lecture.grad";
const at = "w=0.5,b=-1,x=2,y=1";
const text = readFileSync(source, "utf8");
writeAtomic("docs/lecture-derivation.md", explain(text, { filename: source, at, picture: "lecture-graph.svg" }).text);
writeAtomic("docs/lecture-graph.svg", await graph(text, { filename: source, at }));
writeAtomic(
  "docs/mlp-derivation.md",
  explain(readFileSync("examples/mlp.grad", "utf8"), { filename: "examples/mlp.grad", picture: "mlp-graph.svg" }).text,
);
writeAtomic(
  "docs/mlp-graph.svg",
  await graph(readFileSync("examples/mlp.grad", "utf8"), { filename: "examples/mlp.grad" }),
);

// a student's model (#12): a transpose (tied weights), an L2 term and binary cross-entropy
const student = "examples/autoencoder.grad";
const studentText = readFileSync(student, "utf8");
writeAtomic(
  "docs/autoencoder-derivation.md",
  explain(studentText, { filename: student, at: "random", picture: "autoencoder-graph.svg" }).text,
);
writeAtomic("docs/autoencoder-graph.svg", await graph(studentText, { filename: student, at: "random" }));

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
    explain(text, { filename: source, at, format: "tex" }).text,
    "docs/lecture-derivation-page1.png",
  ) &&
  firstPage(
    "autoencoder",
    explain(studentText, { filename: student, at: "random", format: "tex" }).text,
    "docs/autoencoder-derivation-page1.png",
  );
console.log(
  png
    ? "docs/ updated, with the PDF's first page"
    : "docs/ updated; pdflatex or pdftoppm missing, so the PNG was not redrawn",
);
