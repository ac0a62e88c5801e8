import { readFile } from 'node:fs/promises';
import type { DriverJSON } from '../../store/host.js';
import { str, strs } from '../base.js';
import { seedFiles } from '../qemu/seed.js';
import { ID_KEY } from './machine.js';

/**
 * What cloud-init's VMware datasource reads from guestinfo (user-data and meta-data, base64),
 * made from the same seed as the qemu driver's NoCloud volume: the machine's host name and one
 * user with passwordless sudo and the machine's SSH key. A --vmwarevsphere-cloud-config file
 * goes with it as a second part of a MIME multipart, which cloud-init merges. The original's
 * --vmwarevsphere-cloudinit keys (guestinfo.cloud-init.config.*) are set as it set them.
 */

export interface GuestinfoOptions {
  hostname: string;
  user: string;
  publicKey: string;
  instanceId: string;
  /** A cloud-config file of the user's. */
  cloudConfig?: string;
  /** The original's --vmwarevsphere-cloudinit: a URL, or a file. */
  cloudInit?: string;
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

export function multipart(parts: string[], boundary: string): string {
  const body = parts
    .map(
      (p) =>
        `--${boundary}\nContent-Type: text/cloud-config; charset="utf-8"\nMIME-Version: 1.0\n\n${p.replace(/\n*$/, '\n')}`,
    )
    .join('');
  return `Content-Type: multipart/mixed; boundary="${boundary}"\nMIME-Version: 1.0\n\n${body}--${boundary}--\n`;
}

export async function guestinfo(o: GuestinfoOptions): Promise<[string, string][]> {
  const seed = seedFiles({
    hostname: o.hostname,
    user: o.user,
    publicKey: o.publicKey,
    instanceId: o.instanceId,
  });
  let userData = seed['user-data'];
  if (o.cloudConfig) {
    const theirs = await readFile(o.cloudConfig, 'utf8');
    userData = multipart([userData, theirs], `docker-machine-${o.instanceId}`);
  }
  const out: [string, string][] = [
    ['guestinfo.metadata', b64(seed['meta-data'])],
    ['guestinfo.metadata.encoding', 'base64'],
    ['guestinfo.userdata', b64(userData)],
    ['guestinfo.userdata.encoding', 'base64'],
  ];
  if (o.cloudInit) {
    if (/^https?:\/\//.test(o.cloudInit)) out.push(['guestinfo.cloud-init.config.url', o.cloudInit]);
    else
      out.push(
        ['guestinfo.cloud-init.config.data', b64(await readFile(o.cloudInit))],
        ['guestinfo.cloud-init.data.encoding', 'base64'],
      );
  }
  return out;
}

/** The VM's extraConfig: this guestinfo, the user's --vmwarevsphere-cfgparam keys, the machine's mark. */
export async function machineExtraConfig(json: DriverJSON, publicKey: string): Promise<[string, string][]> {
  const name = str(json, 'MachineName');
  const out = await guestinfo({
    hostname: name,
    user: str(json, 'SSHUser') || 'docker',
    publicKey,
    instanceId: `docker-machine-${name}-${str(json, 'MachineID')}`,
    cloudConfig: str(json, 'CloudConfig'),
    cloudInit: str(json, 'CloudInit'),
  });
  for (const kv of strs(json, 'CfgParams')) {
    const i = kv.indexOf('=');
    out.push([kv.slice(0, i), kv.slice(i + 1)]);
  }
  out.push([ID_KEY, str(json, 'MachineID')]);
  return out;
}
