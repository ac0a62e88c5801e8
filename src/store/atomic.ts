import { close, fsync, open, rename, unlink, write } from 'node:fs';
import { promisify } from 'node:util';
import { fsError } from '../errors.js';

const openP = promisify(open);
const writeP = promisify(write);
const fsyncP = promisify(fsync);
const closeP = promisify(close);
const renameP = promisify(rename);
const unlinkP = promisify(unlink);
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
    while (off < buf.length) off += (await writeP(fd, buf, off, buf.length - off)).bytesWritten;
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
