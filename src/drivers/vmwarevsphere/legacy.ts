import { join } from 'node:path';
import { MachineError } from '../../errors.js';
import { str } from '../base.js';
import type { DriverContext } from '../driver.js';
import { TASK_TIMEOUT_MS, type VSphereMachine } from './machine.js';
import { moRef } from './soap/client.js';
import { type MoRef, ref, val } from './soap/envelope.js';
import { cdromAdd, newVMConfig, reconfigSpec } from './spec.js';
import { type CreateInput, devices, reconfigure, recordVM } from './vm.js';

/**
 * Creation type legacy: a new VM booting the ISO the user gives (boot2docker is gone), with a
 * NoCloud seed ISO for cloud-init, both uploaded to a folder of the machine's own on the datastore
 * (recorded: rm deletes it).
 */
export async function createFromISO(m: VSphereMachine, ctx: DriverContext, o: CreateInput): Promise<MoRef> {
  const { c, ledger } = o;
  const r = m.resolved;
  const { dir, boot, seed } = await uploadISOs(m, ctx, o);
  const entry = await ledger.intend('vm', { by: 'path', value: o.path }, `VM ${m.name}`);
  const result = await c.runTask(
    'CreateVM_Task',
    r.folder,
    newVMConfig({
      name: m.name,
      guestId: guestId(str(m.json, 'OS')),
      datastoreName: r.datastoreName,
      ...o.hw,
      networks: r.networks,
      extra: o.extra,
    }) +
      ref('pool', r.pool) +
      ref('host', r.host),
    `creating VM ${m.name}`,
    TASK_TIMEOUT_MS,
    ctx.signal,
  );
  const vm = await recordVM(m, ctx, ledger, entry, moRef(result), 'CreateVM_Task');
  const ide = (await devices(c, vm)).filter((d) => d.type === 'VirtualIDEController').map((d) => d.key);
  if (!ide.length) throw new MachineError(`VM ${m.name} has no IDE controller for its CD-ROMs`);
  await reconfigure(
    c,
    vm,
    reconfigSpec([
      cdromAdd(-300, ide[0], 0, `[${r.datastoreName}] ${dir}/${boot}`, r.datastore),
      cdromAdd(-301, ide[1] ?? ide[0], ide[1] ? 0 : 1, `[${r.datastoreName}] ${dir}/${seed}`, r.datastore),
    ]),
    `adding the CD-ROMs to ${m.label()}`,
    ctx.signal,
  );
  return vm;
}

/** The legacy path's folder on the datastore with the boot ISO and the NoCloud seed. */
async function uploadISOs(
  m: VSphereMachine,
  ctx: DriverContext,
  o: CreateInput,
): Promise<{ dir: string; boot: string; seed: string }> {
  const { c, ledger } = o;
  const r = m.resolved;
  const dir = `docker-machine-${m.name}-${str(m.json, 'MachineID')}`;
  const dsPath = `[${r.datastoreName}] ${dir}`;
  const entry = await ledger.intend(
    'datastore_dir',
    { by: 'path', value: dsPath },
    `datastore folder ${dsPath}`,
  );
  await c.call(
    'MakeDirectory',
    c.content.fileManager,
    val('name', dsPath) + ref('datacenter', r.datacenter) + val('createParentDirectories', true),
  );
  await ledger.made(entry, dsPath);
  const machineDir = join(str(m.json, 'StorePath'), 'machines', m.name);
  const { bootISO, seedISO } = await import('./iso.js');
  const boot = await bootISO(str(m.json, 'Boot2DockerURL'), machineDir, ctx);
  ctx.log(`Uploading ${boot} to ${dsPath}...`);
  await c.upload(boot, r.dcPath, r.datastoreName, `${dir}/boot.iso`);
  const seed = await seedISO(machineDir, {
    hostname: m.name,
    user: str(m.json, 'SSHUser') || 'docker',
    publicKey: o.publicKey,
    instanceId: `docker-machine-${m.name}-${str(m.json, 'MachineID')}`,
  });
  await c.upload(seed, r.dcPath, r.datastoreName, `${dir}/seed.iso`);
  return { dir, boot: 'boot.iso', seed: 'seed.iso' };
}

/** --vmwarevsphere-os: "linux" (the original's otherLinux64Guest) or a guest id as vSphere names them. */
export function guestId(os: string): string {
  if (!os || os === 'linux') return 'otherLinux64Guest';
  return os;
}
