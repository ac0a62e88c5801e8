import { MachineError } from '../../errors.js';
import { bool, str } from '../base.js';
import type { CloudConnection } from '../cloud/connection.js';
import { CloudAPIError } from '../cloud/errors.js';
import type { ResourceKind } from '../cloud/ledger.js';
import type { DriverContext } from '../driver.js';
import * as api from './api.js';
import { neutronOf, novaOf, type OpenStackMachine } from './machine.js';

/**
 * The floating IP of --openstack-floatingip-pool, from Neutron or nova-network: a free one of the
 * pool is reused and stays in the pool at rm; one allocated is recorded, and rm releases it.
 */

/** The pool must exist (and on Neutron be an external network, whose id is kept). */
export async function checkFloatingIPPool(m: OpenStackMachine, os: api.OpenStackAPI): Promise<void> {
  const pool = str(m.json, 'FloatingIpPool');
  if (!pool) return;
  if (!m.useNeutron) {
    const b = await os
      .conn('compute')
      .get<{ floating_ip_pools?: { name: string }[] }>('os-floating-ip-pools');
    const pools = b?.floating_ip_pools ?? [];
    if (!pools.some((p) => p.name === pool))
      throw new MachineError(
        `floating IP pool ${pool} does not exist; pools: ${pools.map((p) => p.name).join(', ') || 'none'}`,
      );
    return;
  }
  const nets = (
    await api.listAll<api.Network>(os.conn('network'), `networks${api.q({ name: pool })}`, 'networks')
  ).filter((n) => n.name === pool || n.id === pool);
  if (!nets.length)
    throw new MachineError(`floating IP pool ${pool} (--openstack-floatingip-pool) is not a network here`);
  if (nets[0]['router:external'] === false)
    throw new MachineError(
      `network ${pool} is not external: it cannot give floating IPs; name an external network`,
    );
  m.set({ FloatingIpPoolId: nets[0].id });
}

/** A free floating IP of the pool, else one allocated (and recorded: rm releases only that one). */
export async function attachFloatingIP(m: OpenStackMachine, ctx: DriverContext): Promise<void> {
  if (!m.useNeutron) await attachNovaFloatingIP(m, ctx);
  else await attachNeutronFloatingIP(m, ctx);
}

async function attachNovaFloatingIP(m: OpenStackMachine, ctx: DriverContext): Promise<void> {
  const ledger = m.ledger(ctx);
  const pool = str(m.json, 'FloatingIpPool');
  const nova = await novaOf(m, ctx);
  const b = await nova.get<{
    floating_ips?: { id: string; ip: string; pool: string; instance_id?: string | null }[];
  }>('os-floating-ips');
  let ip = (b?.floating_ips ?? []).find((f) => f.pool === pool && !f.instance_id);
  if (!ip) {
    const entry = await ledger.intend(
      'nova_floating_ip',
      { by: 'pool', value: pool },
      `floating IP from ${pool}`,
    );
    const made = await nova.post<{ floating_ip?: { id: string; ip: string; pool: string } }>(
      'os-floating-ips',
      {
        pool,
      },
    );
    if (!made?.floating_ip)
      throw new MachineError(`OpenStack did not say which floating IP it allocated from ${pool}`);
    ip = made.floating_ip;
    await ledger.made(entry, String(ip.id));
    m.set({ FloatingIpAllocated: true });
  }
  m.set({ FloatingIpID: String(ip.id), FloatingIp: ip.ip });
  await ctx.save();
  await api.action(nova, m.serverId, { addFloatingIp: { address: ip.ip } });
  ctx.log(
    `Floating IP ${ip.ip} ${bool(m.json, 'FloatingIpAllocated') ? 'allocated' : 'reused'} from ${pool}`,
  );
}

async function attachNeutronFloatingIP(m: OpenStackMachine, ctx: DriverContext): Promise<void> {
  const ledger = m.ledger(ctx);
  const pool = str(m.json, 'FloatingIpPool');
  const neutron = await neutronOf(m, ctx);
  const poolId = str(m.json, 'FloatingIpPoolId');
  const port = await ctx.waitFor(`the network port of ${m.label()}`, async () => {
    const ports = await api.listAll<api.Port>(
      neutron,
      `ports${api.q({ device_id: m.serverId, network_id: str(m.json, 'NetworkId') })}`,
      'ports',
    );
    const p = ports.find((x) => x.device_id === m.serverId);
    if (!p) throw new MachineError('no port yet');
    return p;
  });
  const free = (
    await api.listAll<api.FloatingIP>(
      neutron,
      `floatingips${api.q({ floating_network_id: poolId })}`,
      'floatingips',
    )
  ).filter((f) => !f.port_id && (!f.floating_network_id || f.floating_network_id === poolId));
  for (const f of free) {
    try {
      await neutron.request('PUT', `floatingips/${f.id}`, { floatingip: { port_id: port.id } });
      m.set({ FloatingIpID: f.id, FloatingIp: f.floating_ip_address, FloatingIpAllocated: false });
      await ctx.save();
      ctx.log(`Floating IP ${f.floating_ip_address} reused from ${pool}`);
      return;
    } catch (err) {
      // Another machine took it meanwhile: try the next, or allocate.
      if (!(err instanceof CloudAPIError && err.status === 409)) throw err;
    }
  }
  const description = `docker-machine ${m.name} ${m.tag}`;
  const entry = await ledger.intend(
    'floating_ip',
    { by: 'description', value: description },
    `floating IP from ${pool}`,
  );
  const b = await neutron.post<{ floatingip?: api.FloatingIP }>('floatingips', {
    floatingip: { floating_network_id: poolId, port_id: port.id, description },
  });
  const f = b?.floatingip;
  if (!f?.id) throw new MachineError(`OpenStack did not say which floating IP it allocated from ${pool}`);
  await ledger.made(entry, f.id);
  m.set({ FloatingIpID: f.id, FloatingIp: f.floating_ip_address, FloatingIpAllocated: true });
  await ctx.save();
  ctx.log(`Floating IP ${f.floating_ip_address} allocated from ${pool}`);
}

export function floatingIPKinds(
  nova: () => Promise<CloudConnection>,
  neutron: () => Promise<CloudConnection>,
): Record<string, ResourceKind> {
  return {
    floating_ip: {
      lookup: async (f) =>
        (await api.listAll<api.FloatingIP>(await neutron(), 'floatingips', 'floatingips'))
          .filter((x) => x.description === f.value)
          .map((x) => x.id),
      delete: async (id) => (await neutron()).delete(`floatingips/${id}`),
      byHand: (id) => `openstack floating ip delete ${id}`,
    },
    nova_floating_ip: {
      // nova-network's floating IPs carry no description: only a recorded id is known.
      lookup: async () => [],
      delete: async (id) => (await nova()).delete(`os-floating-ips/${id}`),
      byHand: (id) => `openstack floating ip delete ${id}`,
    },
  };
}
