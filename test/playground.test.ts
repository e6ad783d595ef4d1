/**
 * The homework page (#15), built with Vite and driven in headless Chromium: the lecture's
 * derivation appears, an error is marked where it is, a fix brings the derivation back, a
 * shared link reproduces the page, and the page's numbers are the CLI's.
 */
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { explain } from "../src/index.js";
import { writeHash } from "../playground/share.js";
import { buildPlayground, chromiumPath, firefoxPath, serve } from "./helpers/browser.js";

const chromium = chromiumPath();
const firefox = firefoxPath();

/** the site, built and served once for every browser */
let site: Promise<{ url: string; server: Server }> | undefined;
const served = () => (site ??= buildPlayground().then(serve));
afterAll(async () => (await site)?.server.close());
const lecture = readFileSync("examples/lecture.grad", "utf8");

describe.skipIf(!chromium)("the playground in Chromium", () => {
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    ({ url } = await served());
    const { chromium: driver } = await import("playwright-core");
    browser = await driver.launch({ executablePath: chromium! });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** a page at `hash`, once the compiler has answered */
  async function open(hash = ""): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(url + hash);
    await page.waitForSelector("body[data-state]", { timeout: 60_000 });
    expect(errors).toEqual([]);
    return page;
  }
  /** the TeX behind what KaTeX drew in the derivation panel */
  const texOf = (page: Page) =>
    page.$$eval("#derivation annotation", (xs) => xs.map((x) => x.textContent ?? "").join("\n"));
  /** replace the editor's text, as a student would type it */
  async function type(page: Page, text: string): Promise<void> {
    await page.click(".cm-content");
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText(text);
  }

  it("opens on the lecture's example: u_1 … u_9 and the boxed closed forms", async () => {
    const page = await open();
    const tex = await texOf(page);
    for (let k = 1; k <= 9; k++) expect(tex).toContain(`u_{${k}}`);
    expect(tex).toContain("\\boxed{");
    expect(await page.getAttribute("body", "data-state")).toBe("ok");
    expect(Number(await page.getAttribute("body", "data-first-derivation-ms"))).toBeGreaterThan(0);
    await page.close();
  }, 90_000);

  it("marks an error with its code at its line and column, and a fix brings the derivation back", async () => {
    const page = await open();
    await type(page, "param w\ninput x\nloss = w * x + v^2\n");
    await page.waitForSelector('#problems li[data-code="E101"]', { timeout: 30_000 });
    expect(await page.textContent('#problems li[data-code="E101"]')).toMatch(/^3:16 E101 /);
    // the mark covers the unknown name
    await page.waitForSelector(".cm-lintRange-error");
    expect(await page.textContent(".cm-lintRange-error")).toBe("v");
    await type(page, "param w\ninput x\nloss = (w * x)^2\n");
    await page.waitForSelector("body[data-state=ok]", { timeout: 30_000 });
    expect(await page.$$("#problems li")).toHaveLength(0);
    expect(await texOf(page)).toContain("\\boxed{");
    await page.close();
  }, 90_000);

  it("a shared link reproduces the page, and its numbers are the CLI's (explain --at)", async () => {
    const at = "w=0.5,b=-1,x=2,y=1";
    const page = await open(writeHash({ source: lecture, at }));
    expect(await page.evaluate(() => document.querySelector(".cm-content")!.textContent)).toBe(
      lecture.replace(/\n/g, ""),
    );
    const cells = await page.$$eval("#derivation tbody tr", (rows) =>
      rows.map((r) => [...r.querySelectorAll("td")].slice(1).map((td) => td.textContent ?? "")),
    );
    const md = explain(lecture, { filename: "model.grad", at }).text;
    const cli = [...md.matchAll(/^\| \$[^$]*\$ \| ([^|]*) \| ([^|]*) \|$/gm)].map((m) => [m[1].trim(), m[2].trim()]);
    expect(cli.length).toBe(13);
    expect(cells).toEqual(cli);
    // the same link in a second page: the same derivation
    const again = await open(writeHash({ source: lecture, at }));
    expect(await texOf(again)).toBe(await texOf(page));
    await page.close();
    await again.close();
  }, 90_000);

  it("draws every panel: the graph, the module, the gradient flow of a model with layers", async () => {
    const chain = readFileSync("examples/chain.grad", "utf8");
    const page = await open(writeHash({ source: chain, at: "" }));
    await page.click("#tab-graph");
    expect(await page.$("#graph svg")).not.toBeNull();
    await page.click("#tab-code");
    expect(await page.textContent("#code")).toContain("export function gradients(");
    await page.click("#tab-flow");
    expect(await page.textContent("#flow svg")).toContain("Gradient magnitude per layer");
    // keyboard: the arrow keys move between the tabs
    await page.focus("#tab-flow");
    await page.keyboard.press("ArrowRight");
    expect(await page.getAttribute("#tab-derivation", "aria-selected")).toBe("true");
    await page.close();
  }, 90_000);
});

if (!chromium)
  describe("the playground in Chromium", () => {
    it("is skipped: no Chromium here (.ci/run installs Debian's chromium; GRADC_CHROMIUM names another)", () => {});
  });

describe.skipIf(!firefox)("the playground in Firefox (WebDriver BiDi, puppeteer-core)", () => {
  let url: string;
  let browser: import("puppeteer-core").Browser;

  beforeAll(async () => {
    ({ url } = await served());
    const { default: puppeteer } = await import("puppeteer-core");
    browser = await puppeteer.launch({ browser: "firefox", executablePath: firefox!, headless: true });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
  });

  it("shows the lecture's derivation, marks an error and recovers from it", async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1366, height: 800 });
    await page.goto(url);
    await page.waitForSelector("body[data-state=ok]", { timeout: 60_000 });
    const tex = await page.$$eval("#derivation annotation", (xs) => xs.map((x) => x.textContent ?? "").join("\n"));
    for (let k = 1; k <= 9; k++) expect(tex).toContain(`u_{${k}}`);
    expect(tex).toContain("\\boxed{");
    // an error, typed
    await page.click(".cm-content");
    await page.keyboard.down("Control");
    await page.keyboard.press("a");
    await page.keyboard.up("Control");
    await page.keyboard.press("Delete");
    await page.keyboard.type("param w\ninput x\nloss = w * x + v^2\n");
    await page.waitForSelector('#problems li[data-code="E101"]', { timeout: 30_000 });
    expect(await page.$eval('#problems li[data-code="E101"]', (li) => li.textContent)).toMatch(/^3:16 E101 /);
    await page.keyboard.press("Backspace");
    await page.keyboard.press("Backspace");
    await page.keyboard.press("Backspace");
    await page.keyboard.press("Backspace");
    await page.keyboard.type("x\n");
    await page.waitForSelector("body[data-state=ok]", { timeout: 30_000 });
    await page.close();
  }, 120_000);
});

if (!firefox)
  describe("the playground in Firefox", () => {
    it("is skipped: no Firefox here (.ci/run installs Debian's firefox-esr; GRADC_FIREFOX names another)", () => {});
  });
