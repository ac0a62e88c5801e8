import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { type ApiError, novaError } from './errors.js';
import { novaTime, sshFingerprint } from './fake.js';
import { type Ctx, isObj, page, type Reply } from './misc.js';
import { floatingIpBody } from './neutron.js';
import type { NetworkState, Obj, ServerState } from './types.js';

/**
 * Nova's compute API at microversion 2.1, written from the compute API reference and checked
 * against its samples (../shared/reference/api-specs/openstack/nova/doc/api_samples/servers).
 * Request bodies are validated as Nova's JSON schemas do (additionalProperties false on a server
 * create: unknown fields are a 400), then against the state (unknown flavor, image, key, network:
 * 400; a power action in the wrong state: 409 conflictingRequest; quota: 403).
 */

const SERVER_FIELDS = [
  'name',
  'imageRef',
  'flavorRef',
  'adminPass',
  'metadata',
  'networks',
  'OS-DCF:diskConfig',
  'accessIPv4',
  'accessIPv6',
  'personality',
  'availability_zone',
  'block_device_mapping',
  'block_device_mapping_v2',
  'config_drive',
  'key_name',
  'min_count',
  'max_count',
  'return_reservation_id',
  'security_groups',
  'user_data',
];
const BDM_FIELDS = [
  'source_type',
  'destination_type',
  'uuid',
  'boot_index',
  'volume_size',
  'delete_on_termination',
  'device_name',
  'guest_format',
  'disk_bus',
  'device_type',
  'no_device',
  'connection_info',
  'snapshot_id',
  'volume_id',
  'image_id',
];
/**
 * The newest microversion: the fake answers with 2.1's bodies only, so it says so, and a client
 * asking for more gets Nova's 406.
 */
export const MAX_MICROVERSION = '2.1';
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Nova's schema error: "Invalid input for field/attribute <last path part>. Value: <value>. <message>". */
function invalid(field: string, value: unknown, message: string): ApiError {
  return novaError(
    400,
    `Invalid input for field/attribute ${field}. Value: ${JSON.stringify(value)}. ${message}`,
  );
}

function additional(field: string, o: Obj, allowed: string[]): void {
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  if (!extra.length) return;
  const list = extra.map((k) => `'${k}'`).join(', ');
  const message = `Additional properties are not allowed (${list} ${extra.length > 1 ? 'were' : 'was'} unexpected)`;
  throw field ? invalid(field, o, message) : novaError(400, message);
}

/** Nova's base64 check decodes leniently but refuses bad padding (Python's base64.decodebytes). */
export function isNovaBase64(s: string): boolean {
  const core = s.replace(/[^A-Za-z0-9+/=]/g, '');
  if (core.length % 4 !== 0) return false;
  return /^[A-Za-z0-9+/]*={0,2}$/.test(core);
}

export async function nova(ctx: Ctx): Promise<Reply> {
  const { method, path } = ctx;
  if (method === 'GET' && (path === '/' || path === '/v2.1')) return versions(ctx, path === '/');
  if (!path.startsWith('/v2.1/')) throw novaError(404, 'The resource could not be found.');
  if (!ctx.token.projectId) {
    throw novaError(403, `Policy doesn't allow os_compute_api:${path.split('/')[2]} to be performed.`);
  }
  const p = path.slice('/v2.1'.length);
  let m: RegExpExecArray | null;
  if (p === '/servers' && method === 'POST') return createServer(ctx);
  if ((p === '/servers' || p === '/servers/detail') && method === 'GET')
    return listServers(ctx, p === '/servers/detail');
  if ((m = /^\/servers\/([^/]+)$/.exec(p))) {
    const s = findServer(ctx, m[1]);
    if (method === 'GET') {
      await observe(ctx, s);
      if (!ctx.os.servers.has(s.id)) throw novaError(404, `Instance ${s.id} could not be found.`);
      return { status: 200, body: { server: serverBody(ctx, s) }, op: 'nova:server-get', admin: ctx.admin };
    }
    if (method === 'DELETE') return deleteServer(ctx, s);
  }
  if ((m = /^\/servers\/([^/]+)\/action$/.exec(p)) && method === 'POST')
    return serverAction(ctx, findServer(ctx, m[1]));
  if (p.startsWith('/os-keypairs')) return keypairs(ctx, p);
  if (p.startsWith('/flavors')) return flavors(ctx, p);
  if (p.startsWith('/images')) return images(ctx, p);
  if (p === '/os-availability-zone' && method === 'GET') {
    return {
      status: 200,
      body: {
        availabilityZoneInfo: ctx.os.opts.availabilityZones.map((z) => ({
          zoneName: z,
          zoneState: { available: true },
          hosts: null,
        })),
      },
    };
  }
  if (p.startsWith('/os-floating-ip')) return floatingIps(ctx, p);
  if (p.startsWith('/os-server-groups')) return serverGroups(ctx, p);
  if ((p === '/os-networks' || p === '/os-tenant-networks') && method === 'GET') return novaNetworks(ctx, p);
  if (p === '/limits' && method === 'GET') return limits(ctx);
  throw novaError(404, 'The resource could not be found.');
}

function versions(ctx: Ctx, all: boolean): Reply {
  const v21 = {
    id: 'v2.1',
    status: 'CURRENT',
    version: MAX_MICROVERSION,
    min_version: '2.1',
    updated: '2013-07-23T11:33:21Z',
    links: [{ rel: 'self', href: `${ctx.base}/v2.1/` }],
  };
  if (!all) return { status: 200, body: { version: v21 } };
  const v20 = {
    id: 'v2.0',
    status: 'SUPPORTED',
    version: '',
    min_version: '',
    updated: '2011-01-21T11:33:21Z',
    links: [{ rel: 'self', href: `${ctx.base}/v2/` }],
  };
  return { status: 200, body: { versions: [v20, v21] } };
}

function findServer(ctx: Ctx, id: string): ServerState {
  const s = ctx.os.servers.get(id);
  if (!s || s.region !== ctx.region || s.projectId !== ctx.token.projectId) {
    throw novaError(404, `Instance ${id} could not be found.`);
  }
  return s;
}

function links(ctx: Ctx, kind: string, id: string, self = true) {
  const bookmark = { href: `${ctx.base}/${kind}/${id}`, rel: 'bookmark' };
  return self ? [{ href: `${ctx.base}/v2.1/${kind}/${id}`, rel: 'self' }, bookmark] : [bookmark];
}

/** One observation of a server: a pending transition completes after its polls. */
async function observe(ctx: Ctx, s: ServerState): Promise<void> {
  if (!s.pending) return;
  if (--s.pollsLeft > 0) return;
  return complete(ctx, s);
}

async function complete(ctx: Ctx, s: ServerState): Promise<void> {
  const os = ctx.os;
  const now = novaTime(Date.now());
  const pending = s.pending;
  s.pending = null;
  s.taskState = null;
  s.updated = now;
  if (pending === 'build') {
    if (s.buildResult === 'ERROR') {
      Object.assign(s, { status: 'ERROR', vmState: 'error', powerState: 0 });
      s.fault = { code: 500, message: 'No valid host was found. ', created: now };
      return;
    }
    Object.assign(s, {
      status: 'ACTIVE',
      vmState: 'active',
      powerState: 1,
      launchedAt: now.replace('Z', '.000000'),
    });
    for (const id of s.ports) {
      const port = os.ports.get(id);
      if (port) port.status = 'ACTIVE';
    }
    for (const v of s.volumes) {
      const vol = os.volumes.get(v.id);
      if (vol) vol.status = 'in-use';
    }
    return;
  }
  if (pending === 'stop') {
    Object.assign(s, { status: 'SHUTOFF', vmState: 'stopped', powerState: 4 });
    await os.opts.onAction?.(s.id, 'os-stop', s.info);
    return;
  }
  if (pending === 'start' || pending === 'reboot') {
    Object.assign(s, { status: 'ACTIVE', vmState: 'active', powerState: 1 });
    await os.opts.onAction?.(s.id, pending === 'start' ? 'os-start' : 'reboot', s.info);
    return;
  }
  if (pending === 'delete') finishDelete(ctx, s);
}

function finishDelete(ctx: Ctx, s: ServerState): void {
  const os = ctx.os;
  os.servers.delete(s.id);
  os.deletedServers.set(s.id, s.info);
  for (const id of s.ports) os.deletePort(id);
  for (const v of s.volumes) {
    const vol = os.volumes.get(v.id);
    if (!vol) continue;
    if (v.deleteOnTermination) os.volumes.delete(v.id);
    else Object.assign(vol, { status: 'available', attachedTo: null, device: null });
  }
  for (const g of os.serverGroups.values()) g.members = g.members.filter((x) => x !== s.id);
}

function addresses(ctx: Ctx, s: ServerState): Record<string, Obj[]> {
  const out: Record<string, Obj[]> = {};
  // Nova shows a server's addresses once its network is set up: not while it builds, not after a failed build.
  if (s.vmState === 'building' || s.vmState === 'error') return out;
  for (const id of s.ports) {
    const port = ctx.os.ports.get(id);
    if (!port) continue;
    const net = ctx.os.networks.get(`${s.region}/${port.networkId}`);
    const list = (out[net?.name ?? port.networkId] ??= []);
    for (const ip of port.fixedIps) {
      list.push({
        addr: ip.ip_address,
        'OS-EXT-IPS-MAC:mac_addr': port.mac,
        'OS-EXT-IPS:type': 'fixed',
        version: ip.ip_address.includes(':') ? 6 : 4,
      });
    }
    for (const f of ctx.os.floatingIps.values()) {
      if (f.portId === port.id) {
        list.push({
          addr: f.address,
          'OS-EXT-IPS-MAC:mac_addr': port.mac,
          'OS-EXT-IPS:type': 'floating',
          version: 4,
        });
      }
    }
  }
  return out;
}

export function serverBody(ctx: Ctx, s: ServerState): Obj {
  const b: Obj = {
    accessIPv4: s.accessIPv4,
    accessIPv6: s.accessIPv6,
    addresses: addresses(ctx, s),
    created: s.created,
    flavor: { id: s.flavorId, links: links(ctx, 'flavors', s.flavorId, false) },
    hostId: s.hostId,
    id: s.id,
    // A server booted from a volume has no image: Nova gives an empty string.
    image: s.imageId ? { id: s.imageId, links: links(ctx, 'images', s.imageId, false) } : '',
    key_name: s.keyName,
    links: links(ctx, 'servers', s.id),
    metadata: s.metadata,
    name: s.name,
    config_drive: s.configDrive ? 'True' : '',
    'OS-DCF:diskConfig': s.diskConfig,
    'OS-EXT-AZ:availability_zone': s.vmState === 'building' ? '' : s.availabilityZone,
    'OS-EXT-STS:power_state': s.powerState,
    'OS-EXT-STS:task_state': s.taskState,
    'OS-EXT-STS:vm_state': s.vmState,
    'os-extended-volumes:volumes_attached': s.volumes.map((v) => ({ id: v.id })),
    'OS-SRV-USG:launched_at': s.launchedAt,
    'OS-SRV-USG:terminated_at': null,
    progress: 0,
    security_groups: s.securityGroups.map((name) => ({ name })),
    status: s.status,
    tenant_id: s.projectId,
    updated: s.updated,
    user_id: s.userId,
  };
  // Admin-only fields (policy os_compute_api:os-extended-server-attributes).
  if (ctx.admin) {
    b['OS-EXT-SRV-ATTR:host'] = s.vmState === 'building' ? null : 'compute-0';
    b['OS-EXT-SRV-ATTR:hypervisor_hostname'] = s.vmState === 'building' ? null : 'compute-0.example.org';
    b['OS-EXT-SRV-ATTR:instance_name'] = s.instanceName;
  }
  if (s.fault) b.fault = s.fault;
  return b;
}

async function listServers(ctx: Ctx, detail: boolean): Promise<Reply> {
  const { os, query } = ctx;
  let items = [...os.servers.values()]
    .filter((s) => s.region === ctx.region && s.projectId === ctx.token.projectId)
    .sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  const name = query.get('name');
  // Nova matches name as a regular expression.
  if (name !== null) {
    let re: RegExp;
    try {
      re = new RegExp(name);
    } catch {
      re = /$^/;
    }
    items = items.filter((s) => re.test(s.name));
  }
  const status = query.get('status');
  if (status !== null) items = items.filter((s) => s.status === status.toUpperCase());
  const pg = page(
    items,
    (s) => s.id,
    query,
    os.opts.maxLimit,
    `${ctx.base}/v2.1/servers${detail ? '/detail' : ''}`,
    (mk) => novaError(400, `marker [${mk}] not found`),
    (l) => invalid('limit', l, `'${l}' does not match '^[0-9]*$'`),
  );
  if (detail) for (const s of pg.items) await observe(ctx, s);
  const shown = pg.items.filter((s) => os.servers.has(s.id));
  const body: Obj = {
    servers: shown.map((s) =>
      detail ? serverBody(ctx, s) : { id: s.id, links: links(ctx, 'servers', s.id), name: s.name },
    ),
  };
  if (pg.next) body.servers_links = [{ href: pg.next, rel: 'next' }];
  return { status: 200, body, op: detail ? 'nova:servers-detail' : 'nova:servers-list', admin: ctx.admin };
}

async function createServer(ctx: Ctx): Promise<Reply> {
  const { os, token } = ctx;
  const b = ctx.body;
  if (!isObj(b)) throw novaError(400, 'The request body is invalid: a JSON object is expected.');
  additional('', b, ['server', 'os:scheduler_hints', 'OS-SCH-HNT:scheduler_hints']);
  const sv = b.server;
  if (!isObj(sv)) throw novaError(400, "'server' is a required property");
  additional('server', sv, SERVER_FIELDS);
  for (const f of ['name', 'flavorRef'])
    if (!(f in sv)) throw invalid('server', sv, `'${f}' is a required property`);
  const name = sv.name;
  if (typeof name !== 'string' || name.length < 1 || name.length > 255 || name.trim() !== name) {
    throw invalid(
      'name',
      name,
      `${JSON.stringify(name)} does not match '^(?! )[a-zA-Z0-9. _-]*(?<! )$' or is not 1 to 255 characters`,
    );
  }
  const flavorRef = sv.flavorRef;
  if (
    !(typeof flavorRef === 'string' && flavorRef.length > 0) &&
    !(typeof flavorRef === 'number' && Number.isInteger(flavorRef))
  ) {
    throw invalid('flavorRef', flavorRef, `${JSON.stringify(flavorRef)} is not of type 'string', 'integer'`);
  }
  for (const f of ['imageRef', 'key_name', 'availability_zone', 'adminPass', 'accessIPv4', 'accessIPv6']) {
    if (f in sv && typeof sv[f] !== 'string')
      throw invalid(f, sv[f], `${JSON.stringify(sv[f])} is not of type 'string'`);
  }
  if ('OS-DCF:diskConfig' in sv && !['AUTO', 'MANUAL'].includes(String(sv['OS-DCF:diskConfig']))) {
    throw invalid(
      'OS-DCF:diskConfig',
      sv['OS-DCF:diskConfig'],
      `${JSON.stringify(sv['OS-DCF:diskConfig'])} is not one of ['AUTO', 'MANUAL']`,
    );
  }
  const metadata: Record<string, string> = {};
  if ('metadata' in sv) {
    if (!isObj(sv.metadata))
      throw invalid('metadata', sv.metadata, `${JSON.stringify(sv.metadata)} is not of type 'object'`);
    for (const [k, v] of Object.entries(sv.metadata)) {
      if (typeof v !== 'string') throw invalid(k, v, `${JSON.stringify(v)} is not of type 'string'`);
      if (k.length < 1 || k.length > 255 || v.length > 255)
        throw invalid('metadata', sv.metadata, 'keys are 1 to 255 characters, values at most 255');
      metadata[k] = v;
    }
  }
  let userData: string | null = null;
  if ('user_data' in sv) {
    const u = sv.user_data;
    if (typeof u !== 'string') throw invalid('user_data', u, `${JSON.stringify(u)} is not of type 'string'`);
    if (u.length > 65535) throw invalid('user_data', u, `${JSON.stringify(u.slice(0, 20))}... is too long`);
    if (!isNovaBase64(u)) throw invalid('user_data', u, `${JSON.stringify(u)} is not a 'base64'`);
    userData = Buffer.from(u, 'base64').toString('utf8');
  }
  let configDrive = false;
  if ('config_drive' in sv) {
    const c = sv.config_drive;
    if (typeof c === 'boolean') configDrive = c;
    else if (typeof c === 'string' && /^(true|false|1|0|yes|no|on|off|t|f|y|n)?$/i.test(c))
      configDrive = /^(true|1|yes|on|t|y)$/i.test(c);
    else throw invalid('config_drive', c, `${JSON.stringify(c)} is not of type 'boolean', 'string', 'null'`);
  }
  for (const f of ['min_count', 'max_count']) {
    if (f in sv && !(Number.isInteger(Number(sv[f])) && Number(sv[f]) >= 1))
      throw invalid(f, sv[f], `${JSON.stringify(sv[f])} is less than the minimum of 1`);
  }
  if (Number(sv.min_count ?? 1) > 1)
    throw novaError(501, 'The fake makes one server per request (min_count > 1 is not modelled).');
  const hints = isObj(b['os:scheduler_hints'])
    ? b['os:scheduler_hints']
    : isObj(b['OS-SCH-HNT:scheduler_hints'])
      ? b['OS-SCH-HNT:scheduler_hints']
      : {};

  // Networks, security groups, block devices: shapes first.
  const nets: Obj[] = [];
  if ('networks' in sv) {
    if (!Array.isArray(sv.networks))
      throw invalid('networks', sv.networks, `${JSON.stringify(sv.networks)} is not of type 'array'`);
    for (const n of sv.networks) {
      if (!isObj(n)) throw invalid('networks', n, `${JSON.stringify(n)} is not of type 'object'`);
      additional('networks', n, ['uuid', 'port', 'fixed_ip']);
      if ('uuid' in n && (typeof n.uuid !== 'string' || !UUID.test(n.uuid))) {
        throw novaError(400, `Bad networks format: network uuid is not in proper format (${String(n.uuid)})`);
      }
      nets.push(n);
    }
  }
  const groupsAsked: string[] = [];
  if ('security_groups' in sv) {
    if (!Array.isArray(sv.security_groups))
      throw invalid('security_groups', sv.security_groups, "is not of type 'array'");
    for (const g of sv.security_groups) {
      if (!isObj(g)) throw invalid('security_groups', g, `${JSON.stringify(g)} is not of type 'object'`);
      additional('security_groups', g, ['name']);
      if (typeof g.name !== 'string' || !g.name)
        throw invalid('name', g.name, `${JSON.stringify(g.name)} is not of type 'string'`);
      groupsAsked.push(g.name);
    }
  }
  const bdms: Obj[] = [];
  if ('block_device_mapping_v2' in sv) {
    if (!Array.isArray(sv.block_device_mapping_v2))
      throw invalid('block_device_mapping_v2', sv.block_device_mapping_v2, "is not of type 'array'");
    for (const d of sv.block_device_mapping_v2) {
      if (!isObj(d))
        throw invalid('block_device_mapping_v2', d, `${JSON.stringify(d)} is not of type 'object'`);
      additional('block_device_mapping_v2', d, BDM_FIELDS);
      if (!['image', 'volume', 'snapshot', 'blank'].includes(String(d.source_type))) {
        throw invalid(
          'source_type',
          d.source_type,
          `${JSON.stringify(d.source_type)} is not one of ['volume', 'image', 'snapshot', 'blank']`,
        );
      }
      bdms.push(d);
    }
  }
  if ('block_device_mapping' in sv)
    throw novaError(501, 'The legacy block_device_mapping is not modelled; use block_device_mapping_v2.');

  // Then the state, in Nova's order.
  const flavor = os.opts.flavors.find((f) => f.id === String(flavorRef).replace(/^.*\/flavors\//, ''));
  if (!flavor || flavor.disabled) throw novaError(400, `Flavor ${String(flavorRef)} could not be found.`);
  const rootBdm = bdms.find((d) => Number(d.boot_index ?? -1) === 0);
  const volumeBacked = !!rootBdm && rootBdm.destination_type === 'volume';
  const imageRef = typeof sv.imageRef === 'string' ? sv.imageRef.replace(/^.*\/images\//, '') : '';
  if (!imageRef && !volumeBacked) throw novaError(400, 'Missing imageRef attribute');
  let imageId = '';
  if (imageRef && !volumeBacked) {
    const image = os.opts.images.find((i) => i.id === imageRef);
    if (!image) throw novaError(400, 'Can not find requested image');
    if ((image.status ?? 'active') !== 'active') throw novaError(400, `Image ${image.id} is not active.`);
    if ((image.minDisk ?? 0) > flavor.disk) {
      throw novaError(
        400,
        `Flavor's disk is too small for requested image. Flavor disk is ${flavor.disk * 1024 ** 3} bytes, image is ${(image.minDisk ?? 0) * 1024 ** 3} bytes.`,
      );
    }
    imageId = image.id;
  }
  let keyName: string | null = null;
  let publicKey: string | null = null;
  if (typeof sv.key_name === 'string') {
    const key = os.keypairs.find(
      (k) => k.region === ctx.region && k.userId === token.userId && k.name === sv.key_name,
    );
    if (!key) throw novaError(400, 'Invalid key_name provided.');
    keyName = key.name;
    publicKey = key.publicKey;
  }
  const zone = typeof sv.availability_zone === 'string' ? sv.availability_zone : os.opts.availabilityZones[0];
  if (!os.opts.availabilityZones.includes(zone.split(':')[0]))
    throw novaError(400, 'The requested availability zone is not available');
  const visible = (n: NetworkState) =>
    n.region === ctx.region && (n.projectId === token.projectId || n.shared || n.external);
  const chosen: { net: NetworkState; fixedIp?: string }[] = [];
  for (const n of nets) {
    if (n.port !== undefined)
      throw novaError(501, 'Booting on an existing port is not modelled by the fake.');
    const net = [...os.networks.values()].find((x) => x.id === n.uuid && visible(x));
    if (!net) throw novaError(400, `Network ${String(n.uuid)} could not be found.`);
    if (net.external && !ctx.admin)
      throw novaError(403, `It is not allowed to create an interface on external network ${net.id}`);
    chosen.push({ net, fixedIp: typeof n.fixed_ip === 'string' ? n.fixed_ip : undefined });
  }
  if (!nets.length) {
    const candidates = [...os.networks.values()].filter((x) => visible(x) && !x.external);
    if (candidates.length > 1)
      throw novaError(409, 'Multiple possible networks found, use a Network ID to be more specific.');
    if (candidates.length === 1) chosen.push({ net: candidates[0] });
  }
  const groups = groupsAsked.length ? groupsAsked : ['default'];
  const groupIds: string[] = [];
  for (const g of groups) {
    const found =
      g === 'default'
        ? os.defaultSecurityGroup(ctx.region, token.projectId!)
        : [...os.securityGroups.values()].find(
            (x) => x.region === ctx.region && x.projectId === token.projectId && (x.name === g || x.id === g),
          );
    if (!found) throw novaError(400, `Security group ${g} not found.`);
    groupIds.push(found.id);
  }
  let serverGroupId: string | undefined;
  if (hints.group !== undefined) {
    const g = os.serverGroups.get(String(hints.group));
    if (!g || g.region !== ctx.region || g.projectId !== token.projectId) {
      throw novaError(400, `Instance group ${String(hints.group)} could not be found.`);
    }
    serverGroupId = g.id;
  }
  const volumes: {
    id: string;
    deleteOnTermination: boolean;
    fromImage?: string;
    size?: number;
    device?: string;
  }[] = [];
  for (const d of bdms) {
    if (d.destination_type !== 'volume') continue;
    if (d.source_type === 'image') {
      const image = os.opts.images.find((i) => i.id === d.uuid);
      if (!image) throw novaError(400, 'Can not find requested image');
      if (!(Number(d.volume_size) > 0)) {
        throw novaError(400, "Images with destination_type 'volume' need to have a non-zero size specified");
      }
      volumes.push({
        id: '',
        deleteOnTermination: d.delete_on_termination === true,
        fromImage: image.id,
        size: Number(d.volume_size),
        device: typeof d.device_name === 'string' ? d.device_name : undefined,
      });
    } else if (d.source_type === 'volume') {
      const vol = os.volumes.get(String(d.uuid));
      if (!vol || vol.region !== ctx.region || vol.projectId !== token.projectId) {
        throw novaError(400, `Block Device Mapping is Invalid: failed to get volume ${String(d.uuid)}.`);
      }
      if (vol.status !== 'available') {
        throw novaError(
          400,
          `Invalid volume: volume ${vol.id} status must be 'available', but it is '${vol.status}'`,
        );
      }
      volumes.push({
        id: vol.id,
        deleteOnTermination: d.delete_on_termination === true,
        device: typeof d.device_name === 'string' ? d.device_name : undefined,
      });
    } else {
      throw novaError(
        501,
        `Block devices from source_type ${String(d.source_type)} are not modelled by the fake.`,
      );
    }
  }
  const usage = os.quotaUsage(ctx.region, token.projectId!);
  const q = os.opts.quotas;
  for (const [res, want, used, limit] of [
    ['instances', 1, usage.instances, q.instances],
    ['cores', flavor.vcpus, usage.cores, q.cores],
    ['ram', flavor.ram, usage.ram, q.ram],
  ] as const) {
    if (used + want > limit) {
      throw novaError(
        403,
        `Quota exceeded for ${res}: Requested ${want}, but already used ${used} of ${limit} ${res}`,
      );
    }
  }

  // Commit.
  const id = randomUUID();
  const now = novaTime(Date.now());
  const info = {
    id,
    name,
    region: ctx.region,
    projectId: token.projectId!,
    keyName,
    publicKey,
    userData,
    configDrive,
    metadata,
    availabilityZone: zone,
    flavorId: flavor.id,
    imageId,
    networks: chosen.map((c) => c.net.id),
    securityGroups: groups,
    schedulerHints: hints,
    fixedAddresses: [] as string[],
  };
  const s: ServerState = {
    id,
    region: ctx.region,
    projectId: token.projectId!,
    userId: token.userId,
    name,
    status: 'BUILD',
    vmState: 'building',
    taskState: 'scheduling',
    powerState: 0,
    pollsLeft: os.opts.pollsToActive,
    pending: 'build',
    buildResult: os.opts.buildResult?.(info) ?? 'ACTIVE',
    info,
    flavorId: flavor.id,
    imageId,
    keyName,
    metadata,
    accessIPv4: typeof sv.accessIPv4 === 'string' ? sv.accessIPv4 : '',
    accessIPv6: typeof sv.accessIPv6 === 'string' ? sv.accessIPv6 : '',
    diskConfig: typeof sv['OS-DCF:diskConfig'] === 'string' ? sv['OS-DCF:diskConfig'] : 'MANUAL',
    availabilityZone: zone.split(':')[0],
    configDrive,
    securityGroups: groups,
    ports: [],
    volumes: [],
    serverGroupId,
    created: now,
    updated: now,
    launchedAt: null,
    hostId: randomBytes(28).toString('hex'),
    instanceName: `instance-${(os.servers.size + os.deletedServers.size + 1).toString(16).padStart(8, '0')}`,
    adminPass: randomBytes(9).toString('base64url'),
  };
  os.servers.set(id, s);
  for (const c of chosen) s.ports.push(os.makePort(s, c.net, groupIds, c.fixedIp).id);
  for (const v of volumes) {
    if (v.fromImage) {
      const vol = os.addVolume({
        name: '',
        size: v.size!,
        region: ctx.region,
        projectId: token.projectId!,
        imageId: v.fromImage,
      });
      vol.status = 'creating';
      v.id = vol.id;
      os.emitCreated('volume', vol.id);
    }
    const vol = os.volumes.get(v.id)!;
    Object.assign(vol, {
      attachedTo: id,
      // Nova takes the BDM's device_name as the device; without one, libvirt's first disk.
      device: v.device ?? '/dev/vda',
      status: vol.status === 'creating' ? 'creating' : 'attaching',
    });
    s.volumes.push({ id: v.id, deleteOnTermination: v.deleteOnTermination });
  }
  info.fixedAddresses = s.ports.flatMap((pid) => os.ports.get(pid)!.fixedIps.map((f) => f.ip_address));
  if (serverGroupId) os.serverGroups.get(serverGroupId)!.members.push(id);
  await os.opts.onCreate?.(info);
  os.emitCreated('server', id, name);
  if (s.pollsLeft <= 0) await complete(ctx, s);
  return {
    status: 202,
    body: {
      server: {
        'OS-DCF:diskConfig': s.diskConfig,
        adminPass: s.adminPass,
        id,
        links: links(ctx, 'servers', id),
        security_groups: groups.map((g) => ({ name: g })),
      },
    },
    headers: { location: `${ctx.base}/v2.1/servers/${id}` },
    op: 'nova:server-create',
    mutation: { kind: 'server', id },
  };
}

async function deleteServer(ctx: Ctx, s: ServerState): Promise<Reply> {
  if (s.pending !== 'delete') {
    await ctx.os.opts.onAction?.(s.id, 'delete', s.info);
    s.taskState = 'deleting';
    s.pending = 'delete';
    s.pollsLeft = ctx.os.opts.deletePolls;
    if (s.pollsLeft <= 0) finishDelete(ctx, s);
  }
  return { status: 204, mutation: { kind: 'server', id: s.id } };
}

function conflict(s: ServerState, action: string, allowed: string[]): void {
  if (!allowed.includes(s.vmState)) {
    throw novaError(409, `Cannot '${action}' instance ${s.id} while it is in vm_state ${s.vmState}`);
  }
  if (s.taskState !== null) {
    throw novaError(409, `Cannot '${action}' instance ${s.id} while it is in task_state ${s.taskState}`);
  }
}

async function startTransition(
  ctx: Ctx,
  s: ServerState,
  pending: 'stop' | 'start' | 'reboot',
  task: string,
  status?: string,
): Promise<void> {
  s.pending = pending;
  s.taskState = task;
  if (status) s.status = status;
  s.pollsLeft = ctx.os.opts.actionPolls;
  if (s.pollsLeft <= 0) await complete(ctx, s);
}

async function serverAction(ctx: Ctx, s: ServerState): Promise<Reply> {
  const b = ctx.body;
  if (!isObj(b) || Object.keys(b).length === 0) throw novaError(400, 'Malformed request body');
  const action = Object.keys(b)[0];
  const done: Reply = { status: 202, mutation: { kind: 'server', id: s.id } };
  if (action === 'os-stop') {
    conflict(s, 'stop', ['active', 'error']);
    await startTransition(ctx, s, 'stop', 'powering-off');
    return done;
  }
  if (action === 'os-start') {
    conflict(s, 'start', ['stopped']);
    await startTransition(ctx, s, 'start', 'powering-on');
    return done;
  }
  if (action === 'reboot') {
    const r = b.reboot;
    if (!isObj(r)) throw invalid('reboot', r, `${JSON.stringify(r)} is not of type 'object'`);
    additional('reboot', r, ['type']);
    if (!('type' in r)) throw invalid('reboot', r, "'type' is a required property");
    const types = ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft'];
    if (!types.includes(String(r.type))) {
      throw invalid(
        'type',
        r.type,
        `${JSON.stringify(r.type)} is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']`,
      );
    }
    const hard = String(r.type).toUpperCase() === 'HARD';
    conflict(s, 'reboot', hard ? ['active', 'stopped', 'paused', 'suspended', 'error'] : ['active']);
    await startTransition(
      ctx,
      s,
      'reboot',
      hard ? 'reboot_started_hard' : 'reboot_started',
      hard ? 'HARD_REBOOT' : 'REBOOT',
    );
    return done;
  }
  if (action === 'addFloatingIp' || action === 'removeFloatingIp') {
    const a = b[action];
    if (!isObj(a) || typeof a.address !== 'string')
      throw invalid(action, a, "'address' is a required property");
    additional(action, a, action === 'addFloatingIp' ? ['address', 'fixed_address'] : ['address']);
    const f = [...ctx.os.floatingIps.values()].find(
      (x) => x.region === ctx.region && x.projectId === ctx.token.projectId && x.address === a.address,
    );
    if (!f) throw novaError(404, `Floating IP not found for address ${a.address}.`);
    if (action === 'removeFloatingIp') {
      if (!f.portId || !s.ports.includes(f.portId)) {
        throw novaError(409, `Floating IP ${a.address} is not associated with instance ${s.id}.`);
      }
      Object.assign(f, {
        portId: null,
        fixedIp: null,
        updated: novaTime(Date.now()),
        revision: f.revision + 1,
      });
      return done;
    }
    const port = s.ports.map((id) => ctx.os.ports.get(id)).find((p) => p !== undefined);
    if (!port) throw novaError(400, 'No nw_info cache associated with instance');
    const fixed =
      typeof a.fixed_address === 'string'
        ? a.fixed_address
        : port.fixedIps.find((i) => !i.ip_address.includes(':'))?.ip_address;
    if (!fixed || !port.fixedIps.some((i) => i.ip_address === fixed)) {
      throw novaError(400, `Specified fixed address not assigned to instance`);
    }
    Object.assign(f, {
      portId: port.id,
      fixedIp: fixed,
      updated: novaTime(Date.now()),
      revision: f.revision + 1,
    });
    return done;
  }
  const known = [
    'resize',
    'confirmResize',
    'revertResize',
    'rebuild',
    'createImage',
    'pause',
    'unpause',
    'suspend',
    'resume',
    'lock',
    'unlock',
    'shelve',
    'unshelve',
    'rescue',
    'unrescue',
    'forceDelete',
    'restore',
    'os-getConsoleOutput',
    'changePassword',
    'trigger_crash_dump',
    'migrate',
  ];
  if (known.includes(action)) throw novaError(501, `The fake does not model the ${action} action.`);
  throw novaError(404, `There is no such action: ${action}`);
}

function keypairBody(k: { name: string; publicKey: string; fingerprint: string }): Obj {
  return { fingerprint: k.fingerprint, name: k.name, public_key: k.publicKey };
}

/** A new RSA key pair as Nova makes one: the public line in OpenSSH form, the private key in PEM. */
function generateKeypair(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const field = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  // mpint: big-endian with a leading zero when the high bit is set.
  const mpint = (b64: string) => {
    let b = Buffer.from(b64, 'base64url');
    if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return field(b);
  };
  const blob = Buffer.concat([field(Buffer.from('ssh-rsa')), mpint(jwk.e!), mpint(jwk.n!)]);
  return {
    publicKey: `ssh-rsa ${blob.toString('base64')} Generated-by-Nova`,
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs1' }).toString(),
  };
}

function keypairs(ctx: Ctx, p: string): Reply {
  const { os, method, token } = ctx;
  const mine = os.keypairs.filter((k) => k.region === ctx.region && k.userId === token.userId);
  if (p === '/os-keypairs' && method === 'GET') {
    return { status: 200, body: { keypairs: mine.map((k) => ({ keypair: keypairBody(k) })) } };
  }
  if (p === '/os-keypairs' && method === 'POST') {
    const b = ctx.body;
    if (!isObj(b) || !isObj(b.keypair)) throw novaError(400, "'keypair' is a required property");
    additional('', b, ['keypair']);
    const k = b.keypair;
    additional('keypair', k, ['name', 'public_key']);
    if (typeof k.name !== 'string') throw invalid('keypair', k, "'name' is a required property");
    if (k.name.length < 1 || k.name.length > 255) throw invalid('name', k.name, 'is not 1 to 255 characters');
    // Microversion 2.1 allows letters, digits, space, underscore and hyphen (dots came with 2.92).
    if (!/^[a-zA-Z0-9 _-]+$/.test(k.name) || k.name.trim() !== k.name) {
      throw novaError(400, 'Keypair data is invalid: Keypair name contains unsafe characters');
    }
    if ('public_key' in k && typeof k.public_key !== 'string')
      throw invalid('public_key', k.public_key, "is not of type 'string'");
    if (mine.length + 1 > os.opts.quotas.key_pairs)
      throw novaError(403, 'Quota exceeded, too many key pairs.');
    if (mine.some((x) => x.name === k.name)) throw novaError(409, `Key pair '${k.name}' already exists.`);
    let publicKey = typeof k.public_key === 'string' ? k.public_key.trim() : '';
    let privateKey: string | undefined;
    if (!publicKey) ({ publicKey, privateKey } = generateKeypair());
    const fingerprint = sshFingerprint(publicKey);
    if (!fingerprint) throw novaError(400, 'Keypair data is invalid: failed to generate fingerprint');
    const kp = {
      region: ctx.region,
      userId: token.userId,
      name: k.name,
      publicKey,
      fingerprint,
      type: 'ssh',
      created: novaTime(Date.now()),
      id: os.newKeypairId(),
    };
    os.keypairs.push(kp);
    os.emitCreated('keypair', kp.name, kp.name);
    return {
      status: 200,
      body: {
        keypair: {
          ...keypairBody(kp),
          user_id: token.userId,
          ...(privateKey ? { private_key: privateKey } : {}),
        },
      },
      mutation: { kind: 'keypair', id: kp.name },
    };
  }
  const m = /^\/os-keypairs\/([^/]+)$/.exec(p);
  if (m) {
    const name = decodeURIComponent(m[1]);
    const k = mine.find((x) => x.name === name);
    if (!k) throw novaError(404, `Keypair ${name} not found for user ${token.userId}`);
    if (method === 'GET') {
      return {
        status: 200,
        body: {
          keypair: {
            ...keypairBody(k),
            user_id: k.userId,
            created_at: k.created.replace('Z', '.000000'),
            deleted: false,
            deleted_at: null,
            updated_at: null,
            id: k.id,
          },
        },
      };
    }
    if (method === 'DELETE') {
      os.keypairs.splice(os.keypairs.indexOf(k), 1);
      return { status: 202, mutation: { kind: 'keypair', id: k.name } };
    }
  }
  throw novaError(404, 'The resource could not be found.');
}

function flavors(ctx: Ctx, p: string): Reply {
  const { os, query, method } = ctx;
  if (method !== 'GET') throw novaError(405, 'The method is not allowed for the requested URL.');
  const body = (f: (typeof os.opts.flavors)[number], detail: boolean): Obj =>
    detail
      ? {
          'OS-FLV-DISABLED:disabled': !!f.disabled,
          disk: f.disk,
          'OS-FLV-EXT-DATA:ephemeral': f.ephemeral ?? 0,
          'os-flavor-access:is_public': f.isPublic ?? true,
          id: f.id,
          links: links(ctx, 'flavors', f.id),
          name: f.name,
          ram: f.ram,
          swap: f.swap ? f.swap : '',
          vcpus: f.vcpus,
          rxtx_factor: 1.0,
        }
      : { id: f.id, links: links(ctx, 'flavors', f.id), name: f.name };
  const m = /^\/flavors\/([^/]+)$/.exec(p);
  if (m && m[1] !== 'detail') {
    const f = os.opts.flavors.find((x) => x.id === decodeURIComponent(m[1]));
    if (!f) throw novaError(404, `Flavor ${decodeURIComponent(m[1])} could not be found.`);
    return { status: 200, body: { flavor: body(f, true) } };
  }
  if (p !== '/flavors' && p !== '/flavors/detail') throw novaError(404, 'The resource could not be found.');
  const detail = p === '/flavors/detail';
  // Nova lists flavors sorted by flavorid, public ones only for a non-admin.
  let items = [...os.opts.flavors]
    .filter((f) => !f.disabled && (f.isPublic ?? true))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const minRam = query.get('minRam');
  if (minRam !== null) items = items.filter((f) => f.ram >= Number(minRam));
  const minDisk = query.get('minDisk');
  if (minDisk !== null) items = items.filter((f) => f.disk >= Number(minDisk));
  const pg = page(
    items,
    (f) => f.id,
    query,
    os.opts.maxLimit,
    `${ctx.base}/v2.1/flavors${detail ? '/detail' : ''}`,
    (mk) => novaError(400, `marker [${mk}] not found`),
    (l) => invalid('limit', l, `'${l}' does not match '^[0-9]*$'`),
  );
  const out: Obj = { flavors: pg.items.map((f) => body(f, detail)) };
  if (pg.next) out.flavors_links = [{ href: pg.next, rel: 'next' }];
  return { status: 200, body: out };
}

/** Nova's image proxy (to Glance), present up to microversion 2.35: what the original driver used. */
function images(ctx: Ctx, p: string): Reply {
  const { os, query, method } = ctx;
  if (method !== 'GET') throw novaError(405, 'The method is not allowed for the requested URL.');
  const body = (i: (typeof os.opts.images)[number], detail: boolean): Obj =>
    detail
      ? {
          id: i.id,
          name: i.name,
          status:
            (
              {
                active: 'ACTIVE',
                queued: 'SAVING',
                saving: 'SAVING',
                killed: 'DELETED',
                deleted: 'DELETED',
              } as Record<string, string>
            )[i.status ?? 'active'] ?? 'UNKNOWN',
          progress: (i.status ?? 'active') === 'active' ? 100 : 25,
          minDisk: i.minDisk ?? 0,
          minRam: i.minRam ?? 0,
          metadata: {},
          created: '2026-01-01T00:00:00Z',
          updated: '2026-01-01T00:00:00Z',
          'OS-EXT-IMG-SIZE:size': i.sizeBytes ?? 0,
          links: links(ctx, 'images', i.id),
        }
      : { id: i.id, name: i.name, links: links(ctx, 'images', i.id) };
  const m = /^\/images\/([^/]+)$/.exec(p);
  if (m && m[1] !== 'detail') {
    const i = os.opts.images.find((x) => x.id === m[1]);
    if (!i) throw novaError(404, 'Image not found.');
    return { status: 200, body: { image: body(i, true) } };
  }
  if (p !== '/images' && p !== '/images/detail') throw novaError(404, 'The resource could not be found.');
  let items = os.opts.images;
  const name = query.get('name');
  if (name !== null) items = items.filter((i) => i.name === name);
  const pg = page(
    items,
    (i) => i.id,
    query,
    os.opts.maxLimit,
    `${ctx.base}/v2.1/images${p === '/images/detail' ? '/detail' : ''}`,
    (mk) => novaError(400, `marker [${mk}] not found`),
    (l) => invalid('limit', l, `'${l}' does not match '^[0-9]*$'`),
  );
  const out: Obj = { images: pg.items.map((i) => body(i, p === '/images/detail')) };
  if (pg.next) out.images_links = [{ href: pg.next, rel: 'next' }];
  return { status: 200, body: out };
}

/** os-floating-ips: Nova's proxy to Neutron's floating IPs (nova-network is gone), up to 2.35. */
function floatingIps(ctx: Ctx, p: string): Reply {
  const { os, method, token } = ctx;
  const externals = [...os.networks.values()].filter((n) => n.region === ctx.region && n.external);
  if (p === '/os-floating-ip-pools' && method === 'GET') {
    return { status: 200, body: { floating_ip_pools: externals.map((n) => ({ name: n.name })) } };
  }
  const legacy = (f: ReturnType<typeof floatingIpBody> & Obj) => {
    const port = f.port_id ? os.ports.get(String(f.port_id)) : undefined;
    return {
      id: f.id,
      ip: f.floating_ip_address,
      pool: externals.find((n) => n.id === f.floating_network_id)?.name ?? null,
      fixed_ip: f.fixed_ip_address,
      instance_id: port?.deviceId ?? null,
    };
  };
  const mine = [...os.floatingIps.values()].filter(
    (f) => f.region === ctx.region && f.projectId === token.projectId,
  );
  if (p === '/os-floating-ips' && method === 'GET') {
    return { status: 200, body: { floating_ips: mine.map((f) => legacy(floatingIpBody(f))) } };
  }
  if (p === '/os-floating-ips' && method === 'POST') {
    const b = isObj(ctx.body) ? ctx.body : {};
    const poolName = typeof b.pool === 'string' ? b.pool : externals[0]?.name;
    const net = externals.find((n) => n.name === poolName);
    if (!net) throw novaError(404, 'Floating IP pool not found.');
    if (mine.length + 1 > os.opts.quotas.floatingip)
      throw novaError(403, 'Maximum number of floating IPs exceeded');
    const f = os.allocateFloatingIp(ctx.region, token.projectId!, net, {});
    os.emitCreated('floatingip', f.id, f.address);
    return {
      status: 200,
      body: { floating_ip: legacy(floatingIpBody(f)) },
      mutation: { kind: 'floatingip', id: f.id },
    };
  }
  const m = /^\/os-floating-ips\/([^/]+)$/.exec(p);
  if (m) {
    const f = mine.find((x) => x.id === m[1]);
    if (!f) throw novaError(404, `Floating IP not found for ID ${m[1]}`);
    if (method === 'GET') return { status: 200, body: { floating_ip: legacy(floatingIpBody(f)) } };
    if (method === 'DELETE') {
      os.floatingIps.delete(f.id);
      return { status: 202, mutation: { kind: 'floatingip', id: f.id } };
    }
  }
  throw novaError(404, 'The resource could not be found.');
}

function serverGroups(ctx: Ctx, p: string): Reply {
  const { os, method, token } = ctx;
  const mine = [...os.serverGroups.values()].filter(
    (g) => g.region === ctx.region && g.projectId === token.projectId,
  );
  const body = (g: (typeof mine)[number]) => ({
    id: g.id,
    name: g.name,
    policies: g.policies,
    members: g.members,
    metadata: {},
    project_id: g.projectId,
    user_id: g.userId,
  });
  if (p === '/os-server-groups' && method === 'GET')
    return { status: 200, body: { server_groups: mine.map(body) } };
  if (p === '/os-server-groups' && method === 'POST') {
    const b = ctx.body;
    if (!isObj(b) || !isObj(b.server_group)) throw novaError(400, "'server_group' is a required property");
    const g = b.server_group;
    additional('server_group', g, ['name', 'policies']);
    if (typeof g.name !== 'string' || !g.name)
      throw invalid('server_group', g, "'name' is a required property");
    const policies = ['anti-affinity', 'affinity', 'soft-anti-affinity', 'soft-affinity'];
    if (!Array.isArray(g.policies) || g.policies.length !== 1 || !policies.includes(String(g.policies[0]))) {
      throw invalid('policies', g.policies, `is not one of ${JSON.stringify(policies)}`);
    }
    if (mine.length + 1 > os.opts.quotas.server_groups) {
      throw novaError(403, 'Quota exceeded, too many server groups.');
    }
    const sg = {
      id: randomUUID(),
      region: ctx.region,
      projectId: token.projectId!,
      userId: token.userId,
      name: g.name,
      policies: g.policies.map(String),
      members: [],
    };
    os.serverGroups.set(sg.id, sg);
    os.emitCreated('server_group', sg.id, sg.name);
    return { status: 200, body: { server_group: body(sg) }, mutation: { kind: 'server_group', id: sg.id } };
  }
  const m = /^\/os-server-groups\/([^/]+)$/.exec(p);
  if (m) {
    const g = mine.find((x) => x.id === m[1]);
    if (!g) throw novaError(404, `Instance group ${m[1]} could not be found.`);
    if (method === 'GET') return { status: 200, body: { server_group: body(g) } };
    if (method === 'DELETE') {
      os.serverGroups.delete(g.id);
      return { status: 204, mutation: { kind: 'server_group', id: g.id } };
    }
  }
  throw novaError(404, 'The resource could not be found.');
}

function limits(ctx: Ctx): Reply {
  const q = ctx.os.opts.quotas;
  const used = ctx.os.quotaUsage(ctx.region, ctx.token.projectId!);
  return {
    status: 200,
    body: {
      limits: {
        rate: [],
        absolute: {
          maxTotalInstances: q.instances,
          maxTotalCores: q.cores,
          maxTotalRAMSize: q.ram,
          maxTotalKeypairs: q.key_pairs,
          maxServerGroups: q.server_groups,
          maxServerGroupMembers: 10,
          maxServerMeta: 128,
          maxImageMeta: 128,
          maxPersonality: 5,
          maxPersonalitySize: 10240,
          maxSecurityGroups: q.security_group,
          maxSecurityGroupRules: q.security_group_rule,
          maxTotalFloatingIps: q.floatingip,
          totalInstancesUsed: used.instances,
          totalCoresUsed: used.cores,
          totalRAMUsed: used.ram,
          totalServerGroupsUsed: [...ctx.os.serverGroups.values()].filter(
            (g) => g.projectId === ctx.token.projectId,
          ).length,
          totalSecurityGroupsUsed: 0,
          totalFloatingIpsUsed: 0,
        },
      },
    },
  };
}

/**
 * os-networks / os-tenant-networks: the networks as Nova lists them (nova-network's API, proxied to
 * Neutron up to 2.35), which a client without Neutron resolves a network name with.
 */
function novaNetworks(ctx: Ctx, p: string): Reply {
  const nets = [...ctx.os.networks.values()].filter(
    (n) => n.region === ctx.region && !n.external && (n.projectId === ctx.token.projectId || n.shared),
  );
  if (p === '/os-tenant-networks') {
    const v4 = (n: NetworkState) => n.subnets.find((s) => s.version === 4)?.cidr ?? null;
    return { status: 200, body: { networks: nets.map((n) => ({ id: n.id, label: n.name, cidr: v4(n) })) } };
  }
  const nulls = [
    'bridge',
    'bridge_interface',
    'broadcast',
    'cidr_v6',
    'created_at',
    'deleted',
    'deleted_at',
    'dhcp_start',
    'dns1',
    'dns2',
    'gateway',
    'gateway_v6',
    'host',
    'injected',
    'multi_host',
    'netmask',
    'netmask_v6',
    'priority',
    'rxtx_base',
    'updated_at',
    'vlan',
    'vpn_private_address',
    'vpn_public_address',
    'vpn_public_port',
  ];
  return {
    status: 200,
    body: {
      networks: nets.map((n) => ({
        id: n.id,
        label: n.name,
        cidr: n.subnets.find((s) => s.version === 4)?.cidr ?? null,
        project_id: n.projectId,
        ...Object.fromEntries(nulls.map((k) => [k, null])),
      })),
    },
  };
}
