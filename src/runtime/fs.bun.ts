import type { NodeFs } from './fs.js';

/**
 * fs.ts for the single-file executable, put in its place by scripts/build-standalone.mjs. The
 * same functions without loading Bun's node:fs (about 1 ms); anything that does not go as
 * expected is done again by node:fs, so that failures carry node:fs's codes and messages in
 * both builds.
 */

interface BunFile {
  readonly size: number;
}

interface BunRuntime {
  mmap(path: string, opts?: { shared?: boolean }): Uint8Array;
  file(path: string | number): BunFile;
  write(to: BunFile, data: Uint8Array): Promise<number>;
  peek(p: Promise<unknown>): unknown;
  stdout: BunFile;
  stderr: BunFile;
}

declare const Bun: BunRuntime;

export type { NodeFs };

let loaded: NodeFs | undefined;

export function nodeFs(): NodeFs {
  loaded ??= process.getBuiltinModule('node:fs');
  return loaded;
}

export function readFileSync(path: string): Buffer;
export function readFileSync(path: string, encoding: 'utf8'): string;
export function readFileSync(path: string, encoding?: 'utf8'): Buffer | string {
  // Once node:fs is there, its reads are cheaper than a mapping each (ls reads a hundred files:
  // 8 against 17 µs a file).
  if (loaded) return encoding === undefined ? loaded.readFileSync(path) : loaded.readFileSync(path, encoding);
  let data: Buffer | undefined;
  try {
    // Copied out at once: the mapping is private, but a file cut short under it would fault on
    // a later read. The store replaces its files by rename, which leaves a mapped file whole.
    data = Buffer.from(Bun.mmap(path, { shared: false }));
  } catch {
    // Not there, a folder, an empty file (which cannot be mapped), no permission: node:fs reads
    // it, or says why it cannot in its own words.
    const fs = nodeFs();
    return encoding === undefined ? fs.readFileSync(path) : fs.readFileSync(path, encoding);
  }
  return encoding === undefined ? data : data.toString('utf8');
}

export function hasContent(path: string): boolean {
  // Bun stats the path for size, following links; 0 when it cannot (missing, no permission).
  try {
    return Bun.file(path).size > 0;
  } catch {
    return false;
  }
}

/**
 * The most Bun.write is given at once: POSIX's PIPE_BUF, which a pipe takes whole or not at all.
 * To a non-blocking pipe that fills, Bun 1.4.5 writes again from the start of a buffer it had
 * written in part (150,000 bytes arrived as 215,536); a buffer no larger than this is never
 * written in part.
 */
const MAX_WRITE = process.platform === 'darwin' ? 512 : 4096;

export function writeFd(fd: number, buf: Uint8Array, off: number): number | Promise<number> {
  const to = fd === 1 ? Bun.stdout : fd === 2 ? Bun.stderr : Bun.file(fd);
  const chunk = buf.subarray(off, Math.min(buf.length, off + MAX_WRITE));
  const p = Bun.write(to, chunk);
  // To a pipe with room or a terminal, Bun writes at once and the promise is settled when it
  // returns; to a file it writes on another thread, and to a full pipe once there is room: the
  // caller orders what follows after the promise.
  const v = Bun.peek(p);
  if (typeof v === 'number') return chunk.length;
  if (v === p) return p.then(() => chunk.length);
  p.catch(() => {});
  throw v;
}
