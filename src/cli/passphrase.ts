import { writeSync } from 'node:fs';
import { addSecret } from '../debug.js';
import { MachineError } from '../errors.js';
import type { CommandContext } from './command.js';

export const PASSPHRASE_VAR = 'MACHINE_EXPORT_PASSPHRASE';

/**
 * The passphrase of an export file: $MACHINE_EXPORT_PASSPHRASE when set, else asked on the
 * terminal without echo (twice with `confirm`, so a typo does not lock the file for good).
 * Neither (a script, a pipe into stdin): one line saying how to give it.
 */
export async function passphraseFor(
  ctx: CommandContext,
  o: { confirm: boolean; stdinIsData?: boolean },
): Promise<string> {
  const fromEnv = ctx.env[PASSPHRASE_VAR];
  if (fromEnv !== undefined) {
    if (fromEnv === '')
      throw new MachineError(`Error: ${PASSPHRASE_VAR} is set but empty: set it to the passphrase`);
    return fromEnv;
  }
  const stdin = ctx.stdin as NodeJS.ReadStream;
  if (o.stdinIsData || stdin.isTTY !== true || typeof stdin.setRawMode !== 'function') {
    throw new MachineError(
      `Error: ${ctx.name} needs a passphrase: set ${PASSPHRASE_VAR}${o.stdinIsData ? ' (stdin holds the file)' : ', or run it on a terminal to be asked'}`,
    );
  }
  const first = await readHidden(stdin, 'Passphrase: ');
  if (first === '') throw new MachineError('Error: the passphrase is empty');
  if (o.confirm) {
    const again = await readHidden(stdin, 'Passphrase again: ');
    if (again !== first) throw new MachineError('Error: the two passphrases differ; nothing was written');
  }
  // Never printed; should any line of the debug log ever carry it, it shows as <REDACTED>.
  addSecret(first);
  return first;
}

/** One line from the terminal in raw mode: nothing is echoed, Ctrl-C stops, backspace erases. */
function readHidden(stdin: NodeJS.ReadStream, prompt: string): Promise<string> {
  // Echo off before the prompt shows: what is typed at once after it is never echoed.
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  // The prompt goes to the terminal's stderr: stdout may be the export itself (-o -).
  writeSync(2, prompt);
  return new Promise((resolve, reject) => {
    let typed: string[] = [];
    const finish = (err?: MachineError) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      writeSync(2, '\n');
      if (err) reject(err);
      else resolve(typed.join(''));
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003')
          return finish(new MachineError('Interrupted: nothing was written', { exitCode: 130 }));
        if (ch === '\u0004') {
          if (typed.length === 0)
            return finish(new MachineError('Error: no passphrase given: nothing was written'));
          return finish();
        }
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch === '\u0015') typed = [];
        else if (ch >= ' ') typed.push(ch);
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
