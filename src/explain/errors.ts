/** A bad --at: the message says what to write instead. */
export class PointError extends Error {}

/** A derivation that cannot be printed (a formula too deep to render): the message says why. */
export class ExplainError extends Error {}
