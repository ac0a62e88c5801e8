import { chmod, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MachineError } from '../../errors.js';
import type { SeededEngine } from '../engine-seed.js';
import { findTool, runTool } from './host-tool.js';

/**
 * The machine's NoCloud seed: an ISO9660 volume labelled cidata with user-data (#cloud-config:
 * hostname, one user with passwordless sudo and the machine's SSH key), meta-data (instance id,
 * hostname, and the segment NIC's address) and, with a segment, network-config (version 2).
 * Cloud images read it with cloud-init; the project's built image with its machine-seed unit,
 * which reads the same user-data and the docker-machine-segment-* keys of meta-data.
 */

/** QEMU's MAC for the first NIC that is given none: NIC 1, on user networking. */
export const PRIMARY_MAC = '52:54:00:12:34:56';

export interface SeedOptions {
  hostname: string;
  user: string;
  /** One authorized_keys line. */
  publicKey: string;
  instanceId: string;
  /** The second NIC on the shared segment: its static address (A.B.C.D/NN) and MAC. */
  segment?: { address: string; mac: string };
  /** NIC 1's MAC, when the VM gives it one. */
  primaryMac?: string;
  /**
   * Engine files for the built image's initrd to put in place at the first boot: engine-N on
   * the volume, and engine-files listing `engine-N MODE PATH` for each.
   */
  engine?: SeededEngine;
  /** Debian packages cloud-init installs at the first boot (the built image's reader ignores them). */
  packages?: string[];
}

export interface SeedFiles {
  'user-data': string;
  'meta-data': string;
  'network-config'?: string;
}

/** Values go into YAML double-quoted; the built image's reader takes no escapes, so none may need one. */
const q = (s: string) => `"${s}"`;

function check(o: SeedOptions): void {
  const bad = (what: string, v: string) =>
    new MachineError(`cannot seed the machine: ${what} ${JSON.stringify(v)} is not valid`);
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(o.hostname)) throw bad('hostname', o.hostname);
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(o.user)) throw bad('user name', o.user);
  if (!/^[A-Za-z0-9@.-]+ [A-Za-z0-9+/=]+( [^"\\\n\r]*)?$/.test(o.publicKey))
    throw bad('public key', o.publicKey);
  if (!/^[A-Za-z0-9._-]*$/.test(o.instanceId)) throw bad('instance id', o.instanceId);
  const mac = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
  if (o.segment) {
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(o.segment.address))
      throw bad('segment address', o.segment.address);
    if (!mac.test(o.segment.mac)) throw bad('segment MAC', o.segment.mac);
  }
  if (o.primaryMac !== undefined && !mac.test(o.primaryMac)) throw bad('MAC', o.primaryMac);
  for (const p of o.packages ?? []) if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p)) throw bad('package', p);
}

export function seedFiles(o: SeedOptions): SeedFiles {
  check(o);
  const userData = [
    '#cloud-config',
    `hostname: ${q(o.hostname)}`,
    'manage_etc_hosts: true',
    'ssh_pwauth: false',
    'users:',
    `  - name: ${q(o.user)}`,
    `    sudo: ${q('ALL=(ALL) NOPASSWD:ALL')}`,
    `    shell: ${q('/bin/bash')}`,
    '    lock_passwd: true',
    '    ssh_authorized_keys:',
    `      - ${q(o.publicKey)}`,
    ...(o.packages?.length ? ['packages:', ...o.packages.map((p) => `  - ${q(p)}`)] : []),
    '',
  ].join('\n');
  const meta = [
    `instance-id: ${q(o.instanceId || `iid-${o.hostname}`)}`,
    `local-hostname: ${q(o.hostname)}`,
    ...(o.segment
      ? [
          `docker-machine-segment-address: ${q(o.segment.address)}`,
          `docker-machine-segment-mac: ${q(o.segment.mac.toLowerCase())}`,
        ]
      : []),
    '',
  ].join('\n');
  const files: SeedFiles = { 'user-data': userData, 'meta-data': meta };
  if (o.segment) {
    // Given a network-config, cloud-init configures only what it lists: NIC 1 keeps its DHCP.
    files['network-config'] = [
      'version: 2',
      'ethernets:',
      '  primary:',
      '    match:',
      `      macaddress: ${q((o.primaryMac ?? PRIMARY_MAC).toLowerCase())}`,
      '    dhcp4: true',
      '  segment:',
      '    match:',
      `      macaddress: ${q(o.segment.mac.toLowerCase())}`,
      '    dhcp4: false',
      '    addresses:',
      `      - ${q(o.segment.address)}`,
      '',
    ].join('\n');
  }
  return files;
}

/** Writes DIR/seed.iso (replacing an earlier one whole) and returns its path. */
export async function writeSeed(dir: string, o: SeedOptions): Promise<string> {
  const files: Record<string, string> = { ...seedFiles(o) };
  if (o.engine) {
    const list = o.engine.files.map((f, i) => {
      const inEtc = /^\/etc\/[A-Za-z0-9._/-]+$/.test(f.path) && !f.path.split('/').includes('..');
      if (!inEtc || !/^[0-7]{3,4}$/.test(f.mode))
        throw new MachineError(`cannot seed the engine file ${JSON.stringify(f.path)} (mode ${f.mode})`);
      files[`engine-${i + 1}`] = f.content;
      return `engine-${i + 1} ${f.mode} ${f.path}\n`;
    });
    files['engine-files'] = list.join('');
  }
  const tool = isoTool();
  const iso = join(dir, 'seed.iso');
  const work = await mkdtemp(join(dir, 'seed-'));
  try {
    for (const [name, text] of Object.entries(files))
      await writeFile(join(work, name), text, { mode: 0o600 });
    await runTool(
      tool.path,
      [
        ...tool.prefix,
        '-quiet',
        '-output',
        join(work, 'seed.iso'),
        '-volid',
        'cidata',
        '-joliet',
        '-rock',
        ...Object.keys(files).map((n) => join(work, n)),
      ],
      { what: 'making the seed ISO' },
    );
    // It may carry the engine's private key.
    await chmod(join(work, 'seed.iso'), 0o600);
    await rename(join(work, 'seed.iso'), iso);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return iso;
}

function isoTool(): { path: string; prefix: string[] } {
  for (const [name, prefix] of [
    ['genisoimage', []],
    ['xorriso', ['-as', 'mkisofs']],
    ['mkisofs', []],
  ] as const) {
    const path = findTool(name);
    if (path) return { path, prefix: [...prefix] };
  }
  throw new MachineError(
    'none of genisoimage, xorriso or mkisofs is installed, and the machine needs one for its seed ISO: install one (apt-get install genisoimage)',
  );
}
