import type { Command } from "commander";
import type { Session } from "../session.js";

interface BuildFlags {
  check?: boolean;
  prune?: boolean;
  watch?: boolean;
  force?: boolean;
  root: string;
}

export function registerBuild(program: Command, s: Session): void {
  program
    .command("build")
    .description(
      'compile every .grad file of the project (settings: gradc.config.json or the "gradc" key of package.json)',
    )
    .option("--check", "write nothing; exit 1 listing every stale or missing output (for CI)")
    .option("--prune", "remove outputs that no source writes any more (a deleted or renamed model)")
    .option("--watch", "rebuild a model when it changes; errors are printed and the last good output kept")
    .option("--force", "rebuild even sources whose output is up to date")
    .option("--root <dir>", "the project folder", ".")
    .addHelpText(
      "after",
      '\nSettings (all optional):\n  { "include": ["models/**/*.grad"], "outDir": "src/generated", "dtype": "f64", "explain": ["md"] }\n  ("outsideRoot": true lets outDir lie outside the project)\n\nExamples:\n  gradc build\n  gradc build --check\n  gradc build --prune\n  gradc build --watch',
    )
    .action((opts: BuildFlags) => buildProject(opts, s));
}

async function buildProject(opts: BuildFlags, s: Session): Promise<void> {
  const { ConfigError, loadConfig } = await import("../../build/config.js");
  let config;
  try {
    config = loadConfig(opts.root).config;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return s.fail(e, 2);
  }
  if (opts.watch) {
    const { watchProject } = await import("../../build/watch.js");
    const w = await watchProject(opts.root, config, s.io.stdout);
    await w.ready;
    await new Promise<void>((resolve) => {
      const stop = () => void w.stop().then(resolve);
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    return;
  }
  const { build } = await import("../../build/build.js");
  const flags = { check: opts.check ?? false, force: opts.force ?? false, prune: opts.prune ?? false };
  const r = await build(opts.root, config, flags, s.io.stdout);
  if (r.failed || r.stale.length || (opts.check && r.orphans.length)) s.code = 1;
}
