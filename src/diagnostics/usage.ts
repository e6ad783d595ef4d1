import type { Code } from "./catalogue.js";
import { fillEntry, type ArgsParam } from "./diagnostic.js";
import { escapeText } from "./render.js";

/**
 * An error outside the source text (an --at value, a setting, a file, a command-line option):
 * a catalogue code with its typed arguments, as `error[E520]: message` and a hint line. The CLI
 * prints it after "gradc: "; the API throws it.
 */
export class UserError<C extends Code = Code> extends Error {
  readonly code: C;
  readonly text: string;
  readonly hint?: string;
  constructor(code: C, ...args: ArgsParam<C>) {
    const { message, hint } = fillEntry(code, ...args);
    super(`error[${code}]: ${escapeText(message, 1000)}${hint ? `\n  = hint: ${escapeText(hint, 1000)}` : ""}`);
    this.code = code;
    this.text = message;
    if (hint) this.hint = hint;
  }
}
