import { ToolExitError } from '../api/errors.js';
import { MachineError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { flagBool } from '../flags/def.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';

export const flags: FlagDef[] = [
  {
    name: 'recursive',
    short: 'r',
    kind: 'bool',
    usage: 'Copy files recursively (required to copy directories)',
  },
  {
    name: 'delta',
    short: 'd',
    kind: 'bool',
    usage: 'Reduce amount of data sent over network by sending only the differences (uses rsync)',
  },
  {
    name: 'quiet',
    short: 'q',
    kind: 'bool',
    usage: 'Disables the progress meter as well as warning and diagnostic messages from ssh',
  },
];

const EXAMPLES: [string, string][] = [
  ['docker-machine scp ./app.tar dev:/tmp/', 'a local file to machine dev'],
  ['docker-machine scp -r dev:/etc/docker ./conf', 'a directory from dev'],
  ['docker-machine scp -d big.img ubuntu@dev:big.img', 'only the differences (rsync on both sides)'],
  ['docker-machine scp dev:/tmp/a ci1:/tmp/a', 'between two machines, through this computer'],
  ['', '(scp -3): the two need not reach each other'],
];

export async function helpFooter(): Promise<string> {
  return `\nExamples:\n${EXAMPLES.map(([cmd, what]) => `   ${cmd.padEnd(50)}${what}\n`).join('')}`;
}

/** `scp SRC DST`: scp's (or rsync's) own messages are the output; its exit status is ours. */
export async function run(ctx: CommandContext): Promise<void> {
  if (ctx.args.length !== 2) {
    ctx.showHelp();
    throw new MachineError('Improper number of arguments');
  }
  try {
    await apiFor(ctx).copy({
      source: ctx.args[0],
      destination: ctx.args[1],
      recursive: flagBool(ctx.flags, 'recursive'),
      delta: flagBool(ctx.flags, 'delta'),
      quiet: flagBool(ctx.flags, 'quiet'),
    });
  } catch (err) {
    // The tool said what went wrong on stderr already.
    if (err instanceof ToolExitError) throw new MachineError('', { exitCode: err.status });
    throw err;
  }
}
