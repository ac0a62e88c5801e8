import { writeFd } from '../runtime/fs.js';

/**
 * stdout and stderr written straight to their file descriptors: touching process.stdout loads
 * Node's whole stream stack (~10 ms), more than a light command may take. A pipe set to
 * non-blocking mode by the reader can refuse a write (EAGAIN); from then on the stream takes over,
 * so that nothing is lost and the order is kept.
 *
 * In the executable, Bun writes to a regular file on another thread, and to a full non-blocking
 * pipe once the reader has made room (src/runtime/fs.bun.ts): a write that is not done when it
 * returns holds back every later one, of either descriptor, until it is done, since `> out 2>&1`
 * makes both one file. Under Node every write is done when it returns, or falls to the stream.
 *
 * A reader that has gone (`| head -1`: EPIPE) makes every later write a no-op: the command
 * finishes its work, since stopping half-way through a create would leave a half-made machine.
 */
export interface FdWriter {
  write(s: string | Uint8Array): void;
  /** Resolves when everything written has left the process, or cannot; rejects on a write error. */
  flush(): Promise<void>;
}

/** Writes not yet done, of every writer in the process, in the order they were asked for. */
let later: Promise<void> | undefined;

export function fdWriter(fd: number, stream: () => NodeJS.WriteStream): FdWriter {
  let fallback: NodeJS.WriteStream | undefined;
  let gone = false;
  let failed: unknown;
  const isGone = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code === 'EPIPE';

  /** From `off` on; a promise when the runtime finishes the write later. */
  const writeFrom = (buf: Uint8Array, off: number): Promise<void> | undefined => {
    try {
      while (off < buf.length) {
        const n = writeFd(fd, buf, off);
        if (typeof n !== 'number') {
          const from = off;
          return n.then(
            (wrote) => writeFrom(buf, from + wrote),
            (err) => lost(err, buf, buf.length),
          );
        }
        off += n;
      }
    } catch (err) {
      lost(err, buf, off);
    }
    return undefined;
  };

  const lost = (err: unknown, buf: Uint8Array, off: number) => {
    if (isGone(err)) {
      gone = true;
      return;
    }
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || later) {
      // Thrown where the write was asked for; a write finished later reports it at flush.
      if (later) failed ??= err;
      else throw err;
      return;
    }
    const s = stream();
    fallback = s;
    // The stream reports a gone reader as an 'error' event, which unheard would end the process.
    s.on('error', (e) => {
      if (!isGone(e)) throw e;
      gone = true;
    });
    s.write(buf.subarray(off));
  };

  return {
    write(s: string | Uint8Array) {
      if (gone) return;
      if (fallback) {
        fallback.write(s);
        return;
      }
      const buf = typeof s === 'string' ? Buffer.from(s) : s;
      const pending = later ? later.then(() => (gone ? undefined : writeFrom(buf, 0))) : writeFrom(buf, 0);
      if (pending) {
        later = pending;
        void pending.then(() => {
          if (later === pending) later = undefined;
        });
      }
    },
    async flush() {
      while (later) await later;
      if (failed !== undefined) throw failed;
      const s = fallback;
      if (!s || gone || s.writableLength === 0) return;
      // A stream that fails (the reader went) closes instead of draining.
      await new Promise<void>((r) => {
        const done = () => {
          s.off('drain', done);
          s.off('close', done);
          r();
        };
        s.once('drain', done);
        s.once('close', done);
      });
    },
  };
}
