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
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onEnd);
    stdin.resume();
  });
}

/** Yes iff the answer's first word starts with y or Y. */
export function isYes(answer: string | null): boolean {
  if (answer === null) return false;
  return /^y/i.test(answer.trim());
}
