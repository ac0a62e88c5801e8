import type { ApiContext } from './context.js';
import { engineVersion } from './engine.js';
import { type Machine, saveMachine } from './machine.js';
import { type ProvisionOptions, withProvisioner } from './provision.js';

/**
 * `upgrade` (spec §2.20): start the machine when it is not running, then a newer engine from
 * where create got it (the package that owns dockerd, the install script, or the pinned
 * version), a restart that keeps containers running (live-restore), and a wait for the API.
 */
export async function upgradeMachine(ctx: ApiContext, m: Machine, opts: ProvisionOptions): Promise<void> {
  if ((await m.driver.getState(opts.signal)) !== 'Running') {
    ctx.events({ kind: 'info', message: 'Starting machine so machine can be upgraded...' });
    const { startMachine } = await import('./lifecycle.js');
    await startMachine(ctx, m, opts);
  }
  await withProvisioner(ctx, m, opts, 'upgrade', async (p, pctx) => {
    // As the original: an engine that does not answer is reported before anything changes.
    await engineVersion(m, opts.signal);
    await p.upgrade(pctx);
  });
  await saveMachine(ctx.store, m);
}
