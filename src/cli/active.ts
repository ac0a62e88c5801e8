import { MachineError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { flagInt } from '../flags/def.js';
import type { CommandContext } from './command.js';
import { queriesFor } from './queries.js';

export const flags: FlagDef[] = [
  { name: 'timeout', short: 't', kind: 'int', default: 10, usage: 'Timeout in seconds, default to 10s' },
];

/**
 * The first machine (by name) that $DOCKER_HOST points at. Which one that is depends on URLs only:
 * no engine is asked its version.
 */
export async function run(ctx: CommandContext): Promise<void> {
  if (ctx.args.length > 0) throw new MachineError('Error: Too many arguments given');
  // Even with DOCKER_HOST unset every machine is asked, as the original did: one that does not
  // answer in time may be the active one, which "No active host found" would deny.
  const dockerHost = ctx.env.DOCKER_HOST ?? '';
  const { name, timedOut } = await queriesFor(ctx).active({
    dockerHost,
    timeoutMs: flagInt(ctx.flags, 'timeout') * 1000,
  });
  if (name !== undefined) {
    ctx.out.write(`${name}\n`);
    return;
  }
  if (timedOut) throw new MachineError('Error getting active host: timeout');
  throw new MachineError('No active host found');
}
