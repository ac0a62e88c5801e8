import type { HostConfig, SwarmOptions, SwarmRole } from '../store/host.js';

/**
 * The clusters a store holds, from what each machine recorded in config.json: a Swarm-mode
 * member has a Role, and its Discovery names its cluster. Pure functions over configs, so that
 * `ls` can use them without loading anything that talks to engines.
 */

export interface Member {
  name: string;
  cluster: string;
  role: SwarmRole;
  clusterId: string;
  nodeId: string;
}

export function memberOf(config: HostConfig): Member | null {
  const s = config.HostOptions.SwarmOptions;
  if (s.Role !== 'manager' && s.Role !== 'worker') return null;
  return {
    name: config.Name,
    cluster: s.Discovery,
    role: s.Role,
    clusterId: s.ClusterID ?? '',
    nodeId: s.NodeID ?? '',
  };
}

export function members(configs: HostConfig[]): Member[] {
  return configs.map(memberOf).filter((m): m is Member => m !== null);
}

/** Cluster names, each with its members, in store order. */
export function clusters(all: Member[]): Map<string, Member[]> {
  const out = new Map<string, Member[]>();
  for (const m of all) out.set(m.cluster, [...(out.get(m.cluster) ?? []), m]);
  return out;
}

export type ClusterChoice =
  | { kind: 'found'; cluster: string; members: Member[] }
  | { kind: 'none'; name: string }
  | { kind: 'ambiguous'; names: string[] };

/**
 * The cluster a create asked for: `key` (--swarm-cluster or --swarm-discovery) is a cluster's
 * name or the name of one of its machines; without a key, the store's only cluster.
 */
export function chooseCluster(all: Member[], key: string): ClusterChoice {
  const byName = clusters(all);
  if (key !== '') {
    const machine = all.find((m) => m.name === key);
    const name = machine ? machine.cluster : key;
    const found = byName.get(name);
    return found ? { kind: 'found', cluster: name, members: found } : { kind: 'none', name: key };
  }
  if (byName.size === 1) {
    const [[cluster, found]] = [...byName];
    return { kind: 'found', cluster, members: found };
  }
  if (byName.size === 0) return { kind: 'none', name: '' };
  return { kind: 'ambiguous', names: [...byName.keys()] };
}

/** The SWARM column of `ls` for a Swarm-mode member: its cluster and role. */
export function swarmColumn(s: SwarmOptions): string | null {
  if (s.Role !== 'manager' && s.Role !== 'worker') return null;
  return `${s.Discovery} (${s.Role})`;
}

/**
 * `ls --filter swarm=VALUE` for a Swarm-mode member: VALUE names its cluster or one of that
 * cluster's managers (as the original's filter named a master), case-insensitively.
 */
export function matchesSwarmFilter(m: Member, all: Member[], values: string[]): boolean {
  const names = [
    m.cluster,
    ...all.filter((o) => o.cluster === m.cluster && o.role === 'manager').map((o) => o.name),
  ];
  return values.some((v) => names.some((n) => n.toLowerCase() === v.toLowerCase()));
}

/** SwarmOptions with the membership fields set (or cleared), in their place after the original's. */
export function withMembership(
  s: SwarmOptions,
  m: { cluster: string; role: SwarmRole; clusterId: string; nodeId: string; advertiseAddr: string } | null,
): SwarmOptions {
  const { Role: _r, ClusterID: _c, NodeID: _n, AdvertiseAddr: _a, ...rest } = s;
  if (!m) return rest;
  return {
    ...rest,
    Discovery: m.cluster,
    Role: m.role,
    ClusterID: m.clusterId,
    NodeID: m.nodeId,
    AdvertiseAddr: m.advertiseAddr,
  };
}
