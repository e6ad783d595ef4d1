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
  /**
   * elements between consecutive rows of A, B and C as stored (A's rows are Aᵀ's in tn, B's
   * Bᵀ's in nt): a matrix inside a larger tensor, as a head's rows in [t, h, d]. Default: the
   * rows are contiguous (strides() gives them).
   */
  readonly lda?: number;
  readonly ldb?: number;
  readonly ldc?: number;
}

/** A kernel's form, sizes and row strides, without its name. */
export type MatmulShape = Omit<MatmulKernel, "name" | "accumulate">;

interface Strides {
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/** The row strides of contiguous rows: A's (Aᵀ's in tn) row length, B's (Bᵀ's in nt), C's. */
export function naturalStrides(k: Pick<MatmulKernel, "form" | "m" | "n" | "c">): Strides {
  return { a: k.form === "tn" ? k.m : k.n, b: k.form === "nt" ? k.n : k.c, c: k.c };
}

/** A kernel's row strides in elements: its own, or those of contiguous rows. */
export function rowStrides(k: MatmulKernel): Strides {
  const natural = naturalStrides(k);
  return { a: k.lda ?? natural.a, b: k.ldb ?? natural.b, c: k.ldc ?? natural.c };
}

/** Whether A's elements are one contiguous block (the kernels count its nonzero factors in one pass). */
export const contiguousA = (k: MatmulKernel): boolean => rowStrides(k).a === naturalStrides(k).a;
