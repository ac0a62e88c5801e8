import { writeSync } from 'node:fs';

/**
 * stdout and stderr written with writeSync on their file descriptors: touching process.stdout
 * loads Node's whole stream stack (~10 ms), more than a light command may take. A pipe set to
 * non-blocking mode by the reader can refuse a write (EAGAIN); from then on the stream takes over,
 * so that nothing is lost and the order is kept.
 *
 * A reader that has gone (`| head -1`: EPIPE) makes every later write a no-op: the command
 * finishes its work, since stopping half-way through a create would leave a half-made machine.
 */
export interface FdWriter {
  write(s: string | Uint8Array): void;
  /** Resolves when everything written has left the process, or cannot. */
  flush(): Promise<void>;
}

export function fdWriter(fd: number, stream: () => NodeJS.WriteStream): FdWriter {
  let fallback: NodeJS.WriteStream | undefined;
  let gone = false;
  const isGone = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code === 'EPIPE';
  return {
    write(s: string | Uint8Array) {
      if (gone) return;
      if (fallback) {
        fallback.write(s);
        return;
      }
      const buf = typeof s === 'string' ? Buffer.from(s) : s;
      let off = 0;
      try {
        while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      } catch (err) {
        if (isGone(err)) {
          gone = true;
          return;
        }
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        const s = stream();
        fallback = s;
        // The stream reports a gone reader as an 'error' event, which unheard would end the process.
        s.on('error', (e) => {
          if (!isGone(e)) throw e;
          gone = true;
        });
        s.write(buf.subarray(off));
      }
    },
    flush() {
      const s = fallback;
      if (!s || gone || s.writableLength === 0) return Promise.resolve();
      // A stream that fails (the reader went) closes instead of draining.
      return new Promise((r) => {
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
