import { existsSync, rmSync } from "node:fs";
import { relative, resolve, sep } from "node:path";
import { watch } from "chokidar";
import type { BuildConfig } from "./config.js";
import { buildOne, targets, type Target } from "./build.js";

/**
 * gradc build --watch: build once, then rebuild each .grad file when it changes. Errors are
 * printed and the previous output stays; a deleted (or renamed) source's outputs are removed;
 * a file system error (a symlink loop, a folder it may not read) is printed and watching goes
 * on. The watcher keeps running until `stop()`.
 */
export async function watchProject(
  root: string,
  config: BuildConfig,
  print: (s: string) => void,
): Promise<{ stop: () => Promise<void>; ready: Promise<void> }> {
  /** the sources seen so far and their outputs, to remove a deleted source's outputs */
  const known = new Map<string, Target>();
  const scan = async () => {
    for (const t of await targets(root, config)) known.set(t.source, t);
  };
  const sourceOf = (file: string) => relative(root, file).split(sep).join("/");
  const rebuild = async (file: string) => {
    await scan();
    const t = known.get(sourceOf(file));
    if (t) await buildOne(root, t, config, { force: true }, print);
  };
  await scan();
  for (const t of known.values()) await buildOne(root, t, config, {}, print);
  const watcher = watch(root, {
    ignored: (path: string) => path.includes(`${sep}node_modules`) || path.startsWith(resolve(root, config.outDir)),
    ignoreInitial: true,
    awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 },
  });
  let queue = Promise.resolve();
  const onChange = (file: string) => {
    if (!file.endsWith(".grad")) return;
    queue = queue.then(() => rebuild(file)).catch((e: Error) => print(`gradc: ${e.message}\n`));
  };
  // the outputs a deleted source had: gradc's, so removed with it (a rename is a delete and an add)
  const onRemove = (file: string) => {
    if (!file.endsWith(".grad")) return;
    queue = queue
      .then(() => {
        const t = known.get(sourceOf(file));
        known.delete(sourceOf(file));
        for (const o of t?.outputs ?? []) {
          if (!existsSync(resolve(root, o.path))) continue;
          rmSync(resolve(root, o.path));
          print(`  removed    ${o.path} (its source ${t!.source} is gone)\n`);
        }
      })
      .catch((e: Error) => print(`gradc: ${e.message}\n`));
  };
  watcher.on("add", onChange).on("change", onChange).on("unlink", onRemove);
  watcher.on("error", (e: unknown) => print(`gradc build --watch: ${e instanceof Error ? e.message : String(e)}\n`));
  const ready = new Promise<void>((resolve) =>
    watcher.on("ready", () => {
      print(`gradc build --watch: watching ${config.include.join(", ")} (Ctrl-C to stop)\n`);
      resolve();
    }),
  );
  return { stop: () => watcher.close(), ready };
}
