import { MachineError } from '../../errors.js';
import { items, moRef, textOf, type VimClient } from './soap/client.js';
import type { MoRef } from './soap/envelope.js';

/**
 * The names a user gives (datacenter, folder, datastore or datastore cluster, networks, host,
 * pool, clone source) resolved to objects, each checked before anything is made; an unknown one
 * is one line naming the flag and what there is instead.
 */

export interface Placement {
  datacenter: MoRef;
  /** The datacenter's inventory path: dcPath of datastore URLs, the root of the paths below. */
  dcPath: string;
  folder: MoRef;
  pool: MoRef;
  host?: MoRef;
  datastore: MoRef;
  datastoreName: string;
  networks: { name: string; backing: NetworkBacking }[];
}

export type NetworkBacking =
  | { kind: 'network'; deviceName: string; network: MoRef }
  | { kind: 'dvportgroup'; switchUuid: string; portgroupKey: string };

export interface PlacementRequest {
  datacenter: string;
  folder: string;
  datastore: string;
  datastoreCluster: string;
  networks: string[];
  hostSystem: string;
  pool: string;
}

const clean = (p: string) => p.replace(/^\/+|\/+$/g, '');

async function named(c: VimClient, container: MoRef, type: string): Promise<{ ref: MoRef; name: string }[]> {
  return (await c.list(container, type, ['name'])).map((o) => ({ ref: o.ref, name: textOf(o.p.name) }));
}

function listed(names: string[]): string {
  return names.length ? names.sort().join(', ') : 'none';
}

export async function resolveDatacenter(c: VimClient, given: string): Promise<{ ref: MoRef; path: string }> {
  if (given) {
    const r = await c.findByInventoryPath(clean(given));
    if (r?.type === 'Datacenter') return { ref: r, path: clean(given) };
    const all = await named(c, c.content.rootFolder, 'Datacenter');
    throw new MachineError(
      `datacenter ${given} does not exist (--vmwarevsphere-datacenter); there is: ${listed(all.map((d) => d.name))}`,
    );
  }
  const all = await named(c, c.content.rootFolder, 'Datacenter');
  if (all.length === 1) return { ref: all[0].ref, path: all[0].name };
  throw new MachineError(
    all.length
      ? `there are ${all.length} datacenters: choose one with --vmwarevsphere-datacenter (${listed(all.map((d) => d.name))})`
      : 'this vSphere has no datacenter: make one first',
  );
}

export async function resolvePlacement(c: VimClient, r: PlacementRequest): Promise<Placement> {
  const dc = await resolveDatacenter(c, r.datacenter);
  const dcProps = await c.props(dc.ref, ['vmFolder', 'hostFolder', 'datastoreFolder']);
  const vmFolder = moRef(dcProps.vmFolder);
  const hostFolder = moRef(dcProps.hostFolder);
  if (!vmFolder || !hostFolder) throw new MachineError(`datacenter ${dc.path} has no VM or host folder`);

  let folder = vmFolder;
  if (r.folder) {
    const f = await c.findByInventoryPath(`${dc.path}/vm/${clean(r.folder)}`);
    if (f?.type !== 'Folder')
      throw new MachineError(
        `folder ${r.folder} does not exist in datacenter ${dc.path} (--vmwarevsphere-folder); make it first, or leave the flag out for the datacenter's VM folder`,
      );
    folder = f;
  }

  const ds = await resolveDatastore(c, dc, r);

  const networks: Placement['networks'] = [];
  for (const name of r.networks) networks.push({ name, backing: await resolveNetwork(c, dc, name) });

  let host: MoRef | undefined;
  let computePool: MoRef | undefined;
  if (r.hostSystem) {
    const h = await c.findByInventoryPath(`${dc.path}/host/${clean(r.hostSystem)}`);
    if (h?.type === 'HostSystem') host = h;
    else if (h && /ComputeResource$/.test(h.type)) {
      const p = await c.props(h, ['host', 'resourcePool']);
      computePool = moRef(p.resourcePool);
      if (h.type === 'ComputeResource') host = moRef(items(p.host)[0]);
    } else {
      const all = await named(c, hostFolder, 'HostSystem');
      throw new MachineError(
        `host ${r.hostSystem} does not exist in datacenter ${dc.path} (--vmwarevsphere-hostsystem); hosts: ${listed(all.map((h) => h.name))}`,
      );
    }
    if (host && !computePool) {
      const parent = moRef((await c.props(host, ['parent'])).parent);
      if (parent) computePool = moRef((await c.props(parent, ['resourcePool'])).resourcePool);
    }
  }

  let pool: MoRef | undefined;
  if (r.pool) {
    const p = await c.findByInventoryPath(`${dc.path}/host/${clean(r.pool)}`);
    if (p?.type !== 'ResourcePool' && p?.type !== 'VirtualApp')
      throw new MachineError(
        `resource pool ${r.pool} does not exist in datacenter ${dc.path} (--vmwarevsphere-pool); give its path under the host folder, e.g. ${await poolExample(c, hostFolder)}`,
      );
    pool = p;
  } else if (computePool) pool = computePool;
  else {
    const computes = await c.list(hostFolder, 'ComputeResource', ['name', 'resourcePool']);
    if (computes.length !== 1)
      throw new MachineError(
        computes.length
          ? `datacenter ${dc.path} has ${computes.length} hosts and clusters: choose a resource pool with --vmwarevsphere-pool (e.g. ${await poolExample(c, hostFolder)}) or a host with --vmwarevsphere-hostsystem`
          : `datacenter ${dc.path} has no host or cluster to run the VM`,
      );
    pool = moRef(computes[0].p.resourcePool);
    if (!pool) throw new MachineError(`${textOf(computes[0].p.name)} has no resource pool`);
  }
  return {
    datacenter: dc.ref,
    dcPath: dc.path,
    folder,
    pool,
    host,
    datastore: ds.ref,
    datastoreName: ds.name,
    networks,
  };
}

async function poolExample(c: VimClient, hostFolder: MoRef): Promise<string> {
  const computes = await named(c, hostFolder, 'ComputeResource');
  return computes.length ? `${computes[0].name}/Resources` : 'CLUSTER/Resources';
}

async function resolveDatastore(
  c: VimClient,
  dc: { ref: MoRef; path: string },
  r: PlacementRequest,
): Promise<{ ref: MoRef; name: string }> {
  const all = async () => (await named(c, dc.ref, 'Datastore')).map((d) => d.name);
  if (r.datastore && r.datastoreCluster)
    throw new MachineError('give --vmwarevsphere-datastore or --vmwarevsphere-datastore-cluster, not both');
  if (r.datastoreCluster) {
    const pod = await c.findByInventoryPath(`${dc.path}/datastore/${clean(r.datastoreCluster)}`);
    if (pod?.type !== 'StoragePod')
      throw new MachineError(
        `datastore cluster ${r.datastoreCluster} does not exist in datacenter ${dc.path} (--vmwarevsphere-datastore-cluster)`,
      );
    const children = items((await c.props(pod, ['childEntity'])).childEntity)
      .map(moRef)
      .filter((m): m is MoRef => m?.type === 'Datastore');
    const props = await c.properties(children, ['name', 'summary.freeSpace']);
    const members = children.map((ref) => ({ ref, p: props.get(ref.value) ?? {} }));
    const best = members.sort(
      (a, b) => Number(textOf(b.p['summary.freeSpace'])) - Number(textOf(a.p['summary.freeSpace'])),
    )[0];
    if (!best) throw new MachineError(`datastore cluster ${r.datastoreCluster} has no datastore`);
    return { ref: best.ref, name: textOf(best.p.name) };
  }
  if (r.datastore) {
    const d = await c.findByInventoryPath(`${dc.path}/datastore/${clean(r.datastore)}`);
    if (d?.type === 'Datastore') return { ref: d, name: clean(r.datastore).split('/').pop() ?? r.datastore };
    throw new MachineError(
      `datastore ${r.datastore} does not exist in datacenter ${dc.path} (--vmwarevsphere-datastore); datastores: ${listed(await all())}`,
    );
  }
  const dss = await named(c, dc.ref, 'Datastore');
  if (dss.length === 1) return dss[0];
  throw new MachineError(
    dss.length
      ? `datacenter ${dc.path} has ${dss.length} datastores: choose one with --vmwarevsphere-datastore (${listed(dss.map((d) => d.name))})`
      : `datacenter ${dc.path} has no datastore`,
  );
}

async function resolveNetwork(
  c: VimClient,
  dc: { ref: MoRef; path: string },
  name: string,
): Promise<NetworkBacking> {
  const n = await c.findByInventoryPath(`${dc.path}/network/${clean(name)}`);
  if (n?.type === 'Network' || n?.type === 'OpaqueNetwork')
    return { kind: 'network', deviceName: clean(name).split('/').pop() ?? name, network: n };
  if (n?.type === 'DistributedVirtualPortgroup') {
    const p = await c.props(n, ['key', 'config.distributedVirtualSwitch']);
    const dvs = moRef(p['config.distributedVirtualSwitch']);
    const uuid = dvs ? textOf((await c.props(dvs, ['uuid'])).uuid) : '';
    return { kind: 'dvportgroup', switchUuid: uuid, portgroupKey: textOf(p.key) };
  }
  const all = (await c.list(dc.ref, 'Network', ['name'])).map((o) => textOf(o.p.name));
  throw new MachineError(
    `network ${name} does not exist in datacenter ${dc.path} (--vmwarevsphere-network); networks: ${listed(all)}`,
  );
}

/** The clone source: a path under the datacenter's VM folder, or a VM or template's unique name. */
export async function resolveSource(
  c: VimClient,
  dcPath: string,
  dc: MoRef,
  given: string,
  wantTemplate: boolean,
): Promise<MoRef> {
  let found = await c.findByInventoryPath(`${dcPath}/vm/${clean(given)}`);
  if (found?.type !== 'VirtualMachine') {
    const all = await c.list(dc, 'VirtualMachine', ['name']);
    const hits = all.filter((o) => textOf(o.p.name) === given);
    if (hits.length > 1)
      throw new MachineError(
        `${hits.length} VMs are named ${given}: give the path of the one to clone under the VM folder (--vmwarevsphere-clone-from folder/${given})`,
      );
    found = hits[0]?.ref;
  }
  const what = wantTemplate ? 'template' : 'VM';
  if (!found)
    throw new MachineError(
      `${what} ${given} does not exist in datacenter ${dcPath} (--vmwarevsphere-clone-from)`,
    );
  const t = textOf((await c.props(found, ['config.template']))['config.template']) === 'true';
  if (wantTemplate && !t)
    throw new MachineError(
      `${given} is a VM, not a template: give --vmwarevsphere-creation-type vm to clone it, or a template's name`,
    );
  if (!wantTemplate && t)
    throw new MachineError(`${given} is a template: give --vmwarevsphere-creation-type template to clone it`);
  return found;
}
