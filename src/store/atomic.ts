import { fsError } from '../errors.js';
import { nodeFs } from '../runtime/fs.js';

// The callback calls behind promises by hand: node:util is one more module every command would
// load at start (1.5 ms under Bun), for these six. node:fs through src/runtime/fs.ts: the
// executable loads it only when something is written.
function settle<T>(resolve: (v: T) => void, reject: (e: unknown) => void) {
  return (err: NodeJS.ErrnoException | null, v: T) => (err ? reject(err) : resolve(v));
}
const openP = (p: string, flags: string, mode: number) =>
  new Promise<number>((res, rej) => nodeFs().open(p, flags, mode, settle(res, rej)));
const writeP = (fd: number, buf: Buffer, off: number, len: number) =>
  new Promise<number>((res, rej) => nodeFs().write(fd, buf, off, len, null, settle(res, rej)));
const fsyncP = (fd: number) =>
  new Promise<void>((res, rej) => nodeFs().fsync(fd, (err) => (err ? rej(err) : res())));
const closeP = (fd: number) =>
  new Promise<void>((res, rej) => nodeFs().close(fd, (err) => (err ? rej(err) : res())));
const renameP = (a: string, b: string) =>
  new Promise<void>((res, rej) => nodeFs().rename(a, b, (err) => (err ? rej(err) : res())));
const unlinkP = (p: string) =>
  new Promise<void>((res, rej) => nodeFs().unlink(p, (err) => (err ? rej(err) : res())));
let counter = 0;

/**
 * Write a file so that a reader sees either the old or the new content, whatever happens: a temp
 * file in the same folder, flushed, then renamed over the target. (The original removed the old
 * file before the rename: a crash between the two lost the machine.)
 */
export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
  try {
    await writeThroughTemp(path, data, mode);
  } catch (err) {
    // Named by the file the caller writes, not by the temporary name Node's error carries.
    throw fsError('writing', path, err);
  }
}

async function writeThroughTemp(path: string, data: string | Buffer, mode: number): Promise<void> {
  // Unique per process and call; no crypto needed (and node:crypto would slow every command's start).
  const tmp = `${path}.tmp${process.pid}-${++counter}-${Date.now().toString(36)}`;
  const fd = await openP(tmp, 'wx', mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += await writeP(fd, buf, off, buf.length - off);
    await fsyncP(fd);
  } catch (err) {
    await closeP(fd).catch(() => {});
    await unlinkP(tmp).catch(() => {});
    throw err;
  }
  await closeP(fd);
  try {
    await renameP(tmp, path);
  } catch (err) {
    await unlinkP(tmp).catch(() => {});
    throw err;
  }
}
