import { writeSync } from 'node:fs';

/**
 * stdout and stderr written with writeSync on their file descriptors: touching process.stdout
 * loads Node's whole stream stack (~10 ms), more than a light command may take. A pipe set to
 * non-blocking mode by the reader can refuse a write (EAGAIN); from then on the stream takes over,
 * so that nothing is lost and the order is kept.
 */
export interface FdWriter {
  write(s: string): void;
  /** Resolves when everything written has left the process. */
  flush(): Promise<void>;
}

export function fdWriter(fd: number, stream: () => NodeJS.WriteStream): FdWriter {
  let fallback: NodeJS.WriteStream | undefined;
  return {
    write(s: string) {
      if (fallback) {
        fallback.write(s);
        return;
      }
      const buf = Buffer.from(s);
      let off = 0;
      try {
        while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        fallback = stream();
        fallback.write(buf.subarray(off));
      }
    },
    flush() {
      const s = fallback;
      if (!s || s.writableLength === 0) return Promise.resolve();
      return new Promise((r) => s.once('drain', () => r()));
    },
  };
}
