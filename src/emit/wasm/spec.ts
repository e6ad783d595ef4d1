/** A product the kernels compute: its form and sizes (see kernels.ts for the forms). */
export type Form = "nt" | "tn" | "nn";

export interface MatmulKernel {
  readonly name: string;
  readonly form: Form;
  readonly m: number;
  readonly n: number;
  readonly c: number;
  /** tn and nn only: add into C instead of overwriting it (a gradient summed over chunks) */
  readonly accumulate?: boolean;
}
