import { readFileSync } from 'node:fs';
import { endianness, networkInterfaces } from 'node:os';
import { errorMessage, MachineError } from '../../errors.js';
import { type DockerAPI, EngineAPIError, parseDockerHost } from './engine-api.js';
import { contains, formatCIDR, parseCIDR, parseIPv4, type Subnet, upperHalf } from './ipv4.js';

/**
 * The user-defined network the machines share, so that they reach each other by address and by
 * name (the engine's embedded DNS), as swarm needs. Made on first use, never removed by `rm`:
 * other machines may still be on it.
 *
 * The engine gives a container a fixed address only on a network whose subnet was configured
 * when it was made (otherwise each start takes the lowest free one, and two machines can swap
 * addresses across a stop and start). So the driver makes the network with the subnet the engine
 * itself would choose (free of the host's routes and other networks): made once without one,
 * read, removed, and made again with that subnet written in.
 *
 * An engine whose address pools are used up (many networks, or routes of its host covering
 * them) refuses a network without a subnet. Then the driver picks a free private /24 itself:
 * one that no network of the engine uses and, when the engine runs on this computer, no route
 * or interface of this computer covers (the engine checks only its own networks).
 */
export const DEFAULT_NETWORK = 'docker-machine';
export const LABEL_NETWORK = 'io.docker-machine.network';
/** "fixed" on a network made with its subnet written in; "choosing" while that is being done. */
export const LABEL_ADDRESSING = 'io.docker-machine.network.addressing';

/**
 * fixed: made by this driver with a configured subnet; machines get fixed addresses.
 * dynamic: the engine chose its subnet (an older version of this driver made it): the engine
 *   gives addresses at each start.
 * unknown: someone else's network; fixed addresses work if it was made with --subnet.
 */
export type Addressing = 'fixed' | 'dynamic' | 'unknown';

export interface MachineNetwork {
  id: string;
  name: string;
  addressing: Addressing;
  subnet?: Subnet;
  /** Addresses never given to a machine: the gateway and the IPAM config's auxiliary ones. */
  reserved: number[];
  /** Where the engine hands out addresses of its own (the IPAM config's IPRange). */
  dynamicRange?: Subnet;
  /** The addresses of the endpoints on it now (running containers). */
  endpoints: number[];
}

interface IPAMConfig {
  Subnet?: string;
  Gateway?: string;
  IPRange?: string;
  AuxiliaryAddresses?: Record<string, string> | null;
}

interface NetworkInfo {
  Id: string;
  Name: string;
  Driver: string;
  Labels: Record<string, string> | null;
  IPAM: { Config: IPAMConfig[] | null } | null;
  Containers: Record<string, { IPv4Address?: string }> | null;
}

/** Rounds of make-and-remake before giving up (another program may take the subnet meanwhile). */
const NETWORK_ATTEMPTS = 3;

/**
 * The network, made when missing. The caller holds the store's network lock, so no other create
 * of this store makes or remakes it at the same time.
 */
export async function ensureNetwork(
  api: DockerAPI,
  name: string,
  log: (l: string) => void,
): Promise<MachineNetwork> {
  for (let attempt = 1; attempt <= NETWORK_ATTEMPTS; attempt++) {
    let found = await inspectNetwork(api, name);
    if (found && found.Labels?.[LABEL_ADDRESSING] !== 'choosing') return describe(api, found);
    if (!found) {
      log(`Creating network ${name}...`);
      // Labelled "choosing": a create killed before the remake leaves a network the next one finishes.
      const outcome = await createNetwork(api, name, { [LABEL_ADDRESSING]: 'choosing' });
      if (outcome === 'taken') continue;
      if (outcome === 'no-pool') {
        const subnet = await subnetOfOurOwn(api, name, log);
        const range = upperHalf(subnet);
        const made = await createNetwork(
          api,
          name,
          { [LABEL_ADDRESSING]: 'fixed' },
          { Subnet: formatCIDR(subnet), ...(range ? { IPRange: formatCIDR(range) } : {}) },
        );
        if (made !== 'made') continue;
        found = await inspectNetwork(api, name);
        if (found) return describe(api, found);
        continue;
      }
      found = await inspectNetwork(api, name);
      if (!found) continue;
    }
    const chosen = ipv4Config(found);
    if (!chosen?.Subnet) return describe(api, found);
    try {
      await api.call('DELETE', `/networks/${encodeURIComponent(found.Id)}`);
    } catch (err) {
      // A container joined it meanwhile (not one of ours: they wait for the lock): keep it as it is.
      if (err instanceof EngineAPIError && (err.status === 403 || err.status === 409))
        return describe(api, found);
      if (!(err instanceof EngineAPIError && err.status === 404)) throw networkError(api, name, err);
    }
    const subnet = parseCIDR(chosen.Subnet);
    const range = subnet && upperHalf(subnet);
    const made = await createNetwork(
      api,
      name,
      { [LABEL_ADDRESSING]: 'fixed' },
      {
        Subnet: chosen.Subnet,
        ...(chosen.Gateway ? { Gateway: chosen.Gateway } : {}),
        ...(range ? { IPRange: formatCIDR(range) } : {}),
      },
    );
    if (made !== 'made') continue;
    found = await inspectNetwork(api, name);
    if (found) return describe(api, found);
  }
  throw new MachineError(
    `network "${name}" on ${api.where} could not be made in ${NETWORK_ATTEMPTS} attempts (another program kept making or taking it); try again, or make it yourself with docker network create --subnet and give its name to --docker-network`,
  );
}

function inspectNetwork(api: DockerAPI, name: string): Promise<NetworkInfo | null> {
  return api.jsonOrNull<NetworkInfo>('GET', `/networks/${encodeURIComponent(name)}`);
}

function ipv4Config(n: NetworkInfo): IPAMConfig | undefined {
  return (n.IPAM?.Config ?? []).find((c) => c.Subnet && parseCIDR(c.Subnet));
}

function describe(api: DockerAPI, n: NetworkInfo): MachineNetwork {
  if (n.Driver !== 'bridge' && n.Driver !== 'overlay' && n.Driver !== 'macvlan') {
    throw new MachineError(
      `network "${n.Name}" on ${api.where} uses the ${n.Driver} driver; give --docker-network a bridge network`,
    );
  }
  const c = ipv4Config(n);
  const subnet = c?.Subnet ? parseCIDR(c.Subnet) : undefined;
  const label = n.Labels?.[LABEL_ADDRESSING];
  const addressing: Addressing = !subnet
    ? 'dynamic'
    : label === 'fixed'
      ? 'fixed'
      : n.Labels?.[LABEL_NETWORK]
        ? 'dynamic'
        : 'unknown';
  const addresses = (xs: (string | undefined)[]) =>
    xs.map((x) => (x ? parseIPv4(x.split('/')[0]) : undefined)).filter((x) => x !== undefined);
  return {
    id: n.Id,
    name: n.Name,
    addressing,
    subnet,
    reserved: addresses([c?.Gateway, ...Object.values(c?.AuxiliaryAddresses ?? {})]),
    dynamicRange: c?.IPRange ? parseCIDR(c.IPRange) : undefined,
    endpoints: addresses(Object.values(n.Containers ?? {}).map((e) => e.IPv4Address)),
  };
}

/**
 * taken: a network of that name appeared meanwhile, or its subnet was taken meanwhile.
 * no-pool: the engine has no free subnet left in its address pools (asked without a subnet).
 */
async function createNetwork(
  api: DockerAPI,
  name: string,
  labels: Record<string, string>,
  ipam?: IPAMConfig,
): Promise<'made' | 'taken' | 'no-pool'> {
  try {
    await api.json('POST', '/networks/create', {
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { [LABEL_NETWORK]: 'true', ...labels },
      ...(ipam ? { IPAM: { Driver: 'default', Config: [ipam] } } : {}),
    });
    return 'made';
  } catch (err) {
    if (err instanceof EngineAPIError && err.status === 409) return 'taken';
    if (ipam && /overlaps/i.test(errorMessage(err))) return 'taken';
    if (!ipam && isPoolExhausted(err)) return 'no-pool';
    throw networkError(api, name, err);
  }
}

/**
 * The engine's refusal when its pools are used up: 20.10 says "could not find an available,
 * non-overlapping IPv4 address pool among the defaults to assign to the network" (with status
 * 404), later versions "all predefined address pools have been fully subnetted".
 */
export function isPoolExhausted(err: unknown): boolean {
  return /non-overlapping IPv4 address pool|address pools have been fully subnetted/i.test(errorMessage(err));
}

/** Where the driver looks for a subnet of its own, in this order, in /24 steps. */
const PRIVATE_RANGES = ['172.16.0.0/12', '192.168.0.0/16', '10.0.0.0/8'].map((c) => parseCIDR(c) as Subnet);
const OWN_PREFIX = 24;

function overlaps(a: Subnet, b: Subnet): boolean {
  return contains(a, b.base) || contains(b, a.base);
}

/**
 * The first private /24 that overlaps none of `taken`. 172.16.0.0/16 comes first: it lies
 * outside the engine's default pools (172.17-31, 192.168), so the engine never hands it out later.
 */
export function chooseFreeSubnet(taken: readonly Subnet[]): Subnet | undefined {
  const step = 2 ** (32 - OWN_PREFIX);
  for (const range of PRIVATE_RANGES) {
    const end = range.base + 2 ** (32 - range.prefix);
    for (let base = range.base; base < end; base += step) {
      const candidate = { base, prefix: OWN_PREFIX };
      const clash = taken.find((t) => overlaps(t, candidate));
      // Skip past the whole clashing subnet at once when it is larger than a step.
      if (clash) {
        if (clash.prefix < OWN_PREFIX) base = Math.max(base, clash.base + 2 ** (32 - clash.prefix) - step);
        continue;
      }
      return candidate;
    }
  }
  return undefined;
}

/**
 * The IPv4 routes of /proc/net/route (Linux), the default route left out: its destination and
 * mask are printed as hexadecimal numbers in the host's byte order.
 */
export function parseRouteTable(text: string, littleEndian = endianness() === 'LE'): Subnet[] {
  const out: Subnet[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !/^[0-9A-Fa-f]{8}$/.test(f[1]) || !/^[0-9A-Fa-f]{8}$/.test(f[7])) continue;
    const toAddr = (hex: string) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(Number.parseInt(hex, 16));
      return littleEndian ? b.readUInt32LE(0) : b.readUInt32BE(0);
    };
    const mask = toAddr(f[7]);
    if (mask === 0) continue;
    const prefix = 32 - Math.log2(2 ** 32 - mask);
    if (!Number.isInteger(prefix)) continue;
    out.push({ base: (toAddr(f[1]) & mask) >>> 0, prefix });
  }
  return out;
}

/** The subnets this computer uses: its routes and its interfaces' own subnets. */
function localSubnets(): Subnet[] {
  const out: Subnet[] = [];
  try {
    out.push(...parseRouteTable(readFileSync('/proc/net/route', 'utf8')));
  } catch {}
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      const s = a.family === 'IPv4' && a.cidr ? parseCIDR(a.cidr) : undefined;
      if (s && s.prefix > 0) out.push(s);
    }
  }
  return out;
}

/**
 * Whether the engine runs on this computer: a unix socket, or tcp to a loopback address or to
 * an address of one of this computer's interfaces.
 */
export function engineIsLocal(host: string, ownAddresses: readonly string[] = interfaceAddresses()): boolean {
  let target: { socketPath?: string; host?: string };
  try {
    target = parseDockerHost(host);
  } catch {
    return false;
  }
  if (target.socketPath) return true;
  const h = target.host ?? '';
  return h === 'localhost' || h === '::1' || /^127\./.test(h) || ownAddresses.includes(h);
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((as) => (as ?? []).map((a) => a.address));
}

/** A /24 for `name` that collides with nothing the driver can see, or a one-line error. */
async function subnetOfOurOwn(api: DockerAPI, name: string, log: (l: string) => void): Promise<Subnet> {
  const networks = (await api.json<NetworkInfo[]>('GET', '/networks')) ?? [];
  const taken = networks.flatMap((n) =>
    (n.IPAM?.Config ?? []).map((c) => (c.Subnet ? parseCIDR(c.Subnet) : undefined)).filter((s) => !!s),
  );
  const local = engineIsLocal(api.endpoint.host);
  if (local) taken.push(...localSubnets());
  else {
    // A bridge over the address the engine is reached at would cut it off from us.
    const at = parseIPv4(parseDockerHost(api.endpoint.host).host ?? '');
    if (at !== undefined) taken.push({ base: at, prefix: 32 });
  }
  const subnet = chooseFreeSubnet(taken);
  if (!subnet) {
    throw new MachineError(
      `${api.where} has no free address pool for network "${name}" and every private /24 is in use; give --docker-network an existing network, or remove unused networks (docker network prune)`,
    );
  }
  log(
    `The engine's address pools are used up: making network ${name} on ${formatCIDR(subnet)}, which no network of the engine${local ? ' and no route of this computer' : ''} uses`,
  );
  return subnet;
}

function networkError(api: DockerAPI, name: string, err: unknown): MachineError {
  return new MachineError(`creating network "${name}" on ${api.where} failed: ${errorMessage(err)}`);
}

/** The one line said when machines on `name` get a new address at each start. */
export function dynamicAddressNote(name: string): string {
  return `Network ${name} has no configured subnet, so the engine may give this machine another address on it when it restarts; to pin addresses, remove the machines on it and the network (docker network rm ${name}): the next create makes it again with a fixed subnet`;
}
