import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { RateWindow, runValidator } from '../../helpers/fake-api.js';

/**
 * A stateful Hetzner Cloud API on 127.0.0.1 for the hetzner driver's tests, written from
 * Hetzner's API reference. Every body it sends or receives is recorded with its operation so that
 * `validate()` checks them against the published OpenAPI description
 * (../shared/reference/api-specs/hetzner/openapi/hcloud.json). It refuses what Hetzner refuses
 * ({error: {code, message, details}}), runs actions over several polls, pages lists
 * (meta.pagination), sends RateLimit-* headers and answers 429 rate_limit_exceeded. The
 * addresses it hands out come from `addresses` (the test's own hosts); none other.
 */
export const SPEC = '/work/shared/reference/api-specs/hetzner/openapi/hcloud.json';

export interface FakeOptions {
  token: string;
  /** Public IPv4 addresses for new servers, in order; reused round-robin. */
  addresses: string[];
  /** The server's IPv6 /64 (Hetzner gives each server one); the driver reaches its ::1. */
  ipv6Network?: string;
  /** The server's address on the first network it joins. */
  privateAddress?: string;
  /** GETs of a running server that still show no private address. */
  privatePolls?: number;
  /** GETs of a new server's create action that still see it running. */
  actionPolls?: number;
  /** GETs of a server, after its create action, that still see it initializing. */
  pollsToRunning?: number;
  /** Time between committing a create and answering it: where a kill -9 can land. */
  holdCreateMs?: number;
  /** Requests allowed per window before 429s (Hetzner: 3600 an hour per project). */
  rateLimit?: { limit: number; windowMs: number };
  /** Servers the project may have (resource_limit_exceeded beyond). */
  serverLimit?: number;
  /** Pages smaller than asked for (Hetzner caps per_page at 50). */
  maxPerPage?: number;
  onPower?(serverId: number, on: boolean): Promise<void>;
  /** As a server is made, with its keys' public lines: what cloud-init would install. */
  onCreate?(serverId: number, publicKeys: string[]): Promise<void>;
}

interface Recorded {
  op: string;
  status: number;
  body: unknown;
  kind: 'response' | 'request';
}

type Obj = Record<string, unknown>;

interface ServerState {
  server: Obj & { id: number; name: string; status: string; labels: Record<string, string> };
  ip: string;
  polls: number;
  createAction: number;
  networks: number[];
  answeredAt?: number;
  runningAt?: number;
}

interface ActionState {
  action: Obj & { id: number; status: string; command: string; progress: number };
  polls: number;
  serverId: number;
}

const CREATED = '2026-01-01T00:00:00Z';
const LOCATIONS = [
  { id: 1, name: 'fsn1', city: 'Falkenstein', country: 'DE', zone: 'eu-central' },
  { id: 2, name: 'nbg1', city: 'Nuremberg', country: 'DE', zone: 'eu-central' },
  { id: 3, name: 'hel1', city: 'Helsinki', country: 'FI', zone: 'eu-central' },
  { id: 4, name: 'ash', city: 'Ashburn, VA', country: 'US', zone: 'us-east' },
];
const TYPES = [
  { id: 22, name: 'cx22', arch: 'x86', cores: 2, memory: 4, disk: 40, locations: ['fsn1', 'nbg1', 'hel1'] },
  { id: 45, name: 'cax11', arch: 'arm', cores: 2, memory: 4, disk: 40, locations: ['fsn1', 'nbg1', 'hel1'] },
  { id: 96, name: 'ccx13', arch: 'x86', cores: 2, memory: 8, disk: 80, locations: ['ash', 'fsn1'] },
  { id: 1, name: 'cx11', arch: 'x86', cores: 1, memory: 2, disk: 20, locations: ['fsn1'], gone: true },
];
const IMAGES = [
  { id: 161547269, name: 'ubuntu-24.04', arch: 'x86', type: 'system', flavor: 'ubuntu', version: '24.04' },
  { id: 161547270, name: 'ubuntu-24.04', arch: 'arm', type: 'system', flavor: 'ubuntu', version: '24.04' },
  { id: 114690387, name: 'debian-12', arch: 'x86', type: 'system', flavor: 'debian', version: '12' },
  { id: 300001, name: null, arch: 'x86', type: 'snapshot', flavor: 'ubuntu', version: null },
];
const NETWORKS = [{ id: 4711, name: 'backend', ip_range: '10.0.0.0/16' }];
const FIREWALLS = [{ id: 38, name: 'web' }];
const VOLUMES = [{ id: 4242, name: 'data', location: 'fsn1' }];
const PRIMARY_IPS = [{ id: 9001, name: 'front-v4', type: 'ipv4', location: 'fsn1' }];
const HOSTNAME =
  /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

export class FakeHetzner extends EventEmitter {
  readonly opts: Required<Omit<FakeOptions, 'onPower' | 'onCreate' | 'rateLimit'>> &
    Pick<FakeOptions, 'onPower' | 'onCreate' | 'rateLimit'>;
  readonly keys = new Map<
    number,
    Obj & { id: number; name: string; fingerprint: string; labels: Record<string, string> }
  >();
  readonly servers = new Map<number, ServerState>();
  readonly groups = new Map<
    number,
    Obj & { id: number; name: string; servers: number[]; labels: Record<string, string> }
  >();
  readonly actions = new Map<number, ActionState>();
  readonly recorded: Recorded[] = [];
  /** Requests as "METHOD /path" with ids replaced by {id}. */
  readonly calls: string[] = [];
  /** When each GET /actions/{id} arrived: the driver must not poll faster than it says. */
  readonly actionPollTimes = new Map<number, number[]>();
  throttled = 0;
  private nextId = 1000;
  private nextIP = 0;
  private readonly window: RateWindow;
  private failures: { method: string; path: RegExp; status: number; code: string; message: string }[] = [];
  private server: Server | undefined;
  url = '';

  constructor(opts: FakeOptions) {
    super();
    this.window = new RateWindow(opts.rateLimit);
    this.opts = {
      ipv6Network: '2001:db8:1::/64',
      privateAddress: '10.0.0.2',
      privatePolls: 0,
      actionPolls: 2,
      pollsToRunning: 1,
      holdCreateMs: 0,
      serverLimit: 25,
      maxPerPage: 50,
      ...opts,
    };
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => {
        text += c;
      });
      req.on('end', () => {
        this.handle(req, res, text).catch((err) => {
          this.error(res, 'shared', 500, 'server_error', String(err));
        });
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** The next request matching gets this error instead of its answer. */
  failNext(method: string, path: RegExp, status: number, code: string, message: string): void {
    this.failures.push({ method, path, status, code, message });
  }

  /** A key the user added to the project before: its id. */
  addKey(name: string, publicLine: string): { id: number; fingerprint: string } {
    const key = {
      id: this.nextId++,
      name,
      fingerprint: md5(publicLine),
      public_key: publicLine.trim(),
      labels: {},
      created: CREATED,
    };
    this.keys.set(key.id, key);
    return key;
  }

  /** Everything the project holds that a machine could have made. */
  inventory(): { keys: number[]; servers: number[]; groups: number[] } {
    return {
      keys: [...this.keys.keys()],
      servers: [...this.servers.keys()],
      groups: [...this.groups.keys()],
    };
  }

  /** Problems found in the recorded bodies by the OpenAPI description (python3). */
  async validate(): Promise<string[]> {
    const records = this.recorded.filter((r) => r.op !== 'shared');
    const script = join(import.meta.dirname, 'validate.py');
    return JSON.parse(await runValidator(script, [SPEC], JSON.stringify(records)));
  }

  private send(res: ServerResponse, op: string, status: number, body?: unknown): void {
    this.recorded.push({ op, status, body: body ?? null, kind: 'response' });
    const headers = this.window.headers({ limit: 3600, windowMs: 3_600_000 });
    if (body === undefined) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    res.writeHead(status, { ...headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private error(
    res: ServerResponse,
    op: string,
    status: number,
    code: string,
    message: string,
    details: Obj | null = null,
  ): void {
    this.send(res, op, status, { error: { code, message, details } });
  }

  private invalid(res: ServerResponse, op: string, field: string, message: string): void {
    this.error(res, op, 400, 'invalid_input', `invalid input in field '${field}'`, {
      fields: [{ name: field, messages: [message] }],
    });
  }

  private async hold(): Promise<void> {
    if (this.opts.holdCreateMs > 0) await new Promise((r) => setTimeout(r, this.opts.holdCreateMs));
  }

  private async handle(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '').replace(/^\/v1/, '');
    this.calls.push(`${method} ${path.replace(/\/\d+(?=\/|$)/g, '/{id}')}`);
    if (req.headers.authorization !== `Bearer ${this.opts.token}`) {
      return this.error(res, 'shared', 401, 'unauthorized', 'unable to authenticate');
    }
    if (this.window.over()) {
      this.throttled++;
      return this.error(res, 'shared', 429, 'rate_limit_exceeded', 'limit of 3600 requests per hour reached');
    }
    const f = this.failures.findIndex((x) => x.method === method && x.path.test(path));
    if (f >= 0) {
      const [x] = this.failures.splice(f, 1);
      return this.error(res, 'shared', x.status, x.code, x.message);
    }
    let body: Obj = {};
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        return this.error(res, 'shared', 400, 'json_error', 'invalid JSON in request body');
      }
    }
    const qp = url.searchParams;
    const list = (op: string, key: string, all: Obj[]) => {
      let items = all;
      const name = qp.get('name');
      if (name !== null) items = items.filter((i) => i.name === name);
      const sel = qp.get('label_selector');
      if (sel) {
        const [k, v] = sel.split('=');
        items = items.filter((i) => {
          const labels = (i.labels ?? {}) as Record<string, string>;
          return v === undefined ? k in labels : labels[k] === v;
        });
      }
      const page = Math.max(1, Number(qp.get('page') ?? 1));
      const perPage = Math.min(this.opts.maxPerPage, 50, Math.max(1, Number(qp.get('per_page') ?? 25)));
      const last = Math.max(1, Math.ceil(items.length / perPage));
      this.send(res, op, 200, {
        [key]: items.slice((page - 1) * perPage, page * perPage),
        meta: {
          pagination: {
            page,
            per_page: perPage,
            previous_page: page > 1 ? page - 1 : null,
            next_page: page < last ? page + 1 : null,
            last_page: last,
            total_entries: items.length,
          },
        },
      });
    };
    const notFound = (op: string, what: string, id: string) =>
      this.error(res, op, 404, 'not_found', `${what} with ID '${id}' not found`);
    let m: RegExpExecArray | null;

    if (method === 'GET' && path === '/locations')
      return list(
        'GET /locations',
        'locations',
        LOCATIONS.map((l) => this.location(l.name)),
      );
    if (method === 'GET' && path === '/server_types')
      return list(
        'GET /server_types',
        'server_types',
        TYPES.map((t) => this.serverType(t.name)),
      );
    if (method === 'GET' && path === '/images') {
      const arch = qp.get('architecture');
      return list(
        'GET /images',
        'images',
        IMAGES.filter((i) => !arch || i.arch === arch).map((i) => this.image(i)),
      );
    }
    if (method === 'GET' && (m = /^\/images\/(\d+)$/.exec(path))) {
      const img = IMAGES.find((i) => i.id === Number(m![1]));
      if (!img) return notFound('GET /images/{id}', 'image', m[1]);
      return this.send(res, 'GET /images/{id}', 200, { image: this.image(img) });
    }
    for (const [coll, key, items, build] of [
      ['networks', 'network', NETWORKS, (x: Obj) => this.network(x)],
      ['firewalls', 'firewall', FIREWALLS, (x: Obj) => this.firewall(x)],
      ['volumes', 'volume', VOLUMES, (x: Obj) => this.volume(x)],
      ['primary_ips', 'primary_ip', PRIMARY_IPS, (x: Obj) => this.primaryIP(x)],
    ] as const) {
      if (method === 'GET' && path === `/${coll}`) {
        const ip = qp.get('ip');
        const all = (items as readonly Obj[]).map(build).filter((x) => !ip || x.ip === ip);
        return list(`GET /${coll}`, coll, all);
      }
      if (method === 'GET' && (m = new RegExp(`^/${coll}/(\\d+)$`).exec(path))) {
        const x = (items as readonly Obj[]).find((i) => i.id === Number(m![1]));
        if (!x) return notFound(`GET /${coll}/{id}`, key, m[1]);
        return this.send(res, `GET /${coll}/{id}`, 200, { [key]: build(x) });
      }
    }

    // SSH keys
    if (method === 'GET' && path === '/ssh_keys') {
      const fp = qp.get('fingerprint');
      return list(
        'GET /ssh_keys',
        'ssh_keys',
        [...this.keys.values()].filter((k) => !fp || k.fingerprint === fp),
      );
    }
    if (method === 'POST' && path === '/ssh_keys') return this.createKey(res, body);
    if ((m = /^\/ssh_keys\/(\d+)$/.exec(path))) {
      const op = `${method} /ssh_keys/{id}`;
      const key = this.keys.get(Number(m[1]));
      if (!key) return notFound(op, 'SSH key', m[1]);
      if (method === 'DELETE') {
        this.keys.delete(key.id);
        return this.send(res, op, 204);
      }
      return this.send(res, op, 200, { ssh_key: key });
    }

    // Placement groups
    if (method === 'GET' && path === '/placement_groups')
      return list('GET /placement_groups', 'placement_groups', [...this.groups.values()]);
    if (method === 'POST' && path === '/placement_groups') {
      const op = 'POST /placement_groups';
      this.recorded.push({ op, status: 0, body, kind: 'request' });
      const name = String(body.name ?? '');
      if (!name) return this.invalid(res, op, 'name', 'Missing data for required field.');
      if ([...this.groups.values()].some((g) => g.name === name))
        return this.error(res, op, 409, 'uniqueness_error', 'name is already used');
      const g = {
        id: this.nextId++,
        name,
        type: 'spread',
        servers: [] as number[],
        labels: (body.labels ?? {}) as Record<string, string>,
        created: CREATED,
      };
      this.groups.set(g.id, g);
      this.emit('created', { kind: 'placement_group', id: g.id });
      await this.hold();
      return this.send(res, op, 201, { placement_group: g });
    }
    if ((m = /^\/placement_groups\/(\d+)$/.exec(path))) {
      const op = `${method} /placement_groups/{id}`;
      const g = this.groups.get(Number(m[1]));
      if (!g) return notFound(op, 'placement group', m[1]);
      if (method === 'DELETE') {
        if (g.servers.length)
          return this.error(res, op, 409, 'conflict', 'placement group has servers assigned');
        this.groups.delete(g.id);
        return this.send(res, op, 204);
      }
      return this.send(res, op, 200, { placement_group: g });
    }

    // Servers
    if (method === 'GET' && path === '/servers')
      return list(
        'GET /servers',
        'servers',
        [...this.servers.values()].map((s) => s.server),
      );
    if (method === 'POST' && path === '/servers') return this.createServer(res, body);
    if ((m = /^\/servers\/(\d+)$/.exec(path))) {
      const op = `${method} /servers/{id}`;
      const s = this.servers.get(Number(m[1]));
      if (!s) return notFound(op, 'server', m[1]);
      if (method === 'DELETE') {
        this.servers.delete(s.server.id);
        for (const g of this.groups.values()) g.servers = g.servers.filter((x) => x !== s.server.id);
        await this.opts.onPower?.(s.server.id, false);
        const a = this.newAction('delete_server', s.server.id, 'running');
        return this.send(res, op, 200, { action: a.action });
      }
      const created = this.actions.get(s.createAction);
      if (created?.action.status === 'success') s.polls++;
      if (s.server.status === 'initializing' && created?.action.status === 'success') {
        if (s.polls >= this.opts.pollsToRunning) {
          s.server.status = 'running';
          s.runningAt = Date.now();
        }
      }
      if (
        s.server.status === 'running' &&
        s.networks.length &&
        !(s.server.private_net as Obj[]).length &&
        s.polls >= this.opts.pollsToRunning + this.opts.privatePolls
      ) {
        s.server.private_net = s.networks.map((n, i) => ({
          network: n,
          ip: i === 0 ? this.opts.privateAddress : `10.0.${i}.2`,
          alias_ips: [],
          mac_address: '86:00:00:2a:7d:e0',
        }));
      }
      return this.send(res, op, 200, { server: s.server });
    }
    if (method === 'POST' && (m = /^\/servers\/(\d+)\/actions\/([a-z_]+)$/.exec(path))) {
      const command = m[2];
      const op = `POST /servers/{id}/actions/${command}`;
      if (!['poweron', 'poweroff', 'shutdown', 'reboot'].includes(command))
        return this.error(res, 'shared', 404, 'not_found', 'not found');
      const s = this.servers.get(Number(m[1]));
      if (!s) return notFound(op, 'server', m[1]);
      if ([...this.actions.values()].some((a) => a.serverId === s.server.id && a.action.status === 'running'))
        return this.error(res, op, 423, 'locked', 'server is locked by another action');
      const a = this.newAction(
        {
          poweron: 'start_server',
          poweroff: 'stop_server',
          shutdown: 'shutdown_server',
          reboot: 'reboot_server',
        }[command]!,
        s.server.id,
        'running',
      );
      return this.send(res, op, 201, { action: a.action });
    }
    if (method === 'GET' && (m = /^\/actions\/(\d+)$/.exec(path))) {
      const id = Number(m[1]);
      const a = this.actions.get(id);
      if (!a) return notFound('GET /actions/{id}', 'action', m[1]);
      const times = this.actionPollTimes.get(id) ?? [];
      times.push(Date.now());
      this.actionPollTimes.set(id, times);
      if (a.action.status === 'running') {
        a.polls++;
        const need = a.action.command === 'create_server' ? this.opts.actionPolls : 1;
        a.action.progress = Math.min(100, Math.round((100 * a.polls) / (need + 1)));
        if (a.polls >= need) await this.complete(a);
      }
      return this.send(res, 'GET /actions/{id}', 200, { action: a.action });
    }
    return this.error(res, 'shared', 404, 'not_found', 'not found');
  }

  private async createKey(res: ServerResponse, body: Obj): Promise<void> {
    const op = 'POST /ssh_keys';
    this.recorded.push({ op, status: 0, body, kind: 'request' });
    const name = String(body.name ?? '');
    const pub = String(body.public_key ?? '').trim();
    if (!name) return this.invalid(res, op, 'name', 'Missing data for required field.');
    const blob = Buffer.from(pub.split(/\s+/)[1] ?? '', 'base64');
    if (!/^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp256) /.test(pub) || blob.length < 32)
      return this.invalid(res, op, 'public_key', 'invalid public key');
    if ([...this.keys.values()].some((k) => k.name === name))
      return this.error(res, op, 409, 'uniqueness_error', 'SSH key with the same name already exists');
    const fingerprint = md5(pub);
    if ([...this.keys.values()].some((k) => k.fingerprint === fingerprint))
      return this.error(res, op, 409, 'uniqueness_error', 'SSH key with the same fingerprint already exists');
    const key = {
      id: this.nextId++,
      name,
      fingerprint,
      public_key: pub,
      labels: (body.labels ?? {}) as Record<string, string>,
      created: new Date().toISOString(),
    };
    this.keys.set(key.id, key);
    this.emit('created', { kind: 'ssh_key', id: key.id });
    await this.hold();
    this.send(res, op, 201, { ssh_key: key });
  }

  private async createServer(res: ServerResponse, body: Obj): Promise<void> {
    const op = 'POST /servers';
    this.recorded.push({ op, status: 0, body, kind: 'request' });
    const name = String(body.name ?? '');
    if (!HOSTNAME.test(name)) return this.invalid(res, op, 'name', 'Name must be a valid hostname.');
    if ([...this.servers.values()].some((s) => s.server.name === name))
      return this.error(res, op, 409, 'uniqueness_error', 'server name is already used');
    const type = TYPES.find((t) => t.name === body.server_type);
    if (!type) return this.invalid(res, op, 'server_type', 'server type not found');
    if (type.gone) return this.error(res, op, 412, 'resource_unavailable', 'server type is deprecated');
    const locName = body.location === undefined ? type.locations[0] : String(body.location);
    if (!LOCATIONS.some((l) => l.name === locName))
      return this.invalid(res, op, 'location', 'location not found');
    if (!type.locations.includes(locName))
      return this.error(res, op, 412, 'resource_unavailable', 'server type not available in this location');
    const ref = String(body.image ?? '');
    const image = IMAGES.find((i) => String(i.id) === ref || (i.name === ref && i.arch === type.arch));
    if (!image) return this.invalid(res, op, 'image', 'image not found');
    if (image.arch !== type.arch)
      return this.invalid(res, op, 'image', 'image architecture does not match server type architecture');
    const keyRefs = Array.isArray(body.ssh_keys) ? body.ssh_keys.map(String) : [];
    const keys = keyRefs.map((r) => [...this.keys.values()].find((k) => String(k.id) === r || k.name === r));
    if (keys.some((k) => !k)) return this.invalid(res, op, 'ssh_keys', 'SSH key not found');
    const labels = (body.labels ?? {}) as Record<string, string>;
    const group =
      body.placement_group === undefined ? undefined : this.groups.get(Number(body.placement_group));
    if (body.placement_group !== undefined && !group)
      return this.invalid(res, op, 'placement_group', 'placement group not found');
    for (const [field, items] of [
      ['networks', NETWORKS],
      ['volumes', VOLUMES],
    ] as const) {
      const ids = Array.isArray(body[field]) ? (body[field] as number[]) : [];
      if (ids.some((id) => !items.some((x) => x.id === id)))
        return this.invalid(res, op, field, `${field} not found`);
    }
    const fws = Array.isArray(body.firewalls) ? (body.firewalls as { firewall: number }[]) : [];
    if (fws.some((f) => !FIREWALLS.some((x) => x.id === f.firewall)))
      return this.invalid(res, op, 'firewalls', 'firewall not found');
    if (this.servers.size >= this.opts.serverLimit)
      return this.error(res, op, 403, 'resource_limit_exceeded', 'server limit exceeded');
    const publicNet = (body.public_net ?? {}) as {
      enable_ipv4?: boolean;
      enable_ipv6?: boolean;
      ipv4?: number;
    };
    const v4 = publicNet.enable_ipv4 !== false;
    const v6 = publicNet.enable_ipv6 !== false;
    const id = this.nextId++;
    const ip = this.opts.addresses.length
      ? this.opts.addresses[this.nextIP++ % this.opts.addresses.length]
      : `192.0.2.${(this.nextIP++ % 250) + 2}`;
    const netIds = Array.isArray(body.networks) ? (body.networks as number[]) : [];
    const server = {
      id,
      name,
      status: 'initializing',
      created: new Date().toISOString(),
      public_net: {
        ipv4: v4
          ? { id: this.nextId++, ip, blocked: false, dns_ptr: `static.${ip}.clients.your-server.de` }
          : null,
        ipv6: v6 ? { id: this.nextId++, ip: this.opts.ipv6Network, blocked: false, dns_ptr: [] } : null,
        floating_ips: [],
        firewalls: fws.map((f) => ({ id: f.firewall, status: 'applied' })),
      },
      // Hetzner attaches the networks after the server runs: empty until then.
      private_net: [] as Obj[],
      server_type: this.serverType(type.name),
      datacenter: this.datacenter(locName),
      location: this.location(locName),
      image: this.image(image),
      iso: null,
      rescue_enabled: false,
      locked: false,
      backup_window: null,
      outgoing_traffic: 0,
      ingoing_traffic: 0,
      included_traffic: 21990232555520,
      protection: { delete: false, rebuild: false },
      labels,
      volumes: Array.isArray(body.volumes) ? body.volumes : [],
      load_balancers: [],
      primary_disk_size: type.disk,
      placement_group: group ?? null,
    };
    const create = this.newAction('create_server', id, 'running');
    const start = this.newAction('start_server', id, 'running');
    const s: ServerState = { server, ip, polls: 0, createAction: create.action.id, networks: netIds };
    this.servers.set(id, s);
    if (group) group.servers.push(id);
    await this.opts.onCreate?.(
      id,
      keys.map((k) => String(k!.public_key)),
    );
    this.emit('created', { kind: 'server', id });
    await this.hold();
    s.answeredAt = Date.now();
    this.send(res, op, 201, {
      server,
      action: create.action,
      next_actions: [start.action],
      root_password: null,
    });
  }

  private newAction(command: string, serverId: number, status: string): ActionState {
    const id = this.nextId++;
    const a: ActionState = {
      action: {
        id,
        command,
        status,
        progress: status === 'success' ? 100 : 0,
        started: new Date().toISOString(),
        finished: null,
        resources: [{ id: serverId, type: 'server' }],
        error: null,
      },
      polls: 0,
      serverId,
    };
    this.actions.set(id, a);
    return a;
  }

  /** An action takes effect: the server's status, and the test's host with it. */
  private async complete(a: ActionState): Promise<void> {
    const s = this.servers.get(a.serverId);
    const c = a.action.command;
    if (s) {
      if (c === 'start_server' && s.server.status === 'off') {
        await this.opts.onPower?.(s.server.id, true);
        s.server.status = 'running';
      } else if (c === 'stop_server' || c === 'shutdown_server') {
        await this.opts.onPower?.(s.server.id, false);
        s.server.status = 'off';
      } else if (c === 'reboot_server') {
        await this.opts.onPower?.(s.server.id, false);
        await this.opts.onPower?.(s.server.id, true);
      } else if (c === 'create_server') {
        // The start that follows a create finishes with it.
        for (const x of this.actions.values()) {
          if (
            x.serverId === s.server.id &&
            x.action.command === 'start_server' &&
            x.action.status === 'running'
          ) {
            x.action.status = 'success';
            x.action.progress = 100;
            x.action.finished = new Date().toISOString();
          }
        }
      }
    }
    a.action.status = 'success';
    a.action.progress = 100;
    a.action.finished = new Date().toISOString();
  }

  private location(name: string): Obj {
    const l = LOCATIONS.find((x) => x.name === name)!;
    return {
      id: l.id,
      name: l.name,
      description: `${l.city} DC Park 1`,
      country: l.country,
      city: l.city,
      latitude: 50.47612,
      longitude: 12.370071,
      network_zone: l.zone,
    };
  }

  private datacenter(loc: string): Obj {
    const l = LOCATIONS.find((x) => x.name === loc)!;
    const here = TYPES.filter((t) => t.locations.includes(loc)).map((t) => t.id);
    return {
      id: l.id,
      name: `${loc}-dc1`,
      description: `${l.city} 1 virtual DC 1`,
      location: this.location(loc),
      server_types: { supported: here, available: here, available_for_migration: here },
    };
  }

  private serverType(name: string): Obj {
    const t = TYPES.find((x) => x.name === name)!;
    const deprecation = t.gone
      ? { announced: '2024-06-06T00:00:00Z', unavailable_after: '2024-09-06T00:00:00Z' }
      : null;
    return {
      id: t.id,
      name: t.name,
      description: t.name.toUpperCase(),
      category: 'shared',
      cores: t.cores,
      memory: t.memory,
      disk: t.disk,
      deprecated: t.gone === true,
      deprecation,
      prices: t.locations.map((l) => ({
        location: l,
        price_hourly: { net: '0.0060000000', gross: '0.0071400000000000' },
        price_monthly: { net: '3.7900000000', gross: '4.5101000000000000' },
        included_traffic: 21990232555520,
        price_per_tb_traffic: { net: '1.0000000000', gross: '1.1900000000000000' },
      })),
      storage_type: 'local',
      cpu_type: 'shared',
      architecture: t.arch,
      locations: t.locations.map((l) => ({
        id: LOCATIONS.find((x) => x.name === l)!.id,
        name: l,
        deprecation,
      })),
    };
  }

  private image(i: (typeof IMAGES)[number]): Obj {
    return {
      id: i.id,
      type: i.type,
      status: 'available',
      name: i.name,
      description: i.name ?? 'my snapshot',
      image_size: i.type === 'snapshot' ? 2.3 : null,
      disk_size: 10,
      created: CREATED,
      created_from: i.type === 'snapshot' ? { id: 1, name: 'old' } : null,
      bound_to: null,
      os_flavor: i.flavor,
      os_version: i.version,
      rapid_deploy: i.type === 'system',
      protection: { delete: false },
      deprecated: null,
      deleted: null,
      labels: {},
      architecture: i.arch,
    };
  }

  private network(n: Obj): Obj {
    return {
      id: n.id,
      name: n.name,
      ip_range: n.ip_range,
      subnets: [{ type: 'cloud', ip_range: '10.0.0.0/24', network_zone: 'eu-central', gateway: '10.0.0.1' }],
      routes: [],
      servers: [],
      load_balancers: [],
      protection: { delete: false },
      labels: {},
      created: CREATED,
      expose_routes_to_vswitch: false,
    };
  }

  private firewall(f: Obj): Obj {
    return {
      id: f.id,
      name: f.name,
      labels: {},
      created: CREATED,
      rules: [
        {
          direction: 'in',
          protocol: 'tcp',
          port: '22',
          source_ips: ['0.0.0.0/0'],
          destination_ips: [],
          description: null,
        },
      ],
      applied_to: [],
    };
  }

  private volume(v: Obj): Obj {
    return {
      id: v.id,
      name: v.name,
      created: CREATED,
      server: null,
      location: this.location(String(v.location)),
      size: 10,
      linux_device: `/dev/disk/by-id/scsi-0HC_Volume_${v.id}`,
      protection: { delete: false },
      labels: {},
      status: 'available',
      format: 'ext4',
    };
  }

  private primaryIP(p: Obj): Obj {
    return {
      id: p.id,
      name: p.name,
      ip: '127.0.0.1',
      type: p.type,
      assignee_id: null,
      assignee_type: 'server',
      auto_delete: false,
      blocked: false,
      created: CREATED,
      datacenter: this.datacenter(String(p.location)),
      location: this.location(String(p.location)),
      dns_ptr: [],
      labels: {},
      protection: { delete: false },
    };
  }
}

function md5(publicLine: string): string {
  const blob = Buffer.from(publicLine.trim().split(/\s+/)[1] ?? '', 'base64');
  return (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
}
