import { MachineError } from '../../errors.js';
import type { DriverJSON } from '../../store/host.js';
import { bool, num, str } from '../base.js';
import type { CloudConnection } from '../cloud/connection.js';
import { CloudAPIError, isGone } from '../cloud/errors.js';
import type { Ledger, ResourceKind } from '../cloud/ledger.js';
import type { DriverContext } from '../driver.js';
import * as api from './api.js';
import { type OpenStackMachine, sleep, TAG_KEY } from './machine.js';

/**
 * Booting from a Cinder volume: --openstack-boot-from-volume makes one from the image (Nova makes
 * it, or this driver before the server when --openstack-volume-name names it, recorded), which
 * goes with the server; --openstack-volume-id or -name alone boots from an existing volume, the
 * user's, which stays.
 */

/** --openstack-volume-type must name a type of this cloud's Cinder. */
export async function checkVolumeType(json: DriverJSON, os: api.OpenStackAPI): Promise<void> {
  const vt = str(json, 'VolumeType');
  if (!vt || !os.has('volume')) return;
  const types = await api.listAll<{ id: string; name: string }>(os.conn('volume'), 'types', 'volume_types');
  if (!types.some((t) => t.name === vt || t.id === vt))
    throw new MachineError(
      `volume type ${vt} does not exist; types: ${types.map((t) => t.name).join(', ') || 'none'}`,
    );
}

/**
 * The boot volume named by Rancher's flags: an existing one (by id, or by name without
 * --openstack-boot-from-volume) must be there and detached; a new one's name must be free, so
 * that rm after a killed create finds only this machine's by it.
 */
export async function checkVolume(m: OpenStackMachine, os: api.OpenStackAPI): Promise<void> {
  const id = str(m.json, 'VolumeId');
  const name = str(m.json, 'VolumeName');
  if (!id && !name) return;
  const flag = id ? '--openstack-volume-id' : '--openstack-volume-name';
  if (!os.has('volume'))
    throw new MachineError(
      `${flag} needs Cinder (a block-storage service), which this cloud's catalog lacks`,
    );
  const cinder = os.conn('volume');
  const named = async () =>
    (await api.listAll<api.Volume>(cinder, `volumes/detail${api.q({ name })}`, 'volumes')).filter(
      (v) => v.name === name,
    );
  if (name && bool(m.json, 'BootFromVolume')) {
    if ((await named()).length)
      throw new MachineError(
        `a volume named ${name} exists already: leave out --openstack-boot-from-volume to boot from it, or give the new one another name`,
      );
    return;
  }
  let vol: api.Volume;
  if (id) {
    const b = await api.getNamed<{ volume?: api.Volume }>(
      cinder,
      `volumes/${encodeURIComponent(id)}`,
      `volume ${id} (--openstack-volume-id) does not exist`,
    );
    if (!b?.volume) throw new MachineError(`OpenStack answered GET volumes/${id} without a volume`);
    vol = b.volume;
  } else {
    const hits = await named();
    if (!hits.length) throw new MachineError(`volume ${name} (--openstack-volume-name) does not exist`);
    if (hits.length > 1)
      throw new MachineError(
        `${hits.length} volumes are named ${name}: give one with --openstack-volume-id (${hits.map((v) => v.id).join(', ')})`,
      );
    vol = hits[0];
  }
  if (vol.status !== 'available')
    throw new MachineError(
      `volume ${id || name} is ${vol.status}, not available: a server can boot only from a detached volume`,
    );
  m.set({ VolumeId: vol.id, VolumeExisting: true });
}

/** A new boot volume (not an existing one) is made, or its size found, before the server. */
export async function prepareBootVolume(
  m: OpenStackMachine,
  ctx: DriverContext,
  ledger: Ledger,
  nova: CloudConnection,
): Promise<void> {
  if (!bool(m.json, 'BootFromVolume') || bool(m.json, 'VolumeExisting')) return;
  await bootVolumeSize(m, nova);
  if (str(m.json, 'VolumeName') && !str(m.json, 'BootVolumeId')) await createBootVolume(m, ctx, ledger);
}

/** Nova and Cinder need a new volume's size: --openstack-volume-size, else the flavor's disk. */
async function bootVolumeSize(m: OpenStackMachine, nova: CloudConnection): Promise<void> {
  if (num(m.json, 'VolumeSize') > 0) return;
  const b = await nova.get<{ flavor?: api.Flavor }>(`flavors/${encodeURIComponent(str(m.json, 'FlavorId'))}`);
  const disk = Number(b?.flavor?.disk) || 0;
  if (disk <= 0)
    throw new MachineError(
      `flavor ${str(m.json, 'FlavorName') || str(m.json, 'FlavorId')} has no disk size to make the boot volume with: give --openstack-volume-size`,
    );
  m.set({ VolumeSize: disk });
}

/** The boot volume named by --openstack-volume-name, from the image, made before the server. */
async function createBootVolume(m: OpenStackMachine, ctx: DriverContext, ledger: Ledger): Promise<void> {
  const os = await m.api(ctx);
  const cinder = os.conn('volume');
  const name = str(m.json, 'VolumeName');
  const entry = await ledger.intend('volume', { by: 'name', value: name }, `volume ${name}`);
  const b = await cinder.post<{ volume?: api.Volume }>('volumes', {
    volume: {
      name,
      size: num(m.json, 'VolumeSize'),
      imageRef: str(m.json, 'ImageId'),
      ...(str(m.json, 'VolumeType') ? { volume_type: str(m.json, 'VolumeType') } : {}),
      metadata: { [TAG_KEY]: m.tag },
    },
  });
  const id = b?.volume?.id ?? '';
  if (!id) throw new MachineError(`OpenStack did not say which volume it made for ${name}`);
  await ledger.made(entry, id);
  m.set({ BootVolumeId: id });
  await ctx.save();
  ctx.log(`Volume ${name} (${id}) made from the image; waiting for it to be available...`);
  const started = Date.now();
  for (;;) {
    const v = (await cinder.get<{ volume?: api.Volume }>(`volumes/${id}`))?.volume;
    if (v?.status === 'available') return;
    if (v?.status === 'error')
      throw new MachineError(`volume ${name} (${id}) ended in error while Cinder made it from the image`);
    if (Date.now() - started > m.timeoutMs)
      throw new MachineError(
        `volume ${name} (${id}) was still ${v?.status ?? 'unknown'} after ${Math.round(m.timeoutMs / 1000)} s (--openstack-active-timeout)`,
      );
    await sleep(m.pollMs);
  }
}

/** Whether the server boots from a volume (then it has no imageRef of its own). */
export function bootsFromVolume(json: DriverJSON): boolean {
  return bool(json, 'BootFromVolume') || (bool(json, 'VolumeExisting') && !!str(json, 'VolumeId'));
}

/** POST /servers's block_device_mapping_v2 for a server booting from a volume; undefined otherwise. */
export function blockDeviceMapping(json: DriverJSON): Record<string, unknown>[] | undefined {
  const existingVolume = bool(json, 'VolumeExisting') ? str(json, 'VolumeId') : '';
  const madeVolume = str(json, 'BootVolumeId');
  const device = str(json, 'VolumeDevicePath');
  if (existingVolume || madeVolume)
    // An existing volume is the user's: the server's delete leaves it.
    return [
      {
        boot_index: 0,
        uuid: existingVolume || madeVolume,
        source_type: 'volume',
        destination_type: 'volume',
        delete_on_termination: !existingVolume,
        ...(device ? { device_name: device } : {}),
      },
    ];
  if (!bootsFromVolume(json)) return undefined;
  return [
    {
      boot_index: 0,
      uuid: str(json, 'ImageId'),
      source_type: 'image',
      destination_type: 'volume',
      delete_on_termination: true,
      ...(num(json, 'VolumeSize') ? { volume_size: num(json, 'VolumeSize') } : {}),
      ...(str(json, 'VolumeType') ? { volume_type: str(json, 'VolumeType') } : {}),
      ...(device ? { device_name: device } : {}),
    },
  ];
}

/** Nova deletes it with the server, or detaches it first: its delete waits out in-use and deleting. */
export function volumeKind(
  cinder: () => Promise<CloudConnection>,
  timeoutMs: number,
  interval: number,
): ResourceKind {
  return {
    lookup: async (f) =>
      (await api.listAll<api.Volume>(await cinder(), `volumes/detail${api.q({ name: f.value })}`, 'volumes'))
        .filter((v) => v.name === f.value)
        .map((v) => v.id),
    delete: async (id) => {
      const c = await cinder();
      const started = Date.now();
      for (;;) {
        try {
          await c.delete(`volumes/${id}`);
        } catch (err) {
          if (isGone(err)) return;
          if (!(err instanceof CloudAPIError && err.status === 400) || Date.now() - started > timeoutMs)
            throw err;
          await sleep(interval);
          continue;
        }
        return;
      }
    },
    byHand: (id) => `openstack volume delete ${id}`,
  };
}
