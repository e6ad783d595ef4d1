/** The page's state in the URL's hash (#src=…&at=…), so that a link reproduces the page. */
function toBase64Url(s: string): string {
  let bin = "";
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(s: string): string | undefined {
  try {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

export interface Shared {
  readonly source: string;
  readonly at: string;
}

export function writeHash(s: Shared): string {
  const params = new URLSearchParams({ src: toBase64Url(s.source) });
  if (s.at) params.set("at", s.at);
  return `#${params.toString()}`;
}

export function readHash(hash: string): Partial<Shared> {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const src = params.get("src");
  const source = src === null ? undefined : fromBase64Url(src);
  return { ...(source !== undefined ? { source } : {}), ...(params.has("at") ? { at: params.get("at")! } : {}) };
}
