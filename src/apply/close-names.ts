/** Names within a small edit distance of `word` (or sharing its start), closest first. */
export function closeNames(word: string, names: string[], max = 3): string[] {
  const scored = names
    .map((n) => ({ n, d: distance(word, n) }))
    .filter(
      ({ n, d }) =>
        d <= Math.min(max, Math.max(1, Math.floor(n.length / 3))) || (word.length >= 3 && n.startsWith(word)),
    )
    .sort((a, b) => a.d - b.d || (a.n < b.n ? -1 : 1));
  return scored.slice(0, 3).map((s) => s.n);
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
