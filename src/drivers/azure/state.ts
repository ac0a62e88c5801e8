import { SWARM_NODE_PORTS } from '../cloud/swarm-ports.js';
import type { MachineState } from '../driver.js';

/**
 * The pure parts of the azure driver: states, names and values as Azure takes them, and the
 * security rules the original opened.
 */

/** The first PowerState/ code of a VM's instance view, as the original read it (clouds.md §3.2). */
export function machineState(statuses: { code?: string }[] | undefined): MachineState {
  const code = (statuses ?? []).map((s) => s.code ?? '').find((c) => c.startsWith('PowerState/'));
  switch (code?.slice('PowerState/'.length)) {
    case 'running':
      return 'Running';
    case 'starting':
      return 'Starting';
    case 'stopping':
    case 'deallocating':
      return 'Stopping';
    case 'stopped':
    case 'deallocated':
      return 'Stopped';
    default:
      return '';
  }
}

/** The PowerState/ word itself (running, deallocated, ...), '' when there is none yet. */
export function powerState(statuses: { code?: string }[] | undefined): string {
  const code = (statuses ?? []).map((s) => s.code ?? '').find((c) => c.startsWith('PowerState/'));
  return code ? code.slice('PowerState/'.length) : '';
}

export interface ImageURN {
  publisher: string;
  offer: string;
  sku: string;
  version: string;
}

/** publisher:offer:sku:version, as az and the original take an image; undefined when it is not one. */
export function parseURN(s: string): ImageURN | undefined {
  const parts = s.split(':');
  if (parts.length !== 4 || parts.some((p) => !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(p))) return undefined;
  const [publisher, offer, sku, version] = parts;
  return { publisher, offer, sku, version };
}

/** Compares image versions (1.2.10 after 1.2.9) part by part, numerically where both are numbers. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = Number(x);
    const ny = Number(y);
    const c =
      Number.isFinite(nx) && Number.isFinite(ny) && x !== '' && y !== '' ? nx - ny : x.localeCompare(y);
    if (c !== 0) return c;
  }
  return 0;
}

/** "[resourcegroup:]name" as the original's --azure-vnet took it; the group defaults to the machine's. */
export function groupAndName(ref: string, defaultGroup: string): { group: string; name: string } {
  const i = ref.indexOf(':');
  return i < 0 ? { group: defaultGroup, name: ref } : { group: ref.slice(0, i), name: ref.slice(i + 1) };
}

/** Why Azure would refuse a resource group name ('' when it takes it). */
export function resourceGroupProblem(name: string): string {
  if (name.length < 1 || name.length > 90) return 'it must be 1-90 characters long';
  if (!/^[-\w.()]+$/u.test(name)) return 'only letters, digits, _ - . ( ) are allowed';
  if (name.endsWith('.')) return 'it may not end with a period';
  return '';
}

/** Why Azure would refuse a network resource name (vnet, subnet, NSG, IP): 1-80, word characters, - and . */
export function networkNameProblem(name: string): string {
  if (!/^[A-Za-z0-9][\w.-]{0,78}[\w]$|^[A-Za-z0-9]$/.test(name))
    return 'expected 1-80 letters, digits, _ - and ., starting with a letter or digit and ending with a letter, digit or _';
  return '';
}

/** Linux admin names Azure refuses (its documented list). */
const RESERVED_USERS = new Set(
  [
    'administrator',
    'admin',
    'user',
    'user1',
    'test',
    'user2',
    'test1',
    'user3',
    'admin1',
    '1',
    '123',
    'a',
    'actuser',
    'adm',
    'admin2',
    'aspnet',
    'backup',
    'console',
    'david',
    'guest',
    'john',
    'owner',
    'root',
    'server',
    'sql',
    'support',
    'support_388945a0',
    'sys',
    'test2',
    'test3',
    'user4',
    'user5',
  ].map((s) => s.toLowerCase()),
);

export function reservedUser(name: string): boolean {
  return RESERVED_USERS.has(name.toLowerCase());
}

/** key,value,key,value as the forks' --azure-tags; the problem with it, or ''. */
export function parseTags(s: string): { tags: Record<string, string>; problem: string } {
  const tags: Record<string, string> = {};
  if (!s.trim()) return { tags, problem: '' };
  const parts = s.split(',').map((p) => p.trim());
  if (parts.length % 2 !== 0)
    return { tags, problem: `--azure-tags "${s}": expected key,value pairs (key1,value1,key2,value2)` };
  for (let i = 0; i < parts.length; i += 2) {
    const [k, v] = [parts[i], parts[i + 1]];
    if (!k || k.length > 512 || /[<>%&\\?/]/.test(k))
      return {
        tags,
        problem: `--azure-tags: "${k}" is not a tag name Azure takes (1-512 characters, none of < > % & \\ ? /)`,
      };
    if (v.length > 256)
      return { tags, problem: `--azure-tags: the value of ${k} is longer than 256 characters` };
    tags[k] = v;
  }
  return { tags, problem: '' };
}

export interface OpenPort {
  port: number;
  proto: 'Tcp' | 'Udp';
}

/** PORT[/tcp|udp]; undefined when it is not one. */
export function parseOpenPort(s: string): OpenPort | undefined {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(s.trim());
  if (!m) return undefined;
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return undefined;
  return { port, proto: (m[2] ?? 'tcp').toLowerCase() === 'udp' ? 'Udp' : 'Tcp' };
}

export interface SecurityRule {
  name: string;
  properties: {
    protocol: string;
    sourcePortRange: string;
    destinationPortRange: string;
    sourceAddressPrefix: string;
    destinationAddressPrefix: string;
    access: 'Allow';
    priority: number;
    direction: 'Inbound';
  };
}

/**
 * The original's rules: SSHAllowAny (100), DockerAllowAny (300), DockerSwarmAllowAny (500, a
 * swarm master), then each --azure-open-port from 1000 as Port<p>-<proto>AllowAny. Added here:
 * Swarm mode's manager port (510) and, for any swarm member, its node ports from the virtual
 * network (520-540).
 */
export function securityRules(o: {
  sshPort: number;
  /** None for an SSH-only engine (--engine-endpoint ssh): its port stays closed. */
  dockerPort?: number;
  swarmPort?: number;
  /** A swarm member (manager or worker): Swarm mode's node ports from the virtual network. */
  swarmNode?: boolean;
  open: OpenPort[];
}): SecurityRule[] {
  const rule = (name: string, port: number, proto: string, priority: number, source = '*'): SecurityRule => ({
    name,
    properties: {
      protocol: proto,
      sourcePortRange: '*',
      destinationPortRange: String(port),
      sourceAddressPrefix: source,
      destinationAddressPrefix: '*',
      access: 'Allow',
      priority,
      direction: 'Inbound',
    },
  });
  const rules = [rule('SSHAllowAny', o.sshPort, 'Tcp', 100)];
  if (o.dockerPort) rules.push(rule('DockerAllowAny', o.dockerPort, 'Tcp', 300));
  if (o.swarmPort) {
    rules.push(rule('DockerSwarmAllowAny', o.swarmPort, 'Tcp', 500));
    // A Swarm-mode manager (what --swarm-master makes here) is joined on 2377.
    rules.push(rule('SwarmManagerAllowAny', 2377, 'Tcp', 510));
  }
  if (o.swarmNode) {
    // Gossip and overlay (VXLAN) between the swarm's machines: from the virtual network only.
    let priority = 520;
    for (const p of SWARM_NODE_PORTS) {
      const proto = p.proto === 'tcp' ? 'Tcp' : 'Udp';
      rules.push(rule(`SwarmNode${p.port}-${proto}AllowVnet`, p.port, proto, priority, 'VirtualNetwork'));
      priority += 10;
    }
  }
  let priority = 1000;
  const seen = new Set(rules.map((r) => `${r.properties.destinationPortRange}/${r.properties.protocol}`));
  for (const p of o.open) {
    const key = `${p.port}/${p.proto}`;
    if (seen.has(key)) continue;
    seen.add(key);
    rules.push(rule(`Port${p.port}-${p.proto}AllowAny`, p.port, p.proto, priority++));
  }
  return rules;
}

/** A location as ARM names it: "West US" and "westus" are the same. */
export function locationKey(s: string): string {
  return s.replace(/\s+/g, '').toLowerCase();
}
