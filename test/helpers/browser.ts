/**
 * The playground in a real browser: build it with Vite, serve dist/playground/ over HTTP, and
 * drive Debian's Chromium (no browser download) through playwright-core.
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { extname, join, normalize } from "node:path";
import type { AddressInfo } from "node:net";

/** the system Chromium: GRADC_CHROMIUM, else Debian's (the binary, not its shell wrapper) */
export function chromiumPath(): string | undefined {
  const candidates = [
    process.env.GRADC_CHROMIUM,
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
  ];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

/** the system Firefox (Debian's firefox-esr), driven over WebDriver BiDi by puppeteer-core: GRADC_FIREFOX, else Debian's */
export function firefoxPath(): string | undefined {
  const candidates = [process.env.GRADC_FIREFOX, "/usr/bin/firefox-esr", "/usr/bin/firefox"];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

export async function buildPlayground(): Promise<string> {
  const { build } = await import("vite");
  await build({ configFile: "playground/vite.config.ts", logLevel: "warn" });
  return "dist/playground";
}

const types: Readonly<Record<string, string>> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".wasm": "application/wasm",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
  ".svg": "image/svg+xml",
};

/** a static server for a folder, on a free port */
export async function serve(root: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)).replace(
      /^(\.\.[/\\])+/,
      "",
    );
    const file = join(root, path.endsWith("/") ? `${path}index.html` : path);
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}
