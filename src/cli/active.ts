import { parseFilters } from '../api/list-filter.js';
import { MachineError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { flagInt } from '../flags/def.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';

export const flags: FlagDef[] = [
  { name: 'timeout', short: 't', kind: 'int', default: 10, usage: 'Timeout in seconds, default to 10s' },
];

/** The first machine (by name) that $DOCKER_HOST points at. */
export async function run(ctx: CommandContext): Promise<void> {
  if (ctx.args.length > 0) throw new MachineError('Error: Too many arguments given');
  const dockerHost = ctx.env.DOCKER_HOST ?? '';
  if (dockerHost === '') throw new MachineError('No active host found');
  const rows = await apiFor(ctx).list({
    filters: parseFilters([]),
    timeoutMs: flagInt(ctx.flags, 'timeout') * 1000,
    dockerHost,
    // Which machine is active depends on URLs only; asking every engine its version is not needed.
    queryEngine: false,
  });
  const active = rows.find((r) => r.ActiveHost || r.ActiveSwarm);
  if (active) {
    ctx.out.write(`${active.Name}\n`);
    return;
  }
  if (rows.some((r) => r.State === 'Timeout')) throw new MachineError('Error getting active host: timeout');
  throw new MachineError('No active host found');
}
