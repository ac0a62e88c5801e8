import { MachineError } from '../../errors.js';
import type { DriverJSON } from '../../store/host.js';
import { str, strs } from '../base.js';
import { type Placement, resolvePlacement, resolveSource } from './inventory.js';
import { findLibraryItem, type LibraryItem } from './library.js';
import type { VSphereMachine } from './machine.js';
import { password, username } from './session.js';
import type { VimClient } from './soap/client.js';
import type { MoRef } from './soap/envelope.js';

/**
 * Where the VM goes (datacenter, folder, pool, host, datastore or a datastore cluster's choice,
 * networks) and what it starts from, resolved at pre-create and kept in the machine as Resolved,
 * so that create and rm need no lookups.
 */
export type Resolved = Omit<Placement, 'networks'> & {
  networks: Placement['networks'][number]['backing'][];
  source?: MoRef;
  libraryItem?: LibraryItem;
};

export async function place(m: VSphereMachine, c: VimClient): Promise<void> {
  const type = m.creationType;
  const from = str(m.json, 'CloneFrom');
  const p = await resolvePlacement(c, {
    datacenter: str(m.json, 'Datacenter'),
    folder: str(m.json, 'Folder'),
    datastore: str(m.json, 'Datastore'),
    datastoreCluster: str(m.json, 'DatastoreCluster'),
    networks: strs(m.json, 'Network').length || type === 'legacy' ? networksOrDefault(m) : [],
    hostSystem: str(m.json, 'HostSystem'),
    pool: str(m.json, 'Pool'),
  });
  if (await c.findChild(p.folder, m.name))
    throw new MachineError(
      `a VM named ${m.name} already exists in that folder of datacenter ${p.dcPath}; choose another machine name`,
    );
  const source =
    type === 'vm' || type === 'template'
      ? await resolveSource(c, p.dcPath, p.datacenter, from, type === 'template')
      : undefined;
  let libraryItem: LibraryItem | undefined;
  if (type === 'library') {
    await c.restLogin(username(m.json), password(m.json));
    libraryItem = await findLibraryItem(c, str(m.json, 'ContentLibrary'), from);
  }
  const r: Resolved = {
    dcPath: p.dcPath,
    datacenter: p.datacenter,
    folder: p.folder,
    pool: p.pool,
    host: p.host,
    datastore: p.datastore,
    datastoreName: p.datastoreName,
    networks: p.networks.map((n) => n.backing),
    source,
    libraryItem,
  };
  m.set({ Resolved: r as unknown as DriverJSON[string], DatastoreName: p.datastoreName });
}

function networksOrDefault(m: VSphereMachine): string[] {
  const n = strs(m.json, 'Network');
  return n.length ? n : ['VM Network'];
}

/** The VM's inventory path: where rm looks for it when create never heard its id. */
export function vmPath(m: VSphereMachine): string {
  const folder = str(m.json, 'Folder').replace(/^\/+|\/+$/g, '');
  return `${m.resolved.dcPath}/vm/${folder ? `${folder}/` : ''}${m.name}`;
}
