import { InvalidArgumentError } from "commander";

/** An option parser that accepts one of `values`. */
export function choice<T extends string>(values: readonly T[]) {
  return (v: string): T => {
    if (!values.includes(v as T)) throw new InvalidArgumentError(`expected one of ${values.join(", ")}`);
    return v as T;
  };
}

/** `{ at }` when --at was given */
export const atOption = (at: string | undefined) => (at !== undefined ? { at } : {});
