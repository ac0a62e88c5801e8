import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MachineError } from '../../errors.js';
import { type DockerAPI, query } from './engine-api.js';
import { formatCIDR, formatIPv4, lowestFree, parseIPv4 } from './ipv4.js';
import type { MachineNetwork } from './network.js';

/**
 * A machine's fixed address on its network, chosen at create while the caller holds the store's
 * network lock: the lowest one that no container on the network holds or asks for (a stopped
 * machine's container keeps asking for its address) and that no other machine of the store has
 * recorded (a create that has recorded its address may not have made its container yet).
 */
export async function chooseAddress(
  api: DockerAPI,
  net: MachineNetwork,
  storePath: string,
  self: string,
  avoid: readonly string[],
): Promise<string> {
  if (!net.subnet) throw new MachineError(`network "${net.name}" has no IPv4 subnet to choose an address in`);
  const used = new Set<number>([...net.reserved, ...net.endpoints]);
  const add = (s: string | undefined) => {
    const ip = s ? parseIPv4(s.split('/')[0]) : undefined;
    if (ip !== undefined) used.add(ip);
  };
  for (const a of await containerAddresses(api, net.name)) add(a);
  for (const a of recordedAddresses(storePath, net.name, self)) add(a);
  for (const a of avoid) add(a);
  const ip = lowestFree(net.subnet, used, net.dynamicRange);
  if (ip === undefined) {
    throw new MachineError(
      `no free address is left in subnet ${formatCIDR(net.subnet)} of network "${net.name}" on ${api.where} (each is held by a container or recorded by a machine); remove machines you no longer need, or give --docker-network another network`,
    );
  }
  return formatIPv4(ip);
}

interface ContainerSummary {
  NetworkSettings?: {
    Networks?: Record<string, { IPAddress?: string; IPAMConfig?: { IPv4Address?: string } | null }> | null;
  };
}

/** What every container on the network, running or not, holds there or asks for. */
async function containerAddresses(api: DockerAPI, network: string): Promise<string[]> {
  const all = await api.json<ContainerSummary[]>('GET', `/containers/json${query({ all: 1 })}`);
  const out: string[] = [];
  for (const c of all) {
    const ep = c.NetworkSettings?.Networks?.[network];
    if (!ep) continue;
    if (ep.IPAddress) out.push(ep.IPAddress);
    if (ep.IPAMConfig?.IPv4Address) out.push(ep.IPAMConfig.IPv4Address);
  }
  return out;
}

/** The addresses the store's other docker machines on the network have recorded. */
export function recordedAddresses(storePath: string, network: string, self: string): string[] {
  const dir = join(storePath, 'machines');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => !n.startsWith('.') && n !== self);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names) {
    let d: Record<string, unknown> | undefined;
    try {
      const host = JSON.parse(readFileSync(join(dir, name, 'config.json'), 'utf8'));
      // Writes are atomic, so an unreadable config is a broken one; should its machine hold the
      // address chosen here, the engine refuses it at start and create chooses again.
      d = host?.DriverName === 'docker' ? host.Driver : undefined;
    } catch {
      continue;
    }
    if (d && d.Network === network && typeof d.NetworkAddress === 'string' && d.NetworkAddress) {
      out.push(d.NetworkAddress);
    }
  }
  return out;
}

/** The engine's refusal at start of an address another container holds (not a host port's). */
export function isAddressConflict(message: string): boolean {
  return /(^|: )Address already in use$/.test(message);
}

/** The engine's refusal at start of a fixed address on a network made without a subnet. */
export function isFixedAddressRefused(message: string): boolean {
  return /only when connecting to networks with user configured subnets/.test(message);
}
