import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSSHEngine } from '../engine/endpoint.js';
import { errorMessage } from '../errors.js';
import {
  addStoreBlock,
  MACHINE_SSH_CONFIG,
  machineSSHConfig,
  removeStoreBlock,
  storeHasSSHEngines,
  userSSHConfigPath,
} from '../ssh/user-config.js';
import { writeFileAtomic } from '../store/atomic.js';
import type { ApiContext } from './context.js';
import type { Machine } from './machine.js';
import { sshTarget } from './ssh-target.js';

/**
 * Give the docker CLI's ssh what it needs for an SSH-only machine (see ssh/user-config.ts): the
 * machine's ssh_config entry, rewritten when its address changes, and the store's Include in the
 * user's ssh config. Warns, never fails: `docker-machine ssh` and our own commands do not need it.
 */
export async function syncSSHEngineAccess(ctx: ApiContext, m: Machine): Promise<void> {
  if (!isSSHEngine(m.config)) return;
  try {
    const entry = machineSSHConfig(m.name, await sshTarget(m));
    const path = join(m.config.HostOptions.AuthOptions.StorePath, MACHINE_SSH_CONFIG);
    if ((await readFile(path, 'utf8').catch(() => '')) !== entry) await writeFileAtomic(path, entry, 0o600);
    const user = userSSHConfigPath(ctx.env);
    const changed = user ? await addStoreBlock(user, ctx.store.root) : undefined;
    if (changed === 'added') {
      ctx.events({
        kind: 'info',
        message: `Added an Include of this store's SSH engine entries at the top of ${user}, so that docker's ssh finds each machine's key and host key (removed with the store's last SSH-only machine; MACHINE_SSH_USER_CONFIG=off leaves the file alone)`,
      });
    } else if (changed === 'rewritten') {
      ctx.events({
        kind: 'info',
        message: `Rewrote this store's Include in ${user} in the form current ssh reads`,
      });
    }
  } catch (err) {
    ctx.events({
      kind: 'warn',
      message: `Warning: the ssh config entry of "${m.name}" was not written (${errorMessage(err)}): docker cannot reach its engine over SSH until it is; see docs/ssh-engines.md`,
    });
  }
}

/** After a machine's folder went: the store's Include goes too when no SSH-only machine is left. */
export async function dropSSHEngineAccess(ctx: ApiContext): Promise<void> {
  const user = userSSHConfigPath(ctx.env);
  if (!user || storeHasSSHEngines(ctx.store.root)) return;
  try {
    if (await removeStoreBlock(user, ctx.store.root))
      ctx.events({ kind: 'info', message: `Removed this store's Include from ${user}` });
  } catch (err) {
    ctx.events({
      kind: 'warn',
      message: `Warning: this store's Include was not removed from ${user}: ${errorMessage(err)}`,
    });
  }
}
