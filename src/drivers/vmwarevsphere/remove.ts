import type { DriverJSON } from '../../store/host.js';
import { str } from '../base.js';
import { isGone } from '../cloud/errors.js';
import type { LedgerEntry, ResourceKind } from '../cloud/ledger.js';
import type { DriverContext } from '../driver.js';
import { resolveDatacenter } from './inventory.js';
import { ID_KEY, TASK_TIMEOUT_MS, type VSphereMachine } from './machine.js';
import { destroy } from './power.js';
import { items, type VimClient } from './soap/client.js';
import { type MoRef, ref, val } from './soap/envelope.js';
import { childText } from './soap/xml.js';

/** What rm deletes: the VM, the legacy path's datastore folder, and what a machine of the original made. */

export function resourceKinds(m: VSphereMachine, ctx: DriverContext): Record<string, ResourceKind> {
  const machineId = str(m.json, 'MachineID');
  const deleteFile = (c: VimClient, path: string, datacenter: MoRef) =>
    c.runTask(
      'DeleteDatastoreFile_Task',
      c.content.fileManager,
      val('name', path) + ref('datacenter', datacenter),
      `deleting ${path}`,
      TASK_TIMEOUT_MS,
    );
  return {
    vm: {
      lookup: async (f) =>
        m.session(ctx, async (c) => {
          let found: MoRef | undefined;
          if (f.by === 'original') {
            const dc = await resolveDatacenter(c, str(m.json, 'Datacenter'));
            const folder = str(m.json, 'Folder').replace(/^\/+|\/+$/g, '');
            found = await c.findByInventoryPath(`${dc.path}/vm/${folder ? `${folder}/` : ''}${f.value}`);
          } else found = await c.findByInventoryPath(f.value);
          if (found?.type !== 'VirtualMachine') return [];
          // Only a VM this machine made: a same-named one made by someone else stays.
          if (machineId && f.by !== 'deployed-path') {
            const p = await c.props(found, ['config.extraConfig']);
            const mine = items(p['config.extraConfig']).some(
              (o) => childText(o, 'key') === ID_KEY && childText(o, 'value') === machineId,
            );
            if (!mine) return [];
          }
          return [found.value];
        }),
      delete: (id) => m.session(ctx, (c) => destroy(m, ctx, c, { type: 'VirtualMachine', value: id })),
      byHand: (id) => `govc vm.destroy -vm.ref VirtualMachine:${id}`,
    },
    datastore_dir: {
      lookup: async (f) => [f.value],
      delete: (path) =>
        m.session(ctx, async (c) => {
          await deleteFile(c, path, m.resolved.datacenter);
        }),
      byHand: (path) => `govc datastore.rm '${path}'`,
    },
    original_iso: {
      lookup: async (f) => [f.value],
      // The original's ISO: gone already, or going with the VM's folder, is fine.
      delete: (path) =>
        m.session(ctx, async (c) => {
          const dc = await resolveDatacenter(c, str(m.json, 'Datacenter'));
          await deleteFile(c, path, dc.ref).catch((err) => {
            if (!isGone(err)) throw err;
          });
        }),
      byHand: (path) => `govc datastore.rm '${path}'`,
    },
  };
}

/** A machine of the original has no ledger: its VM (found by its name) and its ISO are what rm removes. */
export function originalLedger(json: DriverJSON): LedgerEntry[] {
  const name = str(json, 'MachineName');
  const ds = str(json, 'Datastore');
  return [
    ...(ds
      ? [
          {
            kind: 'original_iso',
            id: '',
            find: { by: 'path', value: `[${ds}] ${name}/boot2docker.iso` },
            label: `boot2docker.iso of ${name}`,
          },
        ]
      : []),
    { kind: 'vm', id: '', find: { by: 'original', value: name }, label: `VM ${name}` },
  ];
}
