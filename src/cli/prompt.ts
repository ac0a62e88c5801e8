/**
 * One answer from stdin, as Go's fmt.Scanln read it for the original's prompts: the first line.
 * Returns null when stdin ends before a line (no terminal, </dev/null, CI).
 */
export function readAnswer(stdin: NodeJS.ReadableStream): Promise<string | null> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (answer: string | null) => {
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.removeListener('error', onEnd);
      stdin.pause();
      resolve(answer);
    };
    const onData = (chunk: Buffer | string) => {
      buf += chunk.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(buf.slice(0, nl).replace(/\r$/, ''));
    };
    const onEnd = () => done(buf === '' ? null : buf);
    try {
      stdin.once('end', onEnd);
      stdin.once('error', onEnd);
      stdin.on('data', onData);
      stdin.resume();
    } catch {
      // Bun (the single-file executable) throws here for a stdin it cannot read, a directory,
      // where Node's stream emits the error: either way there is no answer.
      done(null);
    }
  });
}

/** Yes iff the answer's first word starts with y or Y. */
export function isYes(answer: string | null): boolean {
  if (answer === null) return false;
  return /^y/i.test(answer.trim());
}
