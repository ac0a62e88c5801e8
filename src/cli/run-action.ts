import type { MachineAPI } from '../api/index.js';
import type { Machine } from '../api/machine.js';
import { errorMessage, MachineError } from '../errors.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';
import { targetNames } from './target.js';

/**
 * The original's runAction (spec §1.6): every named machine (or "default") is loaded first, and
 * nothing runs if one cannot be; then the action runs on all of them at once, and every failure
 * is reported.
 */
export async function runAction(
  ctx: CommandContext,
  action: (api: MachineAPI, m: Machine) => Promise<void>,
): Promise<void> {
  const api = apiFor(ctx);
  const names = await targetNames(ctx);
  const loaded = await Promise.allSettled(names.map((n) => api.load(n)));
  const loadErrors = loaded.flatMap((r) => (r.status === 'rejected' ? [errorMessage(r.reason)] : []));
  if (loadErrors.length > 0) throw new MachineError(loadErrors.join('\n'));
  const machines = loaded.map((r) => (r as PromiseFulfilledResult<Machine>).value);
  const results = await Promise.allSettled(
    machines.map((m) =>
      api.store.withLock(m.name, () => action(api, m), {
        doing: `running ${ctx.name} on machine ${m.name}`,
        log: (line) => ctx.out.info(line),
      }),
    ),
  );
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [errorMessage(r.reason)] : []));
  if (errors.length > 0) throw new MachineError(errors.join('\n'));
}
