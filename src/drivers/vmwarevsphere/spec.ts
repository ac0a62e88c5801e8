import type { NetworkBacking } from './inventory.js';
import { el, type MoRef, optionValue, ref, val } from './soap/envelope.js';

/**
 * The VM specs create sends, as vim25 XML in the WSDL's element order (vSphere checks it): a new
 * VM's config, a clone's, and the reconfiguration that sizes a clone and sets its networks.
 */

export interface HardwareSpec {
  numCPUs?: number;
  memoryMB?: number;
}

/** A device connected now and at every power-on. */
const connected = () =>
  el('connectable', [val('startConnected', true), val('allowGuestControl', true), val('connected', true)]);

function nic(key: number, b: NetworkBacking): string {
  const backing =
    b.kind === 'network'
      ? el(
          'backing',
          [val('deviceName', b.deviceName), val('useAutoDetect', false), ref('network', b.network)],
          'VirtualEthernetCardNetworkBackingInfo',
        )
      : el(
          'backing',
          el('port', [val('switchUuid', b.switchUuid), val('portgroupKey', b.portgroupKey)]),
          'VirtualEthernetCardDistributedVirtualPortBackingInfo',
        );
  return el(
    'device',
    [val('key', key), backing, connected(), val('addressType', 'generated')],
    'VirtualVmxnet3',
  );
}

const change = (op: 'add' | 'remove' | 'edit', device: string, fileOp?: 'create' | 'destroy') =>
  el('deviceChange', [val('operation', op), val('fileOperation', fileOp), device]);

/** extraConfig entries, in the order given. */
export function extraConfig(entries: [string, string][]): string {
  return entries.map(([k, v]) => optionValue('extraConfig', k, v)).join('');
}

/** CreateVM_Task's config: a paravirtual SCSI controller, a thin disk, one vmxnet3 NIC per network. */
export function newVMConfig(o: {
  name: string;
  guestId: string;
  datastoreName: string;
  numCPUs: number;
  memoryMB: number;
  diskMB: number;
  networks: NetworkBacking[];
  extra: [string, string][];
}): string {
  const scsi = el(
    'device',
    [val('key', -100), val('busNumber', 0), val('sharedBus', 'noSharing')],
    'ParaVirtualSCSIController',
  );
  const disk = el(
    'device',
    [
      val('key', -101),
      el(
        'backing',
        [val('fileName', ''), val('diskMode', 'persistent'), val('thinProvisioned', true)],
        'VirtualDiskFlatVer2BackingInfo',
      ),
      val('controllerKey', -100),
      val('unitNumber', 0),
      val('capacityInKB', o.diskMB * 1024),
    ],
    'VirtualDisk',
  );
  return el('config', [
    val('name', o.name),
    val('guestId', o.guestId),
    el('files', val('vmPathName', `[${o.datastoreName}]`)),
    val('numCPUs', o.numCPUs),
    val('memoryMB', o.memoryMB),
    change('add', scsi),
    change('add', disk, 'create'),
    o.networks.map((n, i) => change('add', nic(-200 - i, n))),
    extraConfig(o.extra),
  ]);
}

/** CloneVM_Task's arguments after _this: the folder, the name, and the spec (powered off; guestinfo set). */
export function cloneArgs(o: {
  folder: MoRef;
  name: string;
  datastore: MoRef;
  pool: MoRef;
  host?: MoRef;
  extra: [string, string][];
}): string {
  return [
    ref('folder', o.folder),
    val('name', o.name),
    el('spec', [
      el('location', [ref('datastore', o.datastore), ref('pool', o.pool), ref('host', o.host)]),
      val('template', false),
      el('config', extraConfig(o.extra)),
      val('powerOn', false),
    ]),
  ].join('');
}

export interface Device {
  key: number;
  type: string;
  controllerKey?: number;
  unitNumber?: number;
  capacityInKB?: number;
  fileName?: string;
  datastore?: MoRef;
  label?: string;
}

/**
 * A clone's reconfiguration: CPUs and memory; its first disk grown to diskMB (never shrunk);
 * when networks are given, its NICs replaced by one vmxnet3 NIC per network.
 */
export function cloneReconfig(o: {
  numCPUs: number;
  memoryMB: number;
  diskMB: number;
  devices: Device[];
  networks: NetworkBacking[];
  extra?: [string, string][];
}): string {
  const changes: string[] = [];
  const disk = o.devices.find((d) => d.type === 'VirtualDisk');
  if (disk && o.diskMB * 1024 > (disk.capacityInKB ?? 0)) {
    changes.push(
      change(
        'edit',
        el(
          'device',
          [
            val('key', disk.key),
            // vSphere takes an edit without it; vcsim 0.24.2 fails on an edited device that has none.
            el('deviceInfo', [val('label', disk.label ?? 'Hard disk 1'), val('summary', '')]),
            el(
              'backing',
              [
                val('fileName', disk.fileName ?? ''),
                ref('datastore', disk.datastore),
                val('diskMode', 'persistent'),
              ],
              'VirtualDiskFlatVer2BackingInfo',
            ),
            val('controllerKey', disk.controllerKey),
            val('unitNumber', disk.unitNumber),
            val('capacityInKB', o.diskMB * 1024),
          ],
          'VirtualDisk',
        ),
      ),
    );
  }
  if (o.networks.length) {
    for (const d of o.devices.filter((d) => isNIC(d.type)))
      changes.push(change('remove', el('device', val('key', d.key), d.type)));
    o.networks.forEach((n, i) => {
      changes.push(change('add', nic(-200 - i, n)));
    });
  }
  return el('spec', [
    val('numCPUs', o.numCPUs),
    val('memoryMB', o.memoryMB),
    changes,
    extraConfig(o.extra ?? []),
  ]);
}

export function isNIC(type: string): boolean {
  return /^Virtual(E1000e?|Vmxnet[23]?|PCNet32|Sriov.*|EthernetCard)$/.test(type);
}

/** A CD-ROM on an IDE controller holding an ISO on a datastore. */
export function cdromAdd(
  key: number,
  controllerKey: number,
  unitNumber: number,
  isoPath: string,
  ds: MoRef,
): string {
  return change(
    'add',
    el(
      'device',
      [
        val('key', key),
        el('backing', [val('fileName', isoPath), ref('datastore', ds)], 'VirtualCdromIsoBackingInfo'),
        connected(),
        val('controllerKey', controllerKey),
        val('unitNumber', unitNumber),
      ],
      'VirtualCdrom',
    ),
  );
}

export function reconfigSpec(changes: string[], extra: [string, string][] = []): string {
  return el('spec', [changes, extraConfig(extra)]);
}
