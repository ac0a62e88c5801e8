import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, MachineError } from '../errors.js';
import type { ApiContext } from './context.js';
import { dropMachineContext } from './docker-context.js';
import { driverContext, loadMachine } from './machine.js';

export interface RemoveResult {
  /** The local folder was removed. */
  removed: boolean;
  /** Why the driver could not remove the machine (the folder is kept unless forced). */
  driverError?: string;
}

/**
 * Remove the machine's resources through its driver, then its folder. With force the folder goes
 * even when the driver fails or the config cannot be read, so a broken machine can always be
 * cleaned up.
 */
export async function removeMachine(ctx: ApiContext, name: string, force: boolean): Promise<RemoveResult> {
  const log = (message: string) => ctx.events({ kind: 'info', message });
  return ctx.store.withLock(
    name,
    async () => {
      // A folder without config.json is a create killed before its first save (a running create
      // holds this lock), and create saves before the driver makes anything: there is nothing but
      // the folder to remove. (lstat: a config.json that is there but unreadable, even a symlink
      // loop, is a broken config, which only -f removes.)
      const config = join(ctx.store.machineDir(name), 'config.json');
      if ((await ctx.store.exists(name)) && !lstatSync(config, { throwIfNoEntry: false })) {
        await ctx.store.remove(name);
        await dropMachineContext(ctx, name);
        return { removed: true };
      }
      let driverError: string | undefined;
      try {
        const m = await loadMachine(ctx.store, name);
        if (m.config.HostOptions.SwarmOptions.Role) {
          const { leaveCluster } = await import('./swarm-remove.js');
          await leaveCluster(ctx, m, force);
        }
        await m.driver.remove(driverContext(ctx.store, m, ctx.events));
      } catch (err) {
        driverError = errorMessage(err);
      }
      if (driverError !== undefined && !force) return { removed: false, driverError };
      if (!(await ctx.store.exists(name))) {
        if (driverError === undefined) throw new MachineError(`Can't remove "${name}"`);
        return { removed: false, driverError };
      }
      await ctx.store.remove(name);
      await dropMachineContext(ctx, name);
      return { removed: true, driverError };
    },
    { doing: `removing machine ${name}`, log },
  );
}
