// The playground's pictures for the README and docs/ (npm run playground:shots): builds the
// page, opens it in Debian's Chromium, and saves a screenshot of each panel; prints the bundle's
// weight and the time from opening the page to the lecture's derivation on screen.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { buildPlayground, chromiumPath, serve } from "../test/helpers/browser.js";
import { writeHash } from "../playground/share.js";

const exe = chromiumPath();
if (!exe) throw new Error("no Chromium: apt-get install chromium (or set GRADC_CHROMIUM)");
const root = await buildPlayground();
const { url, server } = await serve(root);
const browser = await chromium.launch({ executablePath: exe });
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const firsts: number[] = [];
  for (let k = 0; k < 3; k++) {
    await page.goto(`${url}?run=${k}`);
    await page.waitForSelector("body[data-state=ok]", { timeout: 60_000 });
    firsts.push(Number(await page.getAttribute("body", "data-first-derivation-ms")));
  }
  await page.screenshot({ path: "docs/playground.png" });
  await page.goto(url + writeHash({ source: readFileSync("examples/chain.grad", "utf8"), at: "" }));
  await page.waitForSelector("body[data-state=ok]", { timeout: 60_000 });
  for (const tab of ["graph", "code", "flow"]) {
    await page.click(`#tab-${tab}`);
    await page.screenshot({ path: `docs/playground-${tab}.png` });
  }
  const files = readdirSync(join(root, "assets")).filter((f) => f.endsWith(".js") || f.endsWith(".css"));
  const weigh = (f: string) => ({
    raw: statSync(join(root, "assets", f)).size,
    gz: gzipSync(readFileSync(join(root, "assets", f))).length,
  });
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
  for (const f of files.sort()) console.log(`${f}: ${kb(weigh(f).raw)} (${kb(weigh(f).gz)} gzip)`);
  console.log(`first derivation (lecture), three loads: ${firsts.map((t) => `${t} ms`).join(", ")}`);
} finally {
  await browser.close();
  server.close();
}
