/**
 * The command line: one module per command (src/cli/commands/), each loading the compiler only
 * when it runs, so `gradc --version` and `--help` start at once.
 */
import { InternalError } from "../diagnostics/internal.js";
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerBuild } from "./commands/build.js";
import { registerCompile } from "./commands/compile.js";
import { registerExplain, registerGraph } from "./commands/explain.js";
import { registerFlow } from "./commands/flow.js";
import { Session, type Io } from "./session.js";

export type { Io };

const version = (): string => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8").toString()) as {
    version: string;
  };
  return pkg.version;
};

/** the exit code of a gradc bug (sysexits' EX_SOFTWARE) */
export const INTERNAL_ERROR = 70;

/** Run the CLI; resolves to the exit code (0 ok, 1 compile errors, 2 usage, 70 a gradc bug). */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const s = new Session(io);
  const program = new Command()
    .name("gradc")
    .description("Compile .grad network definitions into static, dependency-free gradient code.")
    .version(findVersion(), "-v, --version")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const register of [registerCompile, registerExplain, registerGraph, registerBuild, registerFlow])
    register(program, s);
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help")
      return 0;
    if (typeof err.exitCode === "number") return err.exitCode === 0 ? 0 : 2;
    if (e instanceof InternalError) {
      // a gradc bug (a false equation the derivation refused to print, a broken invariant): the
      // message and where to report it, without a stack trace of gradc's insides
      io.stderr(`${e.message}\nThis is a bug in gradc, not in your program: please report it with the .grad source.\n`);
      return INTERNAL_ERROR;
    }
    throw e;
  }
  return s.code;
}

function findVersion(): string {
  try {
    return version();
  } catch {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8").toString()) as {
      version: string;
    };
    return pkg.version;
  }
}
