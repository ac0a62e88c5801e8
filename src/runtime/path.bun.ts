/**
 * path.ts for the single-file executable (scripts/build-standalone.mjs): node:path's POSIX
 * join, resolve and basename, for the executables' systems (Linux and macOS), without loading
 * Bun's node:path. path.bun.test.ts holds them to node:path.posix.
 */

export const sep = '/';

/** The segments of `path` with `.` and empty ones gone and each `..` taken against the one before. */
function segments(path: string, keepLeadingUp: boolean): string[] {
  const out: string[] = [];
  for (const s of path.split('/')) {
    if (s === '' || s === '.') continue;
    if (s !== '..') out.push(s);
    else if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (keepLeadingUp) out.push('..');
  }
  return out;
}

function normalize(path: string): string {
  const absolute = path.startsWith('/');
  let s = segments(path, !absolute).join('/');
  if (s === '' && !absolute) s = '.';
  if (s !== '' && path.endsWith('/')) s += '/';
  return absolute ? `/${s}` : s;
}

export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p.length > 0).join('/');
  return joined === '' ? '.' : normalize(joined);
}

export function resolve(...parts: string[]): string {
  let path = '';
  for (let i = parts.length - 1; i >= -1 && !path.startsWith('/'); i--) {
    const p = i >= 0 ? parts[i] : process.cwd();
    if (p.length > 0) path = path === '' ? p : `${p}/${path}`;
  }
  return `/${segments(path, false).join('/')}`;
}

/** The last segment, trailing slashes ignored (no suffix argument: nothing here uses one). */
export function basename(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === '/') end--;
  return path.slice(path.lastIndexOf('/', end - 1) + 1, end);
}
