/** Edit distance where swapping two neighbours counts once (optimal string alignment): rleu -> relu is 1. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest candidate within a third of the name's length, ties broken alphabetically. */
function closest(name: string, candidates: Iterable<string>): string | undefined {
  // every one-letter name is one edit from every other: no useful suggestion
  if (name.length < 2) return undefined;
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of [...candidates].sort()) {
    const d = distance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD && d <= limit) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** the "did you mean …?" hint, when a candidate is close enough */
export function similar(
  name: string,
  candidates: Iterable<string>,
): { readonly kind: "similar"; readonly suggestion: string } | undefined {
  const c = closest(name, candidates);
  return c === undefined ? undefined : { kind: "similar", suggestion: c };
}
