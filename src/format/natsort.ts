/**
 * The order of `ls`: names compared lower-cased, runs of digits compared as numbers, and a number
 * sorts before text at the same place (m2 < m10 < ma).
 */
export function naturalCompare(a: string, b: string): number {
  const x = chunks(a.toLowerCase());
  const y = chunks(b.toLowerCase());
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    const pn = isDigits(p);
    const qn = isDigits(q);
    if (pn && qn) {
      const c = compareNumeric(p, q);
      if (c !== 0) return c;
    } else if (pn !== qn) {
      return pn ? -1 : 1;
    } else if (p !== q) {
      return p < q ? -1 : 1;
    }
  }
  return x.length - y.length;
}

export function naturalSort<T>(items: T[], key: (t: T) => string): T[] {
  return [...items].sort((a, b) => naturalCompare(key(a), key(b)));
}

function chunks(s: string): string[] {
  return s.match(/\d+|\D+/g) ?? [];
}

function isDigits(s: string): boolean {
  return s.charCodeAt(0) >= 48 && s.charCodeAt(0) <= 57;
}

function compareNumeric(a: string, b: string): number {
  const p = a.replace(/^0+(?=\d)/, '');
  const q = b.replace(/^0+(?=\d)/, '');
  if (p.length !== q.length) return p.length - q.length;
  return p < q ? -1 : p > q ? 1 : 0;
}
