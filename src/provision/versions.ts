import { MachineError } from '../errors.js';

/**
 * Engine versions as the machine reports them (`dockerd --version`) and as package managers
 * list them (`20.10.24+dfsg1-1+b3`, `3:24.0.7-1.el9`, `24.0.7_ce-150000.190.4`).
 */

/** A version a user may pin: it travels into remote commands, so only package-version characters. */
export function checkEngineVersion(v: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9.+~:_-]*$/.test(v)) {
    throw new MachineError(
      `Invalid --engine-version "${v}": use a version such as 24.0.7 (letters, digits and . + ~ : _ - only)`,
    );
  }
}

/** "Docker version 20.10.24+dfsg1, build 5d6db84" -> "20.10.24+dfsg1". */
export function parseDockerdVersion(out: string): string | null {
  const m = /version\s+([^\s,]+)/i.exec(out);
  return m ? m[1] : null;
}

/** Without the package epoch ("3:24.0.7-1.el9" -> "24.0.7-1.el9"). */
export function withoutEpoch(v: string): string {
  return v.replace(/^\d+:/, '');
}

/**
 * Whether a pin names a version: one is the other's prefix at a boundary, so `20.10` names
 * `20.10.24+dfsg1`, and `20.10.24+dfsg1-1+b3` names the engine that reports `20.10.24+dfsg1`;
 * `20.10.2` does not name `20.10.24`.
 */
export function versionMatches(pin: string, version: string): boolean {
  const a = withoutEpoch(pin);
  const b = withoutEpoch(version);
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return long.startsWith(short) && !/[0-9]/.test(long.charAt(short.length));
}

/**
 * Package version order (dpkg's and rpm's agree on the cases that matter here): epoch first,
 * then runs of digits compared as numbers and runs of other characters compared as text, with
 * `~` before anything (1.0~rc1 < 1.0).
 */
export function compareVersions(x: string, y: string): number {
  const epoch = (v: string) => {
    const m = /^(\d+):/.exec(v);
    return m ? Number(m[1]) : 0;
  };
  if (epoch(x) !== epoch(y)) return epoch(x) - epoch(y);
  const a = withoutEpoch(x).match(/~|\d+|[^\d~]+/g) ?? [];
  const b = withoutEpoch(y).match(/~|\d+|[^\d~]+/g) ?? [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const p = a[i];
    const q = b[i];
    if (p === q) continue;
    if (p === '~') return -1;
    if (q === '~') return 1;
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const pn = /^\d/.test(p);
    const qn = /^\d/.test(q);
    if (pn && qn) {
      const d = Number(p) - Number(q);
      if (d !== 0) return d;
    } else if (pn !== qn) {
      return pn ? 1 : -1;
    } else {
      return p < q ? -1 : 1;
    }
  }
  return 0;
}
