/** A broken internal invariant: a gradc bug, never a user error. */
export class InternalError extends Error {
  constructor(message: string) {
    super(`gradc internal error: ${message}`);
    this.name = "InternalError";
  }
}
