import type { Diagnostic } from "./diagnostic.js";
import { renderDiagnostics } from "./render.js";

/** Thrown by the API when a source has errors; carries every diagnostic, not only the first. */
export class CompileError extends Error {
  constructor(
    readonly diagnostics: readonly Diagnostic[],
    readonly sourceText: string,
  ) {
    super(renderDiagnostics(diagnostics, sourceText).trimEnd());
    this.name = "CompileError";
  }
}

export { InternalError } from "./internal.js";
