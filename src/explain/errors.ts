import type { Code } from "../diagnostics/catalogue.js";
import { UserError } from "../diagnostics/usage.js";

/** A bad --at: the message says what to write instead. */
export class PointError<C extends Code = Code> extends UserError<C> {}

/** A derivation that cannot be printed (a formula too deep to render): the message says why. */
export class ExplainError<C extends Code = Code> extends UserError<C> {}
