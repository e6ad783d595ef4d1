import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, relative, sep } from "node:path";

/**
 * Write a file so that a reader never sees half of it and a failure never truncates what was
 * there: write a temporary file beside it, then rename over the target.
 */
export function writeAtomic(path: string, text: string): void {
  // a device or pipe (/dev/stdout) is written to, never renamed over
  if (existsSync(path) && !statSync(path).isFile()) {
    writeFileSync(path, text);
    return;
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** The name a source is shown by: relative to the working directory, with '/' separators. */
export function displayName(path: string, cwd = process.cwd()): string {
  const rel = isAbsolute(path) ? relative(cwd, path) : path;
  const name = rel.startsWith("..") || isAbsolute(rel) ? path : rel;
  return name.split(sep).join("/");
}
