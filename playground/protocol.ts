/** What the page asks the compiler's worker, and what it answers. */
export interface Request {
  readonly id: number;
  readonly source: string;
  /** a point in `gradc explain --at` syntax; empty: random */
  readonly at: string;
}

/** a diagnostic, placed in the source */
export interface Problem {
  readonly code: string;
  readonly severity: string;
  readonly message: string;
  readonly hint?: string;
  readonly from: number;
  readonly to: number;
  readonly line: number;
  readonly col: number;
}

export interface Leaf {
  readonly name: string;
  readonly role: "param" | "input";
  /** its value at the point, as --at writes it */
  readonly value: string;
}

export type Response =
  | {
      readonly id: number;
      readonly ok: true;
      readonly derivation: string;
      readonly markdown: string;
      readonly tex: string;
      readonly graph?: string;
      readonly typescript: string;
      readonly flow?: string;
      readonly leaves: readonly Leaf[];
      readonly ms: number;
    }
  | { readonly id: number; readonly ok: false; readonly problems: readonly Problem[]; readonly error?: string };
