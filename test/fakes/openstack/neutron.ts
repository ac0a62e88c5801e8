import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { type ApiError, neutronError } from './errors.js';
import { neutronTime, uuidFor } from './fake.js';
import { type Ctx, isObj, page, type Reply } from './misc.js';
import type {
  FloatingIpState,
  NetworkState,
  Obj,
  PortState,
  SecurityGroupRuleState,
  SecurityGroupState,
} from './types.js';

/**
 * Neutron's networking API v2.0: networks, subnets, ports (read only: Nova makes and removes a
 * server's ports), floating IPs, security groups and their rules. No samples of it are in
 * api-specs/, so the bodies, filters and errors follow the Networking API reference,
 * https://docs.openstack.org/api-ref/network/v2/index.html (found with the docs search, through
 * the copies of its "Create floating IP" and "List ports" sections at
 * docs.virtuozzo.com/virtuozzo_hybrid_infrastructure_*_compute_api_reference/, which cite it).
 * Lists filter by any attribute given in the query (several values of one: any of them), refuse
 * unknown filter attributes (the filter-validation extension), and page with limit/marker and
 * `<collection>_links`. Errors are `{"NeutronError":{type,message,detail}}` with the exception's
 * class name as type.
 */

const PAGING = ['limit', 'marker', 'fields', 'sort_key', 'sort_dir', 'page_reverse'];

function notFound(): ApiError {
  return neutronError(404, 'HTTPNotFound', 'The resource could not be found.');
}

function bad(message: string): ApiError {
  return neutronError(400, 'HTTPBadRequest', message);
}

function overQuota(resource: string): ApiError {
  return neutronError(409, 'OverQuota', `Quota exceeded for resources: ['${resource}'].`);
}

/** The list answer: filtered by the query, then paged. */
function list(ctx: Ctx, collection: string, items: Obj[]): Reply {
  const q = ctx.query;
  const allowed = new Set(items.length ? Object.keys(items[0]) : []);
  let out = items;
  for (const key of new Set(q.keys())) {
    if (PAGING.includes(key)) continue;
    if (items.length && !allowed.has(key)) {
      throw bad(`[${key}] is invalid attribute for filtering`);
    }
    const wanted = q.getAll(key);
    out = out.filter((it) => {
      const v = it[key];
      return wanted.some((w) => {
        if (typeof v === 'boolean') return /^(true|1)$/i.test(w) === v;
        if (v === null) return w === '' || w === 'None';
        return String(v) === w;
      });
    });
  }
  const pg = page(
    out,
    (it) => String(it.id),
    q,
    ctx.os.opts.maxLimit,
    `${ctx.base}/v2.0/${collection}`,
    (m) => neutronError(404, 'HTTPNotFound', `Marker ${m} could not be found.`),
    (l) => bad(`Bad limit request: Limit must be an integer 0 or greater and not '${l}'.`),
  );
  const body: Obj = { [collection.replace(/-/g, '_')]: pg.items };
  if (pg.next) body[`${collection.replace(/-/g, '_')}_links`] = [{ href: pg.next, rel: 'next' }];
  return { status: 200, body, op: `neutron:${collection}-list` };
}

/** Neutron refuses attributes it does not know in a create or update body. */
function onlyAttrs(o: Obj, allowed: string[]): void {
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  if (extra.length) throw bad(`Unrecognized attribute(s) '${extra.join(', ')}'`);
}

function required(o: Obj, attrs: string[]): void {
  for (const a of attrs) {
    if (!(a in o)) throw bad(`Failed to parse request. Required attribute '${a}' not specified`);
  }
}

function resourceBody(ctx: Ctx, key: string): Obj {
  const b = ctx.body;
  if (!isObj(b) || !isObj(b[key])) throw bad(`Resource body required`);
  onlyAttrs(b, [key]);
  return b[key] as Obj;
}

export function networkBody(n: NetworkState): Obj {
  return {
    id: n.id,
    name: n.name,
    tenant_id: n.projectId,
    project_id: n.projectId,
    admin_state_up: true,
    mtu: 1450,
    status: 'ACTIVE',
    subnets: n.subnets.map((s) => s.id),
    shared: n.shared,
    'router:external': n.external,
    availability_zone_hints: [],
    availability_zones: ['nova'],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    port_security_enabled: true,
    is_default: n.external,
    l2_adjacency: true,
    description: '',
    tags: [],
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    revision_number: 1,
  };
}

function subnetBody(n: NetworkState, s: NetworkState['subnets'][number]): Obj {
  const v4 = s.version === 4;
  const prefix = s.cidr.split('/')[0];
  return {
    id: s.id,
    name: `${n.name}-subnet${v4 ? '' : '-v6'}`,
    network_id: n.id,
    tenant_id: n.projectId,
    project_id: n.projectId,
    ip_version: s.version,
    cidr: s.cidr,
    gateway_ip: s.gateway,
    enable_dhcp: true,
    allocation_pools: v4
      ? [{ start: prefix.replace(/\.0$/, '.2'), end: prefix.replace(/\.0$/, '.254') }]
      : [{ start: `${prefix}2`, end: `${prefix}ffff:ffff:ffff:ffff` }],
    dns_nameservers: [],
    host_routes: [],
    ipv6_address_mode: v4 ? null : 'slaac',
    ipv6_ra_mode: v4 ? null : 'slaac',
    subnetpool_id: null,
    service_types: [],
    description: '',
    tags: [],
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    revision_number: 0,
  };
}

export function portBody(p: PortState): Obj {
  return {
    id: p.id,
    name: p.name,
    network_id: p.networkId,
    tenant_id: p.projectId,
    project_id: p.projectId,
    mac_address: p.mac,
    admin_state_up: true,
    status: p.status,
    device_id: p.deviceId,
    device_owner: p.deviceOwner,
    fixed_ips: p.fixedIps.map((f) => ({ ...f })),
    security_groups: p.securityGroups,
    allowed_address_pairs: [],
    extra_dhcp_opts: [],
    'binding:vnic_type': 'normal',
    port_security_enabled: true,
    dns_name: '',
    description: '',
    tags: [],
    created_at: p.created,
    updated_at: p.created,
    revision_number: 1,
  };
}

export function floatingIpBody(f: FloatingIpState, port?: PortState): Obj {
  return {
    id: f.id,
    tenant_id: f.projectId,
    project_id: f.projectId,
    floating_network_id: f.networkId,
    floating_ip_address: f.address,
    fixed_ip_address: f.fixedIp,
    port_id: f.portId,
    // Associating needs a router between the port's network and the external one: one per external network here.
    router_id: f.portId ? uuidFor(`router/${f.region}/${f.networkId}`) : null,
    status: f.portId && port?.status === 'ACTIVE' ? 'ACTIVE' : 'DOWN',
    description: f.description,
    dns_domain: '',
    dns_name: '',
    port_details: port
      ? {
          name: port.name,
          network_id: port.networkId,
          mac_address: port.mac,
          admin_state_up: true,
          status: port.status,
          device_id: port.deviceId,
          device_owner: port.deviceOwner,
        }
      : null,
    port_forwardings: [],
    qos_policy_id: null,
    tags: [],
    created_at: f.created,
    updated_at: f.updated,
    revision_number: f.revision,
  };
}

function ruleBody(r: SecurityGroupRuleState, defaultGroup: boolean): Obj {
  return {
    id: r.id,
    security_group_id: r.security_group_id,
    direction: r.direction,
    ethertype: r.ethertype,
    protocol: r.protocol,
    port_range_min: r.port_range_min,
    port_range_max: r.port_range_max,
    remote_ip_prefix: r.remote_ip_prefix,
    normalized_cidr: r.remote_ip_prefix,
    remote_group_id: r.remote_group_id,
    remote_address_group_id: null,
    description: r.description,
    tenant_id: r.project_id,
    project_id: r.project_id,
    belongs_to_default_sg: defaultGroup,
    tags: [],
    created_at: r.created_at,
    updated_at: r.created_at,
    revision_number: 0,
  };
}

function groupBody(g: SecurityGroupState): Obj {
  return {
    id: g.id,
    name: g.name,
    description: g.description,
    tenant_id: g.projectId,
    project_id: g.projectId,
    security_group_rules: g.rules.map((r) => ruleBody(r, g.name === 'default')),
    stateful: true,
    shared: false,
    tags: [],
    created_at: g.created,
    updated_at: g.created,
    revision_number: g.rules.length,
  };
}

export function neutron(ctx: Ctx): Reply {
  const { os, method, path, token, region } = ctx;
  const projectId = token?.projectId ?? '';
  if (method === 'GET' && path === '/') {
    return {
      status: 200,
      body: {
        versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${ctx.base}/v2.0/`, rel: 'self' }] }],
      },
    };
  }
  if (method === 'GET' && path === '/v2.0') {
    const names = ['network', 'subnet', 'port', 'floatingip', 'security_group', 'security_group_rule'];
    return {
      status: 200,
      body: {
        resources: names.map((n) => {
          const collection = n === 'floatingip' ? 'floatingips' : `${n.replace(/_/g, '-')}s`;
          return { name: n, collection, links: [{ href: `${ctx.base}/v2.0/${collection}`, rel: 'self' }] };
        }),
      },
    };
  }
  const visibleNets = [...os.networks.values()].filter(
    (n) => n.region === region && (n.projectId === projectId || n.shared || n.external),
  );
  const myPorts = [...os.ports.values()].filter((p) => p.region === region && p.projectId === projectId);
  const myFips = [...os.floatingIps.values()].filter((f) => f.region === region && f.projectId === projectId);
  // Neutron makes a project's default group the first time the project looks at its groups.
  if (path.startsWith('/v2.0/security-group')) os.defaultSecurityGroup(region, projectId);
  const myGroups = [...os.securityGroups.values()].filter(
    (g) => g.region === region && g.projectId === projectId,
  );
  let m: RegExpExecArray | null;

  // Networks and subnets
  if (path === '/v2.0/networks' && method === 'GET')
    return list(ctx, 'networks', visibleNets.map(networkBody));
  if ((m = /^\/v2\.0\/networks\/([^/]+)$/.exec(path)) && method === 'GET') {
    const n = visibleNets.find((x) => x.id === m![1]);
    if (!n) throw neutronError(404, 'NetworkNotFound', `Network ${m[1]} could not be found.`);
    return { status: 200, body: { network: networkBody(n) } };
  }
  const subnets = visibleNets.flatMap((n) => n.subnets.map((s) => subnetBody(n, s)));
  if (path === '/v2.0/subnets' && method === 'GET') return list(ctx, 'subnets', subnets);
  if ((m = /^\/v2\.0\/subnets\/([^/]+)$/.exec(path)) && method === 'GET') {
    const s = subnets.find((x) => x.id === m![1]);
    if (!s) throw neutronError(404, 'SubnetNotFound', `Subnet ${m[1]} could not be found.`);
    return { status: 200, body: { subnet: s } };
  }

  // Ports
  if (path === '/v2.0/ports' && method === 'GET') return list(ctx, 'ports', myPorts.map(portBody));
  if ((m = /^\/v2\.0\/ports\/([^/]+)$/.exec(path)) && method === 'GET') {
    const p = myPorts.find((x) => x.id === m![1]);
    if (!p) throw neutronError(404, 'PortNotFound', `Port ${m[1]} could not be found.`);
    return { status: 200, body: { port: portBody(p) } };
  }

  // Floating IPs
  const fipJson = (f: FloatingIpState) => floatingIpBody(f, f.portId ? os.ports.get(f.portId) : undefined);
  if (path === '/v2.0/floatingips' && method === 'GET') return list(ctx, 'floatingips', myFips.map(fipJson));
  if (path === '/v2.0/floatingips' && method === 'POST') {
    const b = resourceBody(ctx, 'floatingip');
    onlyAttrs(b, [
      'floating_network_id',
      'port_id',
      'fixed_ip_address',
      'floating_ip_address',
      'subnet_id',
      'description',
      'tenant_id',
      'project_id',
      'dns_domain',
      'dns_name',
      'qos_policy_id',
    ]);
    required(b, ['floating_network_id']);
    const net = [...os.networks.values()].find((n) => n.region === region && n.id === b.floating_network_id);
    if (!net)
      throw neutronError(
        404,
        'NetworkNotFound',
        `Network ${String(b.floating_network_id)} could not be found.`,
      );
    if (!net.external) {
      throw neutronError(
        400,
        'BadRequest',
        `Bad floatingip request: Network ${net.id} is not a valid external network.`,
      );
    }
    for (const k of ['tenant_id', 'project_id']) {
      if (k in b && b[k] !== projectId)
        throw neutronError(403, 'HTTPForbidden', `Cannot create a floating IP for another project.`);
    }
    if (myFips.length + 1 > os.opts.quotas.floatingip) throw overQuota('floatingip');
    if (typeof b.floating_ip_address === 'string') {
      if (!isIP(b.floating_ip_address))
        throw bad(
          `Invalid input for floating_ip_address. Reason: '${b.floating_ip_address}' is not a valid IP address.`,
        );
      if ([...os.floatingIps.values()].some((f) => f.address === b.floating_ip_address)) {
        throw neutronError(
          409,
          'IpAddressAlreadyAllocated',
          `IP address ${b.floating_ip_address} already allocated in subnet ${net.subnets[0].id}`,
        );
      }
    }
    let port: PortState | undefined;
    let fixed: string | null = null;
    if (b.port_id !== undefined && b.port_id !== null)
      ({ port, fixed } = association(ctx, String(b.port_id), b.fixed_ip_address, net));
    const f = os.allocateFloatingIp(region, projectId, net, {
      address: typeof b.floating_ip_address === 'string' ? b.floating_ip_address : undefined,
      description: typeof b.description === 'string' ? b.description : '',
    });
    if (port) Object.assign(f, { portId: port.id, fixedIp: fixed });
    os.emitCreated('floatingip', f.id, f.address);
    return {
      status: 201,
      body: { floatingip: fipJson(f) },
      mutation: { kind: 'floatingip', id: f.id },
      op: 'neutron:floatingip',
    };
  }
  if ((m = /^\/v2\.0\/floatingips\/([^/]+)$/.exec(path))) {
    const f = myFips.find((x) => x.id === m![1]);
    if (!f) throw neutronError(404, 'FloatingIPNotFound', `Floating IP ${m[1]} could not be found`);
    if (method === 'GET') return { status: 200, body: { floatingip: fipJson(f) }, op: 'neutron:floatingip' };
    if (method === 'PUT') {
      const b = resourceBody(ctx, 'floatingip');
      onlyAttrs(b, ['port_id', 'fixed_ip_address', 'description', 'dns_domain', 'dns_name', 'qos_policy_id']);
      if ('port_id' in b) {
        if (b.port_id === null) Object.assign(f, { portId: null, fixedIp: null });
        else {
          const net = os.networks.get(`${region}/${f.networkId}`)!;
          const { port, fixed } = association(ctx, String(b.port_id), b.fixed_ip_address, net, f.id);
          Object.assign(f, { portId: port.id, fixedIp: fixed });
        }
      }
      if (typeof b.description === 'string') f.description = b.description;
      f.updated = neutronTime(Date.now());
      f.revision++;
      return {
        status: 200,
        body: { floatingip: fipJson(f) },
        mutation: { kind: 'floatingip', id: f.id },
        op: 'neutron:floatingip',
      };
    }
    if (method === 'DELETE') {
      os.floatingIps.delete(f.id);
      return { status: 204, mutation: { kind: 'floatingip', id: f.id } };
    }
  }

  // Security groups
  if (path === '/v2.0/security-groups' && method === 'GET')
    return list(ctx, 'security-groups', myGroups.map(groupBody));
  if (path === '/v2.0/security-groups' && method === 'POST') {
    const b = resourceBody(ctx, 'security_group');
    onlyAttrs(b, ['name', 'description', 'tenant_id', 'project_id', 'stateful']);
    if ('name' in b && typeof b.name !== 'string')
      throw bad(`Invalid input for name. Reason: '${String(b.name)}' is not a valid string.`);
    if (b.name === 'default')
      throw neutronError(409, 'SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
    if (typeof b.name === 'string' && b.name.length > 255)
      throw bad(`Invalid input for name. Reason: '${b.name}' exceeds maximum length of 255.`);
    if (myGroups.length + 1 > os.opts.quotas.security_group) throw overQuota('security_group');
    const g = os.makeSecurityGroup(
      region,
      projectId,
      String(b.name ?? ''),
      typeof b.description === 'string' ? b.description : '',
    );
    os.emitCreated('security_group', g.id, g.name);
    return {
      status: 201,
      body: { security_group: groupBody(g) },
      mutation: { kind: 'security_group', id: g.id },
      op: 'neutron:security-group',
    };
  }
  if ((m = /^\/v2\.0\/security-groups\/([^/]+)$/.exec(path))) {
    const g = myGroups.find((x) => x.id === m![1]);
    if (!g) throw neutronError(404, 'SecurityGroupNotFound', `Security group ${m[1]} does not exist`);
    if (method === 'GET')
      return { status: 200, body: { security_group: groupBody(g) }, op: 'neutron:security-group' };
    if (method === 'DELETE') {
      if (g.name === 'default') {
        throw neutronError(
          409,
          'SecurityGroupCannotRemoveDefault',
          'Insufficient rights for removing default security group.',
        );
      }
      if ([...os.ports.values()].some((p) => p.securityGroups.includes(g.id))) {
        throw neutronError(409, 'SecurityGroupInUse', `Security Group ${g.id} in use.`);
      }
      os.securityGroups.delete(g.id);
      return { status: 204, mutation: { kind: 'security_group', id: g.id } };
    }
  }
  const rules = myGroups.flatMap((g) => g.rules.map((r) => ({ g, r })));
  if (path === '/v2.0/security-group-rules' && method === 'GET') {
    return list(
      ctx,
      'security-group-rules',
      rules.map(({ g, r }) => ruleBody(r, g.name === 'default')),
    );
  }
  if (path === '/v2.0/security-group-rules' && method === 'POST') {
    const b = resourceBody(ctx, 'security_group_rule');
    const r = newRule(ctx, b, myGroups, rules.length);
    os.emitCreated('security_group_rule', r.id);
    const g = myGroups.find((x) => x.id === r.security_group_id)!;
    return {
      status: 201,
      body: { security_group_rule: ruleBody(r, g.name === 'default') },
      mutation: { kind: 'security_group_rule', id: r.id },
      op: 'neutron:security-group-rule',
    };
  }
  if ((m = /^\/v2\.0\/security-group-rules\/([^/]+)$/.exec(path))) {
    const found = rules.find((x) => x.r.id === m![1]);
    if (!found)
      throw neutronError(404, 'SecurityGroupRuleNotFound', `Security group rule ${m[1]} does not exist`);
    if (method === 'GET')
      return { status: 200, body: { security_group_rule: ruleBody(found.r, found.g.name === 'default') } };
    if (method === 'DELETE') {
      found.g.rules = found.g.rules.filter((x) => x !== found.r);
      return { status: 204, mutation: { kind: 'security_group_rule', id: found.r.id } };
    }
  }
  throw notFound();
}

/** The port and fixed address a floating IP is to be associated with, or Neutron's refusal. */
function association(
  ctx: Ctx,
  portId: string,
  fixedAsked: unknown,
  net: NetworkState,
  selfId?: string,
): { port: PortState; fixed: string } {
  const port = ctx.os.ports.get(portId);
  if (!port || port.region !== ctx.region || port.projectId !== ctx.token.projectId) {
    throw neutronError(404, 'PortNotFound', `Port ${portId} could not be found.`);
  }
  const v4 = port.fixedIps.filter((i) => !i.ip_address.includes(':'));
  if (!v4.length)
    throw neutronError(
      400,
      'BadRequest',
      `Bad floatingip request: Port ${port.id} does not have any IPv4 address.`,
    );
  const fixed = typeof fixedAsked === 'string' ? fixedAsked : v4[0].ip_address;
  if (!v4.some((i) => i.ip_address === fixed)) {
    throw neutronError(
      400,
      'BadRequest',
      `Bad floatingip request: Port ${port.id} does not have fixed ip ${fixed}.`,
    );
  }
  const taken = [...ctx.os.floatingIps.values()].find(
    (f) => f.id !== selfId && f.portId === port.id && f.fixedIp === fixed && f.networkId === net.id,
  );
  if (taken) {
    throw neutronError(
      409,
      'FloatingIPPortAlreadyAssociated',
      `Cannot associate floating IP ${taken.address} (${taken.id}) with port ${port.id} using fixed IP ${fixed}, as that fixed IP already has a floating IP on external network ${net.id}.`,
    );
  }
  return { port, fixed };
}

const PROTOCOLS: Record<string, number> = {
  tcp: 6,
  udp: 17,
  icmp: 1,
  icmpv6: 58,
  sctp: 132,
  ah: 51,
  esp: 50,
  gre: 47,
};

function newRule(ctx: Ctx, b: Obj, groups: SecurityGroupState[], count: number): SecurityGroupRuleState {
  onlyAttrs(b, [
    'security_group_id',
    'direction',
    'ethertype',
    'protocol',
    'port_range_min',
    'port_range_max',
    'remote_ip_prefix',
    'remote_group_id',
    'remote_address_group_id',
    'description',
    'tenant_id',
    'project_id',
  ]);
  required(b, ['security_group_id', 'direction']);
  if (b.direction !== 'ingress' && b.direction !== 'egress') {
    throw bad(
      `Invalid input for direction. Reason: '${String(b.direction)}' is not in ['ingress', 'egress'].`,
    );
  }
  const ethertype = b.ethertype ?? 'IPv4';
  if (ethertype !== 'IPv4' && ethertype !== 'IPv6') {
    throw neutronError(
      400,
      'SecurityGroupRuleInvalidEtherType',
      `Security group rule for ethertype '${String(ethertype)}' not supported. Allowed values are ['IPv4', 'IPv6'].`,
    );
  }
  let protocol: string | null = null;
  if (b.protocol !== undefined && b.protocol !== null) {
    protocol = String(b.protocol).toLowerCase();
    const n = Number(protocol);
    if (!(protocol in PROTOCOLS) && !(Number.isInteger(n) && n >= 0 && n <= 255)) {
      throw neutronError(
        400,
        'SecurityGroupRuleInvalidProtocol',
        `Security group rule protocol ${protocol} not supported. Only protocol values [None, ${Object.keys(PROTOCOLS).join(', ')}] and integer representations [0 to 255] are supported.`,
      );
    }
  }
  const port = (k: string): number | null => {
    const v = b[k];
    if (v === undefined || v === null) return null;
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isInteger(n)) throw bad(`Invalid input for ${k}. Reason: '${String(v)}' is not an integer.`);
    return n;
  };
  const min = port('port_range_min');
  const max = port('port_range_max');
  if ((min !== null || max !== null) && protocol === null) {
    throw neutronError(
      400,
      'SecurityGroupProtocolRequiredWithPorts',
      'Must also specify protocol if port range is given.',
    );
  }
  if (protocol === 'tcp' || protocol === 'udp' || protocol === '6' || protocol === '17') {
    for (const p of [min, max]) {
      if (p !== null && (p < 1 || p > 65535)) {
        throw neutronError(400, 'SecurityGroupInvalidPortValue', `Invalid value for port ${p}.`);
      }
    }
    if (min !== null && max !== null && min > max) {
      throw neutronError(
        400,
        'SecurityGroupInvalidPortRange',
        'For TCP/UDP protocols, port_range_min must be <= port_range_max',
      );
    }
  }
  let prefix: string | null = null;
  if (typeof b.remote_ip_prefix === 'string') {
    const [addr, bits] = b.remote_ip_prefix.split('/');
    const v = isIP(addr);
    if (!v || (bits !== undefined && !(Number(bits) >= 0 && Number(bits) <= (v === 4 ? 32 : 128)))) {
      throw bad(
        `Invalid input for remote_ip_prefix. Reason: '${b.remote_ip_prefix}' is not a valid IP subnet.`,
      );
    }
    if ((v === 4) !== (ethertype === 'IPv4')) {
      throw neutronError(
        400,
        'SecurityGroupRuleParameterConflict',
        `Conflicting value ethertype ${ethertype} for CIDR ${b.remote_ip_prefix}`,
      );
    }
    prefix = bits === undefined ? `${addr}/${v === 4 ? 32 : 128}` : b.remote_ip_prefix;
  }
  if (prefix !== null && b.remote_group_id) {
    throw neutronError(
      400,
      'SecurityGroupRemoteGroupAndRemoteIpPrefix',
      'Only remote_ip_prefix or remote_group_id may be provided.',
    );
  }
  const g = groups.find((x) => x.id === b.security_group_id);
  if (!g)
    throw neutronError(
      404,
      'SecurityGroupNotFound',
      `Security group ${String(b.security_group_id)} does not exist`,
    );
  const remoteGroup = typeof b.remote_group_id === 'string' ? b.remote_group_id : null;
  if (remoteGroup && !groups.some((x) => x.id === remoteGroup)) {
    throw neutronError(404, 'SecurityGroupNotFound', `Security group ${remoteGroup} does not exist`);
  }
  const dup = g.rules.find(
    (r) =>
      r.direction === b.direction &&
      r.ethertype === ethertype &&
      r.protocol === protocol &&
      r.port_range_min === min &&
      r.port_range_max === max &&
      r.remote_ip_prefix === prefix &&
      r.remote_group_id === remoteGroup,
  );
  if (dup)
    throw neutronError(
      409,
      'SecurityGroupRuleExists',
      `Security group rule already exists. Rule id is ${dup.id}.`,
    );
  if (count + 1 > ctx.os.opts.quotas.security_group_rule) throw overQuota('security_group_rule');
  const r: SecurityGroupRuleState = {
    id: randomUUID(),
    security_group_id: g.id,
    direction: b.direction,
    ethertype,
    protocol,
    port_range_min: min,
    port_range_max: max,
    remote_ip_prefix: prefix,
    remote_group_id: remoteGroup,
    description: typeof b.description === 'string' ? b.description : '',
    project_id: g.projectId,
    created_at: neutronTime(Date.now()),
  };
  g.rules.push(r);
  return r;
}
