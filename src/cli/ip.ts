import { errorMessage, MachineError } from '../errors.js';
import type { CommandContext } from './command.js';
import { queriesFor } from './queries.js';
import { targetNames } from './target.js';

export const flags = [];

/**
 * One IP per machine, in the order the names were given (the original printed them in the order
 * its parallel queries finished). Any machine that cannot be loaded fails the whole command before
 * anything is printed, as in the original.
 */
export async function run(ctx: CommandContext): Promise<void> {
  const api = queriesFor(ctx);
  const names = await targetNames(ctx);
  const loaded = await Promise.allSettled(names.map((n) => api.load(n)));
  const loadErrors = loaded.flatMap((r) => (r.status === 'rejected' ? [errorMessage(r.reason)] : []));
  if (loadErrors.length > 0) throw new MachineError(loadErrors.join('\n'));
  const machines = loaded.map(
    (r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof api.load>>>).value,
  );
  const ips = await Promise.allSettled(machines.map((m) => m.driver.getIP()));
  const errors: string[] = [];
  for (const r of ips) {
    if (r.status === 'fulfilled') ctx.out.write(`${r.value}\n`);
    else errors.push(`Error getting IP address: ${errorMessage(r.reason)}`);
  }
  if (errors.length > 0) throw new MachineError(errors.join('\n'));
}
