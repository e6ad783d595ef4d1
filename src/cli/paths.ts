import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { writeAtomic } from "../util/files.js";

/** A problem with a file the user named: the message names the path and the reason; exit 1. */
export class FileError extends Error {}

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
    throw new FileError(`cannot read ${path}: ${reason(e)}`);
  }
  if (st.isDirectory()) throw new FileError(`cannot read ${path}: it is a directory`);
  if (!st.isFile()) throw new FileError(`cannot read ${path}: it is not a regular file`);
  if (st.size > MAX_SOURCE_BYTES)
    throw new FileError(`cannot read ${path}: ${st.size} bytes is more than a source may have (${MAX_SOURCE_BYTES})`);
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new FileError(`cannot read ${path}: ${reason(e)}`);
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
      if (source !== undefined)
        throw new FileError(`refusing to write ${out}: it is the input ${source}; choose another output`);
      const other = writers.get(id);
      if (other !== undefined && other !== j.input)
        throw new FileError(
          `refusing to write ${out} twice: both ${other} and ${j.input} would write it; compile them into different folders or rename one`,
        );
      writers.set(id, j.input);
    }
  }
}

/** Write an output (atomically); a failure names the path and the reason. */
export function writeOutput(path: string, text: string): void {
  try {
    writeAtomic(path, text);
  } catch (e) {
    throw new FileError(`cannot write ${path}: ${reason(e)}`);
  }
}
