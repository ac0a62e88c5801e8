import { ToolExitError } from '../api/errors.js';
import { MachineError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { flagBool } from '../flags/def.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';

export const flags: FlagDef[] = [
  { name: 'unmount', short: 'u', kind: 'bool', usage: 'Unmount instead of mount' },
];

const EXAMPLES: [string, string][] = [
  ['docker-machine mount dev:/home/docker/app ./app', 'needs sshfs (apt-get install sshfs)'],
  ['docker-machine mount dev:/srv', 'on the local /srv (the same path)'],
  ['docker-machine mount -u dev:/home/docker/app ./app', 'unmount (fusermount -u)'],
];

export async function helpFooter(): Promise<string> {
  return `\nExamples:\n${EXAMPLES.map(([cmd, what]) => `   ${cmd.padEnd(52)}${what}\n`).join('')}`;
}

/** `mount [[user@]machine:][path] [mountpoint]`, or with -u the matching unmount. */
export async function run(ctx: CommandContext): Promise<void> {
  if (ctx.args.length < 1 || ctx.args.length > 2) {
    ctx.showHelp();
    throw new MachineError('Improper number of arguments');
  }
  const api = apiFor(ctx);
  const req = { source: ctx.args[0], mountpoint: ctx.args[1] };
  try {
    await (flagBool(ctx.flags, 'unmount') ? api.unmount(req) : api.mount(req));
  } catch (err) {
    // sshfs or fusermount said what went wrong on stderr already.
    if (err instanceof ToolExitError) throw new MachineError('', { exitCode: err.status });
    throw err;
  }
}
