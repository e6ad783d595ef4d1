import { displayName } from "../util/files.js";
import { CompileError } from "../diagnostics/error.js";
import { renderDiagnostics } from "../diagnostics/render.js";
import { UserError } from "../diagnostics/usage.js";
import { checkOutputs, readSource, writeOutput } from "./paths.js";

export interface Io {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

/** One run of the CLI: where output goes, and the exit code so far (0 ok, 1 errors, 2 usage). */
export class Session {
  code = 0;
  constructor(readonly io: Io) {}

  /** a user error on stderr (its code, message and hint), and the exit code it sets */
  fail(e: UserError, code: 1 | 2 = 1): void {
    this.io.stderr(`gradc: ${e.message}\n`);
    this.code = code;
  }

  /** read a source, run a job on it, and turn user errors into messages and exit code 1 */
  async guarded(file: string, job: (text: string, name: string) => Promise<void>): Promise<void> {
    let text = "";
    try {
      text = readSource(file);
      await job(text, displayName(file));
    } catch (e) {
      if (e instanceof CompileError) {
        this.io.stderr(renderDiagnostics(e.diagnostics, text));
        this.code = 1;
      } else if (e instanceof UserError) this.fail(e);
      else throw e;
    }
  }

  /** text to a file (reported on stderr), or to stdout when there is no target */
  output(target: string | undefined, text: string, from: string): void {
    if (!target) return this.io.stdout(text);
    writeOutput(target, text);
    this.io.stderr(`gradc: ${from} -> ${displayName(target)}\n`);
  }

  /** -o (and the picture written beside it) must not be the input */
  refuseInput(file: string, ...outs: (string | undefined)[]): void {
    checkOutputs([{ input: file, outputs: outs.filter((o): o is string => o !== undefined) }]);
  }
}
