import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Code } from "../diagnostics/catalogue.js";
import { UserError } from "../diagnostics/usage.js";
import { writeAtomic } from "../util/files.js";

/** A problem with a file the user named: the message names the path and the reason; exit 1. */
export class FileError<C extends Code = Code> extends UserError<C> {}

/** Sources larger than this are refused before they are read (a .grad file is a few KB). */
const MAX_SOURCE_BYTES = 16 * 1024 * 1024;

/** The reason behind a file system error, in words. */
function reason(e: unknown): string {
  const code = (e as { code?: string }).code;
  const words: Record<string, string> = {
    EISDIR: "it is a directory",
    ENOTDIR: "a part of the path is not a directory",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EROFS: "the file system is read-only",
    ENOSPC: "no space left on the device",
    EDQUOT: "the disk quota is exceeded",
    ENOENT: "no such file or directory",
    ENAMETOOLONG: "the name is too long",
    ELOOP: "too many symbolic links",
  };
  return (code && words[code]) ?? (e instanceof Error ? e.message : String(e));
}

/** A source file's text: a regular file of at most MAX_SOURCE_BYTES (not a device such as /dev/zero, nor a folder). */
export function readSource(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new FileError("E520", { path, reason: reason(e) });
  }
  if (st.isDirectory()) throw new FileError("E520", { path, reason: "it is a directory" });
  if (!st.isFile()) throw new FileError("E520", { path, reason: "it is not a regular file" });
  if (st.size > MAX_SOURCE_BYTES) throw new FileError("E521", { path, size: st.size, limit: MAX_SOURCE_BYTES });
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new FileError("E520", { path, reason: reason(e) });
  }
}

/** Where a path really is: through symbolic links when it exists, else as written. */
function identity(path: string): string {
  const abs = resolve(path);
  try {
    return existsSync(abs) ? realpathSync(abs) : abs;
  } catch {
    return abs;
  }
}

/**
 * Refuse outputs that would destroy an input (`-o model.grad`, also through a link) or that two
 * inputs would both write (`--out-dir` with a/m.grad and b/m.grad): each names the paths.
 */
export function checkOutputs(jobs: readonly { readonly input: string; readonly outputs: readonly string[] }[]): void {
  const inputs = new Map(jobs.map((j) => [identity(j.input), j.input]));
  const writers = new Map<string, string>();
  for (const j of jobs) {
    for (const out of j.outputs) {
      const id = identity(out);
      const source = inputs.get(id);
      if (source !== undefined) throw new FileError("E522", { out, source });
      const other = writers.get(id);
      if (other !== undefined && other !== j.input) throw new FileError("E523", { out, first: other, second: j.input });
      writers.set(id, j.input);
    }
  }
}

/** Write an output (atomically); a failure names the path and the reason. */
export function writeOutput(path: string, text: string): void {
  try {
    writeAtomic(path, text);
  } catch (e) {
    throw new FileError("E524", { path, reason: reason(e) });
  }
}
