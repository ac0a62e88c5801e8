import { readFileSync } from 'node:fs';
import { MachineError } from '../../errors.js';
import { createdInterface, parseBlocks, type VBoxManage } from './vboxmanage.js';

/**
 * The host-only network: the VirtualBox network on which the host and the machines reach each
 * other. VirtualBox 6.1.28 and later accept host-only addresses only inside the ranges that
 * /etc/vbox/networks.conf lists, and in 192.168.56.0/21 when the file does not exist; the
 * original's default 192.168.99.1/24 is outside it and failed with E_ACCESSDENIED. Here the range
 * is checked before anything is made, and the default is one the rule allows.
 */

export const NETWORKS_CONF = '/etc/vbox/networks.conf';
/** Ours: another networks.conf to read (tests; hosts whose VirtualBox reads another place). */
export const NETWORKS_CONF_ENV = 'MACHINE_VIRTUALBOX_NETWORKS_CONF';
export const DEFAULT_RANGE = '192.168.56.0/21';
/** The original's default, used where networks.conf allows it. */
export const ORIGINAL_CIDR = '192.168.99.1/24';
/** Ours where it does not: inside the default range, apart from vboxnet0's usual 192.168.56.1. */
export const FALLBACK_CIDR = '192.168.59.1/24';

export interface IPv4Net {
  /** The address as given (the host's address on the network). */
  ip: number;
  prefix: number;
}

export function ipToInt(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIP(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCIDR(s: string): IPv4Net | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s.trim());
  if (!m) return undefined;
  const ip = ipToInt(m[1]);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  return { ip, prefix };
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The prefix length of a netmask (its leading one bits). */
export function prefixOf(mask: number): number {
  let p = 0;
  while (p < 32 && (mask >>> (31 - p)) & 1) p++;
  return p;
}

export function networkOf(n: IPv4Net): number {
  return (n.ip & maskOf(n.prefix)) >>> 0;
}

export function broadcastOf(n: IPv4Net): number {
  return (networkOf(n) | (~maskOf(n.prefix) >>> 0)) >>> 0;
}

/** The IPv4 ranges networks.conf lists (lines `* RANGE RANGE ...`); IPv6 ones are skipped. */
export function parseNetworksConf(text: string): IPv4Net[] {
  const out: IPv4Net[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line.startsWith('*')) continue;
    for (const word of line.slice(1).trim().split(/\s+/)) {
      const n = parseCIDR(word);
      if (n) out.push({ ip: networkOf(n), prefix: n.prefix });
    }
  }
  return out;
}

export interface AllowedRanges {
  ranges: IPv4Net[];
  /** Where they come from, for messages. */
  source: string;
  /** The networks.conf that was read (or found missing). */
  path: string;
}

export function allowedRanges(env: NodeJS.ProcessEnv = process.env): AllowedRanges {
  const path = env[NETWORKS_CONF_ENV] || NETWORKS_CONF;
  // Windows' VirtualBox has no such rule.
  if (process.platform === 'win32' && !env[NETWORKS_CONF_ENV]) {
    return { ranges: [{ ip: 0, prefix: 0 }], source: 'VirtualBox on Windows has no range rule', path };
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    const d = parseCIDR(DEFAULT_RANGE) as IPv4Net;
    return { ranges: [d], source: `VirtualBox's default, as ${path} does not exist`, path };
  }
  const ranges = parseNetworksConf(text);
  return { ranges, source: `listed in ${path}`, path };
}

/** Whether the whole network of `n` lies inside one of the ranges. */
export function insideRanges(n: IPv4Net, ranges: IPv4Net[]): boolean {
  return ranges.some(
    (r) => r.prefix <= n.prefix && networkOf({ ip: n.ip, prefix: r.prefix }) === networkOf(r),
  );
}

function showRanges(a: AllowedRanges): string {
  return a.ranges.map((r) => `${intToIP(r.ip)}/${r.prefix}`).join(', ') || 'none';
}

/**
 * The host-only network to use: the given one, checked (a host address, inside the allowed
 * ranges), or the default the ranges allow. A MachineError of one line otherwise.
 */
export function chooseHostOnlyCIDR(given: string, allowed: AllowedRanges): string {
  if (given === '') {
    for (const c of [ORIGINAL_CIDR, FALLBACK_CIDR]) {
      if (insideRanges(parseCIDR(c) as IPv4Net, allowed.ranges)) return c;
    }
    const first = allowed.ranges.find((r) => r.prefix <= 30);
    if (!first) {
      throw new MachineError(
        `no host-only network can be chosen: no IPv4 range is ${allowed.source}; list one there (e.g. "* 192.168.56.0/21")`,
      );
    }
    return `${intToIP(networkOf(first) + 1)}/${Math.max(first.prefix, 24)}`;
  }
  const n = parseCIDR(given);
  if (!n || n.prefix < 8 || n.prefix > 30) {
    throw new MachineError(
      `--virtualbox-hostonly-cidr ${given} is not an IPv4 host address with a prefix of 8 to 30 bits, like 192.168.56.1/24`,
    );
  }
  if (n.ip === networkOf(n) || n.ip === broadcastOf(n)) {
    throw new MachineError(
      `host-only cidr must be specified with a host address, not a network address: give --virtualbox-hostonly-cidr like ${intToIP(networkOf(n) + 1)}/${n.prefix}`,
    );
  }
  if (!insideRanges(n, allowed.ranges)) {
    throw new MachineError(
      `--virtualbox-hostonly-cidr ${given} is outside the host-only ranges VirtualBox allows (${showRanges(allowed)}: ${allowed.source}); choose one inside them, or add "* ${intToIP(networkOf(n))}/${n.prefix}" to ${allowed.path}`,
    );
  }
  return given;
}

export interface DHCPRange {
  server: string;
  lower: string;
  upper: string;
  netmask: string;
}

/**
 * The original's DHCP server on the network: for a /24, the server at .100 and leases .101 to
 * .254; for other sizes the same split of the host part.
 */
export function dhcpRange(cidr: string): DHCPRange {
  const n = parseCIDR(cidr) as IPv4Net;
  const net = networkOf(n);
  const size = broadcastOf(n) - net;
  const server = net + Math.max(2, Math.floor(((size + 1) * 100) / 256));
  return {
    server: intToIP(server),
    lower: intToIP(server + 1),
    upper: intToIP(broadcastOf(n) - 1),
    netmask: intToIP(maskOf(n.prefix)),
  };
}

/**
 * Addresses the driver gives machines itself (on their seed), below the DHCP range: they are
 * known before the first boot (the engine's certificate names it) and do not change.
 */
export function staticAddresses(cidr: string): string[] {
  const n = parseCIDR(cidr) as IPv4Net;
  const net = networkOf(n);
  const dhcp = ipToInt(dhcpRange(cidr).server) as number;
  const out: string[] = [];
  for (let a = net + 2; a < dhcp; a++) if (a !== n.ip) out.push(intToIP(a));
  return out;
}

export interface HostOnlyInterface {
  name: string;
  ip: string;
  netmask: string;
}

export function parseHostOnlyIfs(text: string): HostOnlyInterface[] {
  return parseBlocks(text)
    .filter((b) => b.Name)
    .map((b) => ({ name: b.Name, ip: b.IPAddress ?? '', netmask: b.NetworkMask ?? '' }));
}

/**
 * The host-only interface for `cidr`: one that has the address already, else a new one given
 * it, and its DHCP server (unless noDHCP). Kept on rm: other machines share it.
 */
export async function ensureHostOnlyNetwork(
  vbox: VBoxManage,
  cidr: string,
  o: { noDHCP: boolean; log(line: string): void; signal?: AbortSignal },
): Promise<string> {
  const n = parseCIDR(cidr) as IPv4Net;
  const ip = intToIP(n.ip);
  const netmask = intToIP(maskOf(n.prefix));
  const ifs = parseHostOnlyIfs(await vbox.run(['list', 'hostonlyifs'], o.signal));
  let name = ifs.find((i) => i.ip === ip && i.netmask === netmask)?.name;
  if (!name) {
    // Another interface on an overlapping network: VirtualBox would route one of them away.
    const clash = ifs.find((i) => {
      const other = ipToInt(i.ip);
      const mask = ipToInt(i.netmask);
      if (other === undefined || mask === undefined || i.ip === '0.0.0.0') return false;
      const m = maskOf(Math.min(n.prefix, prefixOf(mask)));
      return (other & m) >>> 0 === (n.ip & m) >>> 0;
    });
    if (clash) {
      throw new MachineError(
        `host-only cidr conflicts with the network address of a host interface: ${clash.name} has ${clash.ip}/${clash.netmask}; give --virtualbox-hostonly-cidr ${clash.ip}/${n.prefix}, or another network`,
      );
    }
    o.log(`Creating the host-only network ${cidr}...`);
    const created = createdInterface(await vbox.run(['hostonlyif', 'create'], o.signal));
    if (!created) throw new MachineError('VBoxManage hostonlyif create did not name the interface it made');
    name = created;
    try {
      await vbox.run(['hostonlyif', 'ipconfig', name, '--ip', ip, '--netmask', netmask], o.signal);
    } catch (err) {
      // A new interface without the address is of no use to anyone.
      await vbox.run(['hostonlyif', 'remove', name], o.signal).catch(() => {});
      if (/E_ACCESSDENIED/.test(String((err as Error).message))) {
        throw new MachineError(
          `VirtualBox refused the host-only address ${cidr} (E_ACCESSDENIED): list its range in ${NETWORKS_CONF} (e.g. "* ${intToIP(networkOf(n))}/${n.prefix}") or choose --virtualbox-hostonly-cidr inside 192.168.56.0/21`,
        );
      }
      throw err;
    }
  }
  if (!o.noDHCP) await ensureDHCP(vbox, name, cidr, o.signal);
  return name;
}

async function ensureDHCP(
  vbox: VBoxManage,
  ifName: string,
  cidr: string,
  signal?: AbortSignal,
): Promise<void> {
  const netName = `HostInterfaceNetworking-${ifName}`;
  const want = dhcpRange(cidr);
  const servers = parseBlocks(await vbox.run(['list', 'dhcpservers'], signal));
  const cur = servers.find((s) => s.NetworkName === netName);
  // VirtualBox 5 wrote IP/lowerIPAddress/upperIPAddress; 6.1 and 7 write Dhcpd IP/LowerIPAddress/...
  const field = (b: Record<string, string>, ...keys: string[]) =>
    keys.map((k) => b[k]).find((v) => v !== undefined);
  const same =
    cur &&
    field(cur, 'Dhcpd IP', 'IP') === want.server &&
    field(cur, 'LowerIPAddress', 'lowerIPAddress') === want.lower &&
    field(cur, 'UpperIPAddress', 'upperIPAddress') === want.upper &&
    cur.NetworkMask === want.netmask &&
    /^(Yes|true)$/i.test(cur.Enabled ?? '');
  if (same) return;
  const args = [
    '--netname',
    netName,
    '--ip',
    want.server,
    '--netmask',
    want.netmask,
    '--lowerip',
    want.lower,
    '--upperip',
    want.upper,
    '--enable',
  ];
  await vbox.run(['dhcpserver', cur ? 'modify' : 'add', ...args], signal);
}
