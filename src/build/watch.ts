import { join, relative, sep } from "node:path";
import { watch } from "chokidar";
import type { BuildConfig } from "./config.js";
import { buildOne, targets } from "./build.js";

/**
 * gradc build --watch: build once, then rebuild each .grad file when it changes. Errors are
 * printed and the previous output stays; the watcher keeps running until `stop()`.
 */
export async function watchProject(
  root: string,
  config: BuildConfig,
  print: (s: string) => void,
): Promise<{ stop: () => Promise<void>; ready: Promise<void> }> {
  const rebuild = async (file: string) => {
    const rel = relative(root, file).split(sep).join("/");
    const t = (await targets(root, config)).find((x) => x.source === rel);
    if (t) await buildOne(root, t, config, { force: true }, print);
  };
  for (const t of await targets(root, config)) await buildOne(root, t, config, {}, print);
  const watcher = watch(root, {
    ignored: (path: string) => path.includes(`${sep}node_modules`) || path.startsWith(join(root, config.outDir)),
    ignoreInitial: true,
    awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 },
  });
  let queue = Promise.resolve();
  const onChange = (file: string) => {
    if (!file.endsWith(".grad")) return;
    queue = queue.then(() => rebuild(file)).catch((e: Error) => print(`gradc: ${e.message}\n`));
  };
  watcher.on("add", onChange).on("change", onChange);
  const ready = new Promise<void>((resolve) =>
    watcher.on("ready", () => {
      print(`gradc build --watch: watching ${config.include.join(", ")} (Ctrl-C to stop)\n`);
      resolve();
    }),
  );
  return { stop: () => watcher.close(), ready };
}
