import { stat } from 'node:fs/promises';
import { MachineError } from '../../errors.js';
import { bool, str } from '../base.js';
import type { CloudConnection } from '../cloud/connection.js';
import type { DriverContext } from '../driver.js';
import * as api from './api.js';
import { checkFloatingIPPool } from './floating-ip.js';
import { checkKeyPair } from './keypair.js';
import type { OpenStackMachine } from './machine.js';
import { checkSecurityGroups } from './security-group.js';
import { checkVolume, checkVolumeType } from './volumes.js';

const MAX_USER_DATA = 65_535;

/**
 * Everything the server needs, found before anything is made: a bad name is one line and the
 * project is as it was. The ids found are kept, so rm and later commands need no lookups.
 */
export async function preCreateCheck(m: OpenStackMachine, ctx: DriverContext): Promise<void> {
  const keyFile = str(m.json, 'PrivateKeyFile');
  if (keyFile && !(await stat(keyFile).catch(() => undefined)))
    throw new MachineError(`--openstack-private-key-file ${keyFile} does not exist`);
  const udFile = str(m.json, 'UserDataFile');
  if (udFile) {
    const st = await stat(udFile).catch(() => undefined);
    if (!st?.isFile()) throw new MachineError(`--openstack-user-data-file ${udFile} could not be found`);
    if (st.size > MAX_USER_DATA)
      throw new MachineError(
        `--openstack-user-data-file ${udFile} is ${st.size} bytes; Nova takes at most 65535`,
      );
  }
  const os = await m.api(ctx);
  const nova = os.conn('compute');
  // A cloud without Neutron in its catalog is a nova-network one, whatever the flag says.
  if (m.managesNetwork && !os.has('network') && !bool(m.json, 'ComputeNetwork')) {
    if (str(m.json, 'NetworkName'))
      throw new MachineError(
        '--openstack-net-name needs Neutron, which this cloud lacks; give --openstack-net-id',
      );
    m.set({ ComputeNetwork: true });
  }
  ctx.log('Checking the flavor, image and network...');
  await checkFlavor(m, nova);
  await checkImage(m, os);
  if (m.managesNetwork) {
    if (m.useNeutron) await checkNetwork(m, os.conn('network'));
    await checkFloatingIPPool(m, os);
    await checkSecurityGroups(m, os);
  }
  await checkAvailabilityZone(m, nova);
  await checkKeyPair(m, nova);
  await checkServerGroup(m, nova);
  await checkVolumeType(m.json, os);
  await checkVolume(m, os);
}

async function checkFlavor(m: OpenStackMachine, nova: CloudConnection): Promise<void> {
  const id = str(m.json, 'FlavorId');
  if (id) {
    await api.getNamed(
      nova,
      `flavors/${encodeURIComponent(id)}`,
      `flavor ${id} (--openstack-flavor-id) does not exist`,
    );
    return;
  }
  const name = str(m.json, 'FlavorName');
  const all = await api.listAll<api.Flavor>(nova, 'flavors/detail', 'flavors');
  const f = all.find((x) => x.name === name);
  if (!f)
    throw new MachineError(
      `flavor ${name} (--openstack-flavor-name) does not exist; flavors: ${
        all
          .map((x) => x.name)
          .slice(0, 12)
          .join(', ') || 'none'
      }`,
    );
  m.set({ FlavorId: f.id });
}

async function checkImage(m: OpenStackMachine, os: api.OpenStackAPI): Promise<void> {
  const id = str(m.json, 'ImageId');
  const name = str(m.json, 'ImageName');
  const glance = os.has('image');
  const c = glance ? os.conn('image') : os.conn('compute');
  if (id) {
    const img = await api.getNamed<api.Image & { image?: api.Image }>(
      c,
      `images/${encodeURIComponent(id)}`,
      `image ${id} (--openstack-image-id) does not exist`,
    );
    const status = (img?.image ?? img)?.status;
    if (status && !/^active$/i.test(status)) throw new MachineError(`image ${id} is ${status}, not active`);
    return;
  }
  const found = glance
    ? await api.listAll<api.Image>(c, `images${api.q({ name })}`, 'images')
    : await api.listAll<api.Image>(c, `images/detail${api.q({ name })}`, 'images');
  const hits = found.filter((i) => i.name === name && (!i.status || /^active$/i.test(i.status)));
  if (!hits.length)
    throw new MachineError(`image ${name} (--openstack-image-name) does not exist or is not active`);
  if (hits.length > 1)
    throw new MachineError(
      `${hits.length} images are named ${name}: give one by id with --openstack-image-id (${hits.map((i) => i.id).join(', ')})`,
    );
  m.set({ ImageId: hits[0].id });
}

/** The Neutron network of --openstack-net-id or --openstack-net-name (whose id is kept). */
async function checkNetwork(m: OpenStackMachine, neutron: CloudConnection): Promise<void> {
  const netId = str(m.json, 'NetworkId');
  const netName = str(m.json, 'NetworkName');
  if (netId) {
    await api.getNamed(
      neutron,
      `networks/${encodeURIComponent(netId)}`,
      `network ${netId} (--openstack-net-id) does not exist`,
    );
  } else if (netName) {
    const nets = (
      await api.listAll<api.Network>(neutron, `networks${api.q({ name: netName })}`, 'networks')
    ).filter((n) => n.name === netName);
    if (!nets.length) throw new MachineError(`network ${netName} (--openstack-net-name) does not exist`);
    if (nets.length > 1)
      throw new MachineError(
        `${nets.length} networks are named ${netName}: give one with --openstack-net-id`,
      );
    m.set({ NetworkId: nets[0].id });
  }
}

async function checkAvailabilityZone(m: OpenStackMachine, nova: CloudConnection): Promise<void> {
  const az = str(m.json, 'AvailabilityZone');
  if (!az) return;
  const b = await nova.get<{
    availabilityZoneInfo?: { zoneName: string; zoneState?: { available?: boolean } }[];
  }>('os-availability-zone');
  const zones = b?.availabilityZoneInfo ?? [];
  const z = zones.find((x) => x.zoneName === az);
  if (!z)
    throw new MachineError(
      `availability zone ${az} does not exist; zones: ${zones.map((x) => x.zoneName).join(', ') || 'none'}`,
    );
  if (z.zoneState?.available === false)
    throw new MachineError(`availability zone ${az} is not available now; choose another`);
}

async function checkServerGroup(m: OpenStackMachine, nova: CloudConnection): Promise<void> {
  const id = str(m.json, 'ServerGroupID');
  const name = str(m.json, 'ServerGroupName');
  if (!id && !name) return;
  const b = await nova.get<{ server_groups?: { id: string; name: string }[] }>('os-server-groups');
  const groups = b?.server_groups ?? [];
  const g = groups.find((x) => (id ? x.id === id : x.name === name));
  if (!g)
    throw new MachineError(
      `server group ${id || name} does not exist; groups: ${groups.map((x) => x.name).join(', ') || 'none'}`,
    );
  m.set({ ServerGroupID: g.id });
}
