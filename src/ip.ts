/**
 * IP address syntax without node:net, which would load the stream modules into every command.
 * Returns 4, 6 or 0 like net.isIP.
 */
export function ipVersion(s: string): 0 | 4 | 6 {
  if (/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(s)) return 4;
  if (!s.includes(':') || !/^[0-9a-fA-F:.]+$/.test(s)) return 0;
  const parts = s.split('::');
  if (parts.length > 2) return 0;
  const groups = parts.flatMap((p) => (p === '' ? [] : p.split(':')));
  const tail = groups.at(-1) ?? '';
  const v4tail = tail.includes('.') ? (ipVersion(tail) === 4 ? 1 : -1) : 0;
  if (v4tail < 0) return 0;
  const hex = v4tail ? groups.slice(0, -1) : groups;
  if (!hex.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return 0;
  const count = hex.length + v4tail * 2;
  if (parts.length === 2 ? count > 7 : count !== 8) return 0;
  return 6;
}
