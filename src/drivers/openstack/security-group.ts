import { MachineError } from '../../errors.js';
import type { DriverJSON } from '../../store/host.js';
import { bool, num, sshOnlyEngine, str, strs } from '../base.js';
import type { CloudConnection } from '../cloud/connection.js';
import type { Ledger, ResourceKind } from '../cloud/ledger.js';
import type { DriverContext } from '../driver.js';
import * as api from './api.js';
import { neutronOf, type OpenStackMachine } from './machine.js';

/**
 * The server's security groups: those named by --openstack-sec-groups, else (Neutron only) a
 * group of this machine's own with the ingress it needs, recorded, which rm deletes unless other
 * servers' ports use it by then.
 */

/** Named groups must exist (Neutron); nova-network's server gets "default" when none is named. */
export async function checkSecurityGroups(m: OpenStackMachine, os: api.OpenStackAPI): Promise<void> {
  const groups = strs(m.json, 'SecurityGroups');
  if (!m.useNeutron) {
    if (groups.length === 0) m.set({ SecurityGroups: ['default'] });
    return;
  }
  if (!groups.length) return;
  const all = await api.listAll<api.SecurityGroup>(os.conn('network'), 'security-groups', 'security_groups');
  const missing = groups.filter((g) => !all.some((x) => x.name === g || x.id === g));
  if (missing.length)
    throw new MachineError(
      `security group ${missing.join(', ')} (--openstack-sec-groups) does not exist; leave it out to have one made for this machine`,
    );
}

/** The groups the server is made in: the machine's own, else those named. */
export function serverGroups(json: DriverJSON): string[] {
  return str(json, 'SecurityGroupID') ? [str(json, 'SecurityGroupID')] : strs(json, 'SecurityGroups');
}

/**
 * Ingress this machine needs: SSH and the engine from anywhere; a swarm manager's ports (Swarm
 * mode's 2377 and the original's standalone port) from anywhere; and a swarm member's gossip
 * and overlay ports from its network's subnets, where the other members are (each machine has
 * a group of its own, so a rule naming the group would admit no other member).
 */
export function ingressRules(
  json: DriverJSON,
  cidrs: string[],
): { protocol: string; port: number; from?: string }[] {
  const r: { protocol: string; port: number; from?: string }[] = [
    { protocol: 'tcp', port: num(json, 'SSHPort') || 22 },
    ...(sshOnlyEngine(json) ? [] : [{ protocol: 'tcp', port: num(json, 'EnginePort') || 2376 }]),
  ];
  if (bool(json, 'SwarmMaster')) {
    const m = /:(\d+)\/?$/.exec(str(json, 'SwarmHost'));
    r.push({ protocol: 'tcp', port: 2377 }, { protocol: 'tcp', port: m ? Number(m[1]) : 3376 });
  }
  if (str(json, 'SwarmHost'))
    for (const from of cidrs)
      r.push(
        { protocol: 'tcp', port: 7946, from },
        { protocol: 'udp', port: 7946, from },
        { protocol: 'udp', port: 4789, from },
      );
  return r.filter(
    (x, i) => r.findIndex((y) => y.port === x.port && y.protocol === x.protocol && y.from === x.from) === i,
  );
}

/** The CIDRs of the machine's network, of its IP version, for a swarm member's rules. */
async function memberCIDRs(
  json: DriverJSON,
  ctx: DriverContext,
  neutron: CloudConnection,
): Promise<string[]> {
  if (!str(json, 'SwarmHost')) return [];
  const net = str(json, 'NetworkId');
  if (!net) {
    ctx.log(
      'Swarm ports 7946 and 4789 are not opened: give the network (--openstack-net-name) to open them to it',
    );
    return [];
  }
  const v = num(json, 'IpVersion') || 4;
  const subnets = await api.listAll<{ network_id: string; cidr: string; ip_version: number }>(
    neutron,
    `subnets${api.q({ network_id: net })}`,
    'subnets',
  );
  return subnets.filter((x) => x.network_id === net && Number(x.ip_version) === v).map((x) => x.cidr);
}

/** A security group of this machine's own when none is named (Neutron only). */
export async function createSecurityGroup(
  m: OpenStackMachine,
  ctx: DriverContext,
  ledger: Ledger,
): Promise<void> {
  if (!m.useNeutron || strs(m.json, 'SecurityGroups').length) return;
  const neutron = await neutronOf(m, ctx);
  const name = `docker-machine-${m.name}-${m.tag}`;
  const cidrs = await memberCIDRs(m.json, ctx, neutron);
  const entry = await ledger.intend('security_group', { by: 'name', value: name }, `security group ${name}`);
  const b = await neutron.post<{ security_group?: { id: string } }>('security-groups', {
    security_group: { name, description: `docker-machine ${m.name}` },
  });
  const id = b?.security_group?.id ?? '';
  if (!id) throw new MachineError(`OpenStack did not say which security group it made for ${name}`);
  await ledger.made(entry, id);
  m.set({ SecurityGroupID: id });
  await ctx.save();
  const v6 = num(m.json, 'IpVersion') === 6;
  for (const rule of ingressRules(m.json, cidrs)) {
    await neutron.post('security-group-rules', {
      security_group_rule: {
        security_group_id: id,
        direction: 'ingress',
        ethertype: v6 ? 'IPv6' : 'IPv4',
        protocol: rule.protocol,
        port_range_min: rule.port,
        port_range_max: rule.port,
        remote_ip_prefix: rule.from ?? (v6 ? '::/0' : '0.0.0.0/0'),
      },
    });
  }
}

export function securityGroupKind(neutron: () => Promise<CloudConnection>): ResourceKind {
  return {
    lookup: async (f) =>
      (
        await api.listAll<api.SecurityGroup>(
          await neutron(),
          `security-groups${api.q({ name: f.value })}`,
          'security_groups',
        )
      )
        .filter((g) => g.name === f.value)
        .map((g) => g.id),
    keep: async (id) => {
      const ports = (await api.listAll<api.Port>(await neutron(), 'ports', 'ports')).filter((p) =>
        p.security_groups?.includes(id),
      );
      return ports.length
        ? `ports of other servers use it (${ports.map((p) => p.device_id || p.id).join(', ')}); delete it once they are gone`
        : '';
    },
    delete: async (id) => (await neutron()).delete(`security-groups/${id}`),
    byHand: (id) => `openstack security group delete ${id}`,
  };
}
