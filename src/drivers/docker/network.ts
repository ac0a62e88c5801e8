import { errorMessage, MachineError } from '../../errors.js';
import { type DockerAPI, EngineAPIError } from './engine-api.js';
import { formatCIDR, parseCIDR, parseIPv4, type Subnet, upperHalf } from './ipv4.js';

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
      if (!(await createNetwork(api, name, { [LABEL_ADDRESSING]: 'choosing' }))) continue;
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
    if (!made) continue;
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

/** False when a network of that name appeared meanwhile, or its subnet was taken meanwhile. */
async function createNetwork(
  api: DockerAPI,
  name: string,
  labels: Record<string, string>,
  ipam?: IPAMConfig,
): Promise<boolean> {
  try {
    await api.json('POST', '/networks/create', {
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { [LABEL_NETWORK]: 'true', ...labels },
      ...(ipam ? { IPAM: { Driver: 'default', Config: [ipam] } } : {}),
    });
    return true;
  } catch (err) {
    if (err instanceof EngineAPIError && err.status === 409) return false;
    if (ipam && /overlaps/i.test(errorMessage(err))) return false;
    throw networkError(api, name, err);
  }
}

function networkError(api: DockerAPI, name: string, err: unknown): MachineError {
  return new MachineError(`creating network "${name}" on ${api.where} failed: ${errorMessage(err)}`);
}

/** The one line said when machines on `name` get a new address at each start. */
export function dynamicAddressNote(name: string): string {
  return `Network ${name} has no configured subnet, so the engine may give this machine another address on it when it restarts; to pin addresses, remove the machines on it and the network (docker network rm ${name}): the next create makes it again with a fixed subnet`;
}
