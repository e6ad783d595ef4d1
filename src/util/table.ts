/**
 * A lookup table keyed by text the user wrote (function names, symbols): a copy without a
 * prototype, so `constructor`, `toString` or `__proto__` are looked up like any other name and
 * are simply absent (on a plain object, table["constructor"] is Object).
 */
export function userKeyed<T>(entries: Readonly<Record<string, T>>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}
