import { readFile } from 'node:fs/promises';
import { MachineError } from '../../errors.js';
import { bool, num, str } from '../base.js';
import type { CloudConnection } from '../cloud/connection.js';
import { isGone } from '../cloud/errors.js';
import type { Ledger, ResourceKind } from '../cloud/ledger.js';
import type { ServerStatus } from '../cloud/wait.js';
import type { DriverContext } from '../driver.js';
import * as api from './api.js';
import { novaOf, type OpenStackMachine, sleep, TAG_KEY } from './machine.js';
import { serverGroups } from './security-group.js';
import { machineState, parseMetadata } from './state.js';
import { blockDeviceMapping, bootsFromVolume, prepareBootVolume } from './volumes.js';

/** The Nova server: its request, its making (recorded), its state while it boots, its address. */

/** POST /servers's body: the request the original sent, with the additions. */
export async function serverBody(m: OpenStackMachine): Promise<Record<string, unknown>> {
  const json = m.json;
  const udFile = str(json, 'UserDataFile');
  const userData = udFile ? await readFile(udFile) : undefined;
  const md = parseMetadata(str(json, 'Metadata'));
  const groups = serverGroups(json);
  const net = str(json, 'NetworkId');
  const server: Record<string, unknown> = {
    name: m.name,
    flavorRef: str(json, 'FlavorId'),
    ...(bootsFromVolume(json) ? {} : { imageRef: str(json, 'ImageId') }),
    key_name: str(json, 'KeyPairName'),
    metadata: { ...(typeof md === 'string' ? {} : md), [TAG_KEY]: m.tag },
    ...(userData ? { user_data: userData.toString('base64') } : {}),
    ...(groups.length ? { security_groups: groups.map((name) => ({ name })) } : {}),
    ...(str(json, 'AvailabilityZone') ? { availability_zone: str(json, 'AvailabilityZone') } : {}),
    ...(bool(json, 'ConfigDrive') ? { config_drive: true } : {}),
    ...(net ? { networks: [{ uuid: net }] } : {}),
  };
  const bdm = blockDeviceMapping(json);
  if (bdm) server.block_device_mapping_v2 = bdm;
  const group = str(json, 'ServerGroupID');
  return { server, ...(group ? { 'os:scheduler_hints': { group } } : {}) };
}

export async function createServer(m: OpenStackMachine, ctx: DriverContext, ledger: Ledger): Promise<void> {
  const nova = await novaOf(m, ctx);
  await prepareBootVolume(m, ctx, ledger, nova);
  const body = await serverBody(m);
  const entry = await ledger.intend('server', { by: 'metadata', value: m.tag }, `server ${m.name}`);
  const b = await nova.post<{ server?: { id: string } }>('servers', body);
  const id = b?.server?.id ?? '';
  if (!id) throw new MachineError('OpenStack did not say which server it made');
  await ledger.made(entry, id);
  m.set({ MachineId: id });
  await ctx.save();
}

/** The server's state while it boots; an ACTIVE server is also given to `active` (its addresses). */
export async function serverStatus(
  m: OpenStackMachine,
  signal: AbortSignal | undefined,
  active: (s: api.Server | undefined) => void,
): Promise<ServerStatus> {
  const s = await api.server(await novaOf(m, { debug: () => {}, signal }), m.serverId);
  active(s.status === 'ACTIVE' ? s : undefined);
  const state = machineState(s.status) || s.status;
  return {
    state: s.status === 'BUILD' ? 'Starting (BUILD)' : state,
    running: s.status === 'ACTIVE',
    failed:
      s.status === 'ERROR'
        ? s.fault?.message || 'the server is in ERROR state, without a fault message'
        : undefined,
  };
}

export interface WantedAddress {
  version: number;
  floating: boolean;
  network?: string;
}

/**
 * The address to reach the server at, waited for: `last` is the server as the running wait last
 * saw it, whose fixed addresses need no new request.
 */
export async function waitForAddress(
  m: OpenStackMachine,
  ctx: DriverContext,
  last: api.Server | undefined,
  pick: (s: api.Server, wanted: WantedAddress) => string,
): Promise<string> {
  const nova = await novaOf(m, ctx);
  const wanted = {
    version: num(m.json, 'IpVersion') || 4,
    floating: !!str(m.json, 'FloatingIpPool'),
    network: str(m.json, 'NetworkName') || undefined,
  };
  return ctx.waitFor(`an IPv${wanted.version} address of ${m.label()}`, async () => {
    const s = last && !wanted.floating ? last : await api.server(nova, m.serverId);
    last = undefined;
    const ip = pick(s, wanted);
    if (!ip)
      throw new MachineError(
        `no ${wanted.floating ? 'floating' : 'fixed'} IPv${wanted.version} address yet (it has: ${
          Object.values(s.addresses ?? {})
            .flat()
            .map((a) => a.addr)
            .join(', ') || 'none'
        })`,
      );
    return ip;
  });
}

export function serverKind(
  nova: () => Promise<CloudConnection>,
  machineName: string,
  timeoutMs: number,
  interval: number,
): ResourceKind {
  return {
    lookup: async (f) =>
      f.by === 'id'
        ? []
        : (
            await api.listAll<api.Server>(
              await nova(),
              `servers/detail${api.q({ name: `^${escapeRegex(machineName)}$` })}`,
              'servers',
            )
          )
            .filter((s) => s.metadata?.[TAG_KEY] === f.value)
            .map((s) => s.id),
    // Waited for: its ports hold the security group, and its key pair may go only after it.
    delete: async (id) => {
      const c = await nova();
      await c.delete(`servers/${id}`);
      const started = Date.now();
      for (;;) {
        try {
          await api.server(c, id);
        } catch (err) {
          if (isGone(err)) return;
          throw err;
        }
        if (Date.now() - started > timeoutMs)
          throw new MachineError(
            `server ${id} was still there ${Math.round(timeoutMs / 1000)} s after its delete`,
          );
        await sleep(interval);
      }
    },
    byHand: (id) => `openstack server delete ${id}`,
  };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
