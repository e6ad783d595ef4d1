/**
 * Source text as a one-line note (code comments, the IR dump, run-time messages): whitespace
 * folded, and a long text cut in the middle, so that a sum of 3,000 terms does not repeat its
 * whole prefix beside every one of its units.
 */
export function originNote(text: string, max = 80): string {
  // only the ends of a long text are shown: fold whitespace in them alone (linear in max, not in
  // the text, which for each partial sum of a long sum is the whole prefix)
  const window = 4 * max;
  const fold = (s: string) => s.replace(/\s+/g, " ");
  const short = text.length <= 2 * window ? fold(text) : undefined;
  if (short !== undefined && short.length <= max) return short;
  const head = short ?? fold(text.slice(0, window));
  const tail = short ?? fold(text.slice(-window));
  const half = Math.floor((max - 3) / 2);
  return `${head.slice(0, half).trimEnd()} … ${tail.slice(tail.length - half).trimStart()}`;
}

const notes = new WeakMap<object, string>();

/** originNote of a node's origin, computed once per origin: every generated function comments the same nodes. */
export function noteOf(origin: { readonly text: string }): string {
  let note = notes.get(origin);
  if (note === undefined) notes.set(origin, (note = originNote(origin.text)));
  return note;
}
