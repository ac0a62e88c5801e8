import { MachineError } from '../../errors.js';
import { str } from '../base.js';
import type { DriverContext } from '../driver.js';
import { TASK_TIMEOUT_MS, type VSphereMachine } from './machine.js';
import { moRef } from './soap/client.js';
import type { MoRef } from './soap/envelope.js';
import { cloneArgs, cloneReconfig } from './spec.js';
import { type CreateInput, devices, reconfigure, recordVM } from './vm.js';

/**
 * Creation types template and vm: a clone of the source pre-create found, carrying the machine's
 * guestinfo, then sized (CPUs, memory, a larger disk) and given the networks asked for.
 */
export async function createByClone(m: VSphereMachine, ctx: DriverContext, o: CreateInput): Promise<MoRef> {
  const { c, ledger } = o;
  const r = m.resolved;
  if (!r.source) throw new MachineError(`machine "${m.name}" has no clone source`);
  ctx.log(`Cloning ${str(m.json, 'CloneFrom')}...`);
  const entry = await ledger.intend('vm', { by: 'path', value: o.path }, `VM ${m.name}`);
  const result = await c.runTask(
    'CloneVM_Task',
    r.source,
    cloneArgs({
      folder: r.folder,
      name: m.name,
      datastore: r.datastore,
      pool: r.pool,
      host: r.host,
      extra: o.extra,
    }),
    `cloning ${str(m.json, 'CloneFrom')} to ${m.name}`,
    TASK_TIMEOUT_MS,
    ctx.signal,
  );
  const vm = await recordVM(m, ctx, ledger, entry, moRef(result), 'CloneVM_Task');
  await reconfigure(
    c,
    vm,
    cloneReconfig({ ...o.hw, devices: await devices(c, vm), networks: r.networks }),
    `sizing ${m.label()}`,
    ctx.signal,
  );
  return vm;
}
