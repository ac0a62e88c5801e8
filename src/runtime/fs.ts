import * as fs from 'node:fs';

/**
 * The file operations a light command makes when all goes well, and node:fs for everything else.
 * Under Node this is node:fs itself, which Node has loaded before any of our code runs. The
 * single-file executable's build puts fs.bun.ts in this module's place
 * (scripts/build-standalone.mjs): loading Bun's node:fs costs about 1 ms, a fifteenth of `env`,
 * so there a light command that goes well never loads it.
 *
 * Only modules on the light commands' path import this one; the others import node:fs.
 */

export type NodeFs = typeof fs;

/** node:fs, for every operation this module does not offer. */
export function nodeFs(): NodeFs {
  return fs;
}

/** A whole file; fails as node:fs's readFileSync fails (the same codes and messages). */
export function readFileSync(path: string): Buffer;
export function readFileSync(path: string, encoding: 'utf8'): string;
export function readFileSync(path: string, encoding?: 'utf8'): Buffer | string {
  return encoding === undefined ? fs.readFileSync(path) : fs.readFileSync(path, encoding);
}

/** Whether path names something of more than 0 bytes; false when it cannot be stat'ed. */
export function hasContent(path: string): boolean {
  try {
    return (fs.statSync(path, { throwIfNoEntry: false })?.size ?? 0) > 0;
  } catch {
    return false;
  }
}

/**
 * Writes `buf` from `off` to a file descriptor: how many bytes went (maybe fewer than asked), or,
 * where the runtime finishes a write later, a promise of that count. Throws the system's error
 * (EAGAIN, EPIPE) as writeSync does.
 */
export function writeFd(fd: number, buf: Uint8Array, off: number): number | Promise<number> {
  return fs.writeSync(fd, buf, off, buf.length - off);
}
