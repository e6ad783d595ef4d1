import { readFileSync, readdirSync } from "node:fs";
import { explain } from "../src/index.js";
const dir = "/work/main/test/corpus";
for (const f of readdirSync(dir).sort()) {
  const text = readFileSync(`${dir}/${f}`, "utf8");
  try {
    explain(text, { filename: f, format: "md", at: "random" });
    console.log("ok  ", f);
  } catch (e) {
    const m = (e as Error).message.split("\n").slice(0, 3).join(" | ");
    console.log("FAIL", f, (e as Error).name, m.slice(0, 600));
  }
}
