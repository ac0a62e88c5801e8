import { MachineError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { flagBool } from '../flags/def.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';
import { jsonFlag } from './json-flag.js';
import { isYes, readAnswer } from './prompt.js';

export const flags: FlagDef[] = [
  {
    name: 'force',
    short: 'f',
    kind: 'bool',
    usage:
      'Remove local configuration even if machine cannot be removed, also implies an automatic yes (`-y`)',
  },
  {
    name: 'y',
    kind: 'bool',
    usage: 'Assumes automatic yes to proceed with remove, without prompting further user confirmation',
  },
  jsonFlag,
];

export async function run(ctx: CommandContext): Promise<void> {
  if (ctx.args.length === 0) {
    ctx.showHelp();
    throw new MachineError('Error: Expected to get one or more machine names as arguments');
  }
  const force = flagBool(ctx.flags, 'force');
  ctx.out.info(`About to remove ${ctx.args.join(', ')}`);
  ctx.out.info('WARNING: This action will delete both local reference and remote instance.');
  if (!force && !flagBool(ctx.flags, 'y')) {
    ctx.out.prompt('Are you sure? (y/n): ');
    const answer = await readAnswer(ctx.stdin);
    if (answer === null) {
      // The original took no answer for a no and exited 0 silently: a script without -y then
      // believed the machine gone.
      ctx.out.prompt('\n');
      throw new MachineError(
        'Error: rm needs a confirmation and stdin gave no answer: answer y at the prompt, or use -y to remove without one',
      );
    }
    // Anything but yes: nothing is removed, as in the original.
    if (!isYes(answer)) return;
  }

  const api = apiFor(ctx);
  const errors: string[] = [];
  for (const name of ctx.args) {
    const r = await api.remove(name, { force }).catch((err: unknown) => {
      if (err instanceof MachineError) return { removed: false, driverError: undefined, error: err.message };
      throw err;
    });
    const lines: string[] = [];
    if (r.driverError !== undefined) lines.push(`Error removing host "${name}": ${r.driverError}`);
    if ('error' in r && r.error) lines.push(r.error);
    if (force && !r.removed) lines.push(`Can't remove "${name}"`);
    if (force) {
      for (const l of lines) ctx.out.error(l);
    } else {
      errors.push(...lines);
    }
    if (r.removed) ctx.out.info(`Successfully removed ${name}`);
  }
  if (errors.length > 0) throw new MachineError(errors.join('\n'));
}
