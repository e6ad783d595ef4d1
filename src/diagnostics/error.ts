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

/** A broken internal invariant: a gradc bug, never a user error. */
export class InternalError extends Error {
  constructor(message: string) {
    super(`gradc internal error: ${message}`);
    this.name = "InternalError";
  }
}
