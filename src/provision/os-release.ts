/** /etc/os-release as the original parses it (spec §5.1): KEY=value lines, quotes removed. */
export type OsRelease = Record<string, string>;

export function parseOsRelease(text: string, warn: (line: string) => void = () => {}): OsRelease {
  const out: OsRelease = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split('=');
    if (parts.length !== 2) {
      warn(
        `Warning: got an invalid line error parsing /etc/os-release: Expected ${line} to split by '=' char into two strings, instead got ${parts.length} strings`,
      );
      continue;
    }
    let v = parts[1];
    if (v.startsWith('"') || v.startsWith("'")) v = v.slice(1, -1);
    out[parts[0]] = v;
  }
  return out;
}

/** Whether ID_LIKE names a distribution (a space-separated list, as the original reads it for SUSE). */
export function isLike(os: OsRelease, id: string): boolean {
  return (os.ID_LIKE ?? '').split(/\s+/).includes(id);
}

/** The major version of VERSION_ID ("9.3" -> 9); NaN when there is none. */
export function majorVersion(os: OsRelease): number {
  return Number.parseInt(os.VERSION_ID ?? '', 10);
}
