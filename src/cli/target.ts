import { MachineError } from '../errors.js';
import type { CommandContext } from './command.js';
import { queriesFor } from './queries.js';

/**
 * The machine a command acts on when it takes one name: the first argument, else the machine
 * called "default" when it exists (the original's rule).
 */
export async function targetName(ctx: CommandContext): Promise<string> {
  if (ctx.args.length > 0) return ctx.args[0];
  if (await queriesFor(ctx).exists('default')) return 'default';
  throw new MachineError('Error: No machine name(s) specified and no "default" machine exists');
}

/** Commands that take at most one machine name. */
export function atMostOneName(ctx: CommandContext): void {
  if (ctx.args.length > 1) throw new MachineError('Error: Expected one machine name as an argument');
}

/** The names a multi-machine command (ip, start, stop, ...) acts on. */
export async function targetNames(ctx: CommandContext): Promise<string[]> {
  if (ctx.args.length > 0) return ctx.args;
  return [await targetName(ctx)];
}
