/**
 * The key among `candidates` that `written` most likely misspells: one edit away (two for keys
 * of six letters or more), counting a swap of two letters as one edit, ignoring case and
 * `-` versus `_`; else a key that `written` begins (`ram` for `ram_gb`), when only one does.
 */
export function closestKey(written: string, candidates: Iterable<string>): string | undefined {
  const word = normalize(written);
  let best: { key: string; distance: number } | undefined;
  const extensions: string[] = [];
  for (const key of candidates) {
    const other = normalize(key);
    if (other === word) return key;
    const distance = editDistance(word, other);
    const limit = Math.max(word.length, other.length) >= 6 ? 2 : 1;
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { key, distance };
    if (word.length >= 3 && other.startsWith(word)) extensions.push(key);
  }
  if (best) return best.key;
  return extensions.length === 1 ? extensions[0] : undefined;
}

function normalize(key: string): string {
  return key.trim().toLowerCase().replaceAll("-", "_");
}

/** Levenshtein distance with adjacent transpositions (optimal string alignment). */
function editDistance(a: string, b: string): number {
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, (beforePrevious[j - 2] ?? 0) + 1);
      row.push(best);
    }
    beforePrevious = previous;
    previous = row;
  }
  return previous[b.length] ?? 0;
}
