import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { explain } from "../src/index.js";
const dir = "/work/main/test/corpus";
for (const f of readdirSync(dir).sort()) {
  const text = readFileSync(`${dir}/${f}`, "utf8");
  const name = f.replace(/\.grad$/, "");
  writeFileSync(`/tmp/texc/${name}.tex`, explain(text, { filename: f, format: "tex", at: "random" }).text);
  const r = spawnSync("pdflatex", ["-interaction=nonstopmode", "-halt-on-error", `${name}.tex`], { cwd: "/tmp/texc", encoding: "utf8" });
  const log = readFileSync(`/tmp/texc/${name}.log`, "utf8");
  const over = [...log.matchAll(/Overfull \\hbox \(([\d.]+)pt too wide\)/g)].map((m) => Number(m[1]));
  const worst = Math.max(0, ...over);
  console.log(r.status === 0 ? "ok  " : "FAIL", name, "overfull:", over.length, "worst", worst);
}
