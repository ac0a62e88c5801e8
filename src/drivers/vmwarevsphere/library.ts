import { MachineError } from '../../errors.js';
import { str } from '../base.js';
import type { DriverContext } from '../driver.js';
import type { Placement } from './inventory.js';
import type { VSphereMachine } from './machine.js';
import { password, username } from './session.js';
import { textOf, type VimClient } from './soap/client.js';
import { type MoRef, ref } from './soap/envelope.js';
import { cloneReconfig } from './spec.js';
import { type CreateInput, devices, reconfigure, recordVM } from './vm.js';

/**
 * Creation type library: an item of a content library deployed as a new, powered-off VM through
 * vCenter's Automation REST API; create then gives it guestinfo and sizes it as it does a clone.
 * A VM template item (vm-template) is deployed by /vcenter/vm-template/library-items, an OVF
 * template item by /com/vmware/vcenter/ovf/library-item, each as vSphere's API reference gives.
 */

export interface LibraryItem {
  id: string;
  type: string;
}

/** The library and its item, by name: one line when either is missing. */
export async function findLibraryItem(c: VimClient, library: string, item: string): Promise<LibraryItem> {
  if (!library)
    throw new MachineError('creation type library needs the library: --vmwarevsphere-content-library NAME');
  const libs = await c.rest<string[]>('POST', '/com/vmware/content/library?~action=find', {
    spec: { name: library },
  });
  if (!libs?.length)
    throw new MachineError(`content library ${library} does not exist (--vmwarevsphere-content-library)`);
  const items = await c.rest<string[]>('POST', '/com/vmware/content/library/item?~action=find', {
    spec: { library_id: libs[0], name: item },
  });
  if (!items?.length)
    throw new MachineError(`content library ${library} has no item ${item} (--vmwarevsphere-clone-from)`);
  const info = await c.rest<{ id: string; type: string }>(
    'GET',
    `/com/vmware/content/library/item/id:${items[0]}`,
  );
  if (info.type !== 'vm-template' && info.type !== 'ovf')
    throw new MachineError(
      `content library item ${item} is a ${info.type || 'file'}, not a VM template or OVF template`,
    );
  return { id: items[0], type: info.type };
}

/** Deploys the item as a powered-off VM named `name`: the new VM. */
export async function deployLibraryItem(
  c: VimClient,
  item: LibraryItem,
  name: string,
  p: Pick<Placement, 'folder' | 'pool' | 'host' | 'datastore'>,
): Promise<MoRef> {
  if (item.type === 'vm-template') {
    const id = await c.rest<string>(
      'POST',
      `/vcenter/vm-template/library-items/${encodeURIComponent(item.id)}?action=deploy`,
      {
        spec: {
          name,
          placement: {
            folder: p.folder.value,
            resource_pool: p.pool.value,
            ...(p.host ? { host: p.host.value } : {}),
          },
          vm_home_storage: { datastore: p.datastore.value },
          disk_storage: { datastore: p.datastore.value },
          powered_on: false,
        },
      },
    );
    if (!id) throw new MachineError(`deploying library item ${item.id} gave no VM`);
    return { type: 'VirtualMachine', value: id };
  }
  const d = await c.rest<{
    succeeded?: boolean;
    resource_id?: { type: string; id: string };
    error?: unknown;
  }>('POST', `/com/vmware/vcenter/ovf/library-item/id:${encodeURIComponent(item.id)}?~action=deploy`, {
    target: {
      resource_pool_id: p.pool.value,
      folder_id: p.folder.value,
      ...(p.host ? { host_id: p.host.value } : {}),
    },
    deployment_spec: { name, accept_all_EULA: true, default_datastore_id: p.datastore.value },
  });
  if (!d?.succeeded || !d.resource_id?.id)
    throw new MachineError(
      `deploying OVF library item ${item.id} failed: ${JSON.stringify(d?.error ?? d).slice(0, 300)}`,
    );
  return { type: 'VirtualMachine', value: d.resource_id.id };
}

/** The item pre-create found, deployed and recorded, then given guestinfo and sized as a clone is. */
export async function createFromLibrary(
  m: VSphereMachine,
  ctx: DriverContext,
  o: CreateInput,
): Promise<MoRef> {
  const { c, ledger } = o;
  const r = m.resolved;
  const item = r.libraryItem;
  if (!item) throw new MachineError(`machine "${m.name}" has no library item`);
  ctx.log(`Deploying ${str(m.json, 'CloneFrom')} from content library ${str(m.json, 'ContentLibrary')}...`);
  // The deploy cannot carry this machine's mark: rm takes the VM at this path as its own
  // (pre-create checked that no VM had that name).
  const entry = await ledger.intend('vm', { by: 'deployed-path', value: o.path }, `VM ${m.name}`);
  await c.restLogin(username(m.json), password(m.json));
  const vm = await recordVM(m, ctx, ledger, entry, await deployLibraryItem(c, item, m.name, r), 'deploy');
  // vcsim 0.24.2 deploys a VM template item as a template; vSphere deploys a VM.
  if (textOf((await c.props(vm, ['config.template']))['config.template']) === 'true')
    await c.call('MarkAsVirtualMachine', vm, ref('pool', r.pool) + ref('host', r.host));
  await reconfigure(
    c,
    vm,
    cloneReconfig({ ...o.hw, devices: await devices(c, vm), networks: r.networks, extra: o.extra }),
    `configuring ${m.label()}`,
    ctx.signal,
  );
  return vm;
}
