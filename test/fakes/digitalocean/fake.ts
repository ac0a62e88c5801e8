import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { RateWindow, runValidator } from '../../helpers/fake-api.js';

/**
 * A stateful DigitalOcean API v2 on 127.0.0.1, for the digitalocean driver's tests: written from
 * DigitalOcean's API reference, and every body it sends or receives is recorded with its
 * operation so that `validate()` checks them against the published OpenAPI description
 * (../shared/reference/api-specs/digitalocean). It refuses what DigitalOcean refuses, makes
 * droplets active over several polls, pages lists, sends the rate-limit headers and throttles.
 * The addresses it hands out come from `addresses` (the test's own hosts); none other.
 */
export const SPEC_DIR = '/work/shared/reference/api-specs/digitalocean/specification';

export interface FakeOptions {
  token: string;
  /** Public IPv4 addresses for new droplets, in order; reused round-robin. */
  addresses: string[];
  /** GETs of a new droplet that still see `new` before it is `active`. */
  pollsToActive?: number;
  /** Time between committing a create and answering it: where a kill -9 can land. */
  holdCreateMs?: number;
  /** Requests allowed per window before 429s (DigitalOcean: 250 a minute). */
  rateLimit?: { limit: number; windowMs: number };
  dropletLimit?: number;
  /** Pages smaller than asked for (DigitalOcean caps per_page at 200): makes clients follow links. */
  maxPerPage?: number;
  /** Called when a power action takes effect: the test powers its host off or on. */
  onPower?(dropletId: number, on: boolean): Promise<void>;
  /** Called as a droplet is made, with its keys' public lines: what cloud-init would install. */
  onCreate?(dropletId: number, publicKeys: string[]): Promise<void>;
}

interface Recorded {
  op: string;
  status: number;
  body: unknown;
  kind: 'response' | 'request';
}

interface DropletState {
  droplet: Record<string, unknown> & { id: number; status: string; tags: string[] };
  polls: number;
  ip: string;
  /** When the create was answered, and when a GET first saw it active (for the bench). */
  answeredAt?: number;
  activeAt?: number;
}

const REGIONS = [
  { slug: 'nyc3', name: 'New York 3', available: true },
  { slug: 'ams3', name: 'Amsterdam 3', available: true },
  { slug: 'sfo1', name: 'San Francisco 1', available: false },
];
/** Enough sizes for two pages at per_page=2, and one that no region offers. */
const SIZES = [
  { slug: 's-1vcpu-1gb', memory: 1024, vcpus: 1, disk: 25, regions: ['nyc3', 'ams3'] },
  { slug: 's-1vcpu-2gb', memory: 2048, vcpus: 1, disk: 50, regions: ['nyc3', 'ams3'] },
  { slug: 's-2vcpu-4gb', memory: 4096, vcpus: 2, disk: 80, regions: ['nyc3'] },
  { slug: 'gpu-h100x8-640gb', memory: 1_966_080, vcpus: 160, disk: 2046, regions: [] as string[] },
];
const IMAGES = [
  {
    id: 170_000_001,
    slug: 'ubuntu-24-04-x64',
    name: '24.04 (LTS) x64',
    distribution: 'Ubuntu',
    regions: ['nyc3', 'ams3'],
  },
  {
    id: 170_000_002,
    slug: 'debian-12-x64',
    name: '12 x64',
    distribution: 'Debian',
    regions: ['nyc3', 'ams3'],
  },
  { id: 170_000_099, slug: null, name: 'my-snapshot', distribution: 'Ubuntu', regions: ['ams3'] },
];
const VPCS = [{ id: '5a4981aa-9653-4bd1-bef5-d6bff52042e4', name: 'default-nyc3', region: 'nyc3' }];

export class FakeDigitalOcean extends EventEmitter {
  readonly opts: Required<Omit<FakeOptions, 'onPower' | 'onCreate' | 'rateLimit'>> &
    Pick<FakeOptions, 'onPower' | 'onCreate' | 'rateLimit'>;
  readonly keys = new Map<number, Record<string, unknown> & { id: number; fingerprint: string }>();
  readonly droplets = new Map<number, DropletState>();
  readonly tags = new Set<string>();
  readonly actions = new Map<number, { action: Record<string, unknown>; polls: number; dropletId: number }>();
  readonly recorded: Recorded[] = [];
  /** Requests by "METHOD /path" with ids replaced by {id}. */
  readonly calls: string[] = [];
  throttled = 0;
  private nextId = 1000;
  private nextIP = 0;
  private readonly window: RateWindow;
  private failures: { method: string; path: RegExp; status: number; id: string; message: string }[] = [];
  private server: Server | undefined;
  url = '';

  constructor(opts: FakeOptions) {
    super();
    this.window = new RateWindow(opts.rateLimit);
    this.opts = { pollsToActive: 2, holdCreateMs: 0, dropletLimit: 25, maxPerPage: 200, ...opts };
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => {
        text += c;
      });
      req.on('end', () => {
        this.handle(req, res, text).catch((err) => {
          this.send(res, 'shared', 500, { id: 'server_error', message: String(err) });
        });
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** The next request matching gets this error instead of its answer. */
  failNext(method: string, path: RegExp, status: number, id: string, message: string): void {
    this.failures.push({ method, path, status, id, message });
  }

  /** A key the user added to the account before (as with the control panel): its id. */
  addKey(name: string, publicLine: string): { id: number; fingerprint: string } {
    const blob = Buffer.from(publicLine.trim().split(/\s+/)[1] ?? '', 'base64');
    const fingerprint = (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
    const key = { id: this.nextId++, fingerprint, public_key: publicLine.trim(), name };
    this.keys.set(key.id, key);
    return key;
  }

  /** Everything the account holds that a machine could have made. */
  inventory(): { keys: number[]; droplets: number[]; tags: string[] } {
    return { keys: [...this.keys.keys()], droplets: [...this.droplets.keys()], tags: [...this.tags] };
  }

  /** Problems found in the recorded bodies by DigitalOcean's OpenAPI description (python3). */
  async validate(): Promise<string[]> {
    const records = this.recorded.filter((r) => r.op !== 'shared');
    const script = join(import.meta.dirname, 'validate.py');
    return JSON.parse(await runValidator(script, [SPEC_DIR], JSON.stringify(records)));
  }

  private send(
    res: ServerResponse,
    op: string,
    status: number,
    body?: unknown,
    extra: Record<string, string> = {},
  ): void {
    // A copy as sent: the fake's objects change later (a droplet goes active, then off).
    this.recorded.push({
      op,
      status,
      body: body === undefined ? null : JSON.parse(JSON.stringify(body)),
      kind: 'response',
    });
    const headers: Record<string, string> = {
      ...this.window.headers({ limit: 5000, windowMs: 3_600_000 }),
      ...extra,
    };
    if (body === undefined) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
    res.end(text);
  }

  private error(
    res: ServerResponse,
    op: string,
    status: number,
    id: string,
    message: string,
    extra: Record<string, string> = {},
  ): void {
    this.send(res, op, status, { id, message, request_id: randomUUID() }, extra);
  }

  private async handle(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '');
    this.calls.push(`${method} ${path.replace(/\/\d+(?=\/|$)/g, '/{id}')}`);
    if (req.headers.authorization !== `Bearer ${this.opts.token}`) {
      return this.error(res, 'shared', 401, 'unauthorized', 'Unable to authenticate you');
    }
    if (this.window.over()) {
      this.throttled++;
      return this.error(res, 'shared', 429, 'too_many_requests', 'API Rate limit exceeded.');
    }
    const f = this.failures.findIndex((x) => x.method === method && x.path.test(path));
    if (f >= 0) {
      const [x] = this.failures.splice(f, 1);
      return this.error(res, 'shared', x.status, x.id, x.message);
    }
    let body: Record<string, unknown> = {};
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        return this.error(res, 'shared', 400, 'bad_request', 'unable to parse request body');
      }
    }
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
    const perPage = Math.min(
      this.opts.maxPerPage,
      Math.max(1, Number(url.searchParams.get('per_page') ?? 20)),
    );
    const list = (op: string, key: string, items: unknown[]) => {
      const start = (page - 1) * perPage;
      const pages: Record<string, string> = {};
      const link = (p: number) => {
        const u = new URL(`${this.url}${path}`);
        for (const [k, v] of url.searchParams) u.searchParams.set(k, v);
        u.searchParams.set('page', String(p));
        return u.href;
      };
      const last = Math.max(1, Math.ceil(items.length / perPage));
      if (page < last) Object.assign(pages, { last: link(last), next: link(page + 1) });
      if (page > 1) Object.assign(pages, { first: link(1), prev: link(page - 1) });
      this.send(res, op, 200, {
        [key]: items.slice(start, start + perPage),
        links: { pages },
        meta: { total: items.length },
      });
    };
    let m: RegExpExecArray | null;

    if (method === 'GET' && path === '/v2/account') {
      return this.send(res, 'resources/account/account_get.yml', 200, {
        account: {
          droplet_limit: this.opts.dropletLimit,
          floating_ip_limit: 3,
          email: 'test@example.com',
          uuid: 'b6fr89dbf6d9156cace5f3c78dc9851d957381ef',
          email_verified: true,
          status: 'active',
          status_message: '',
        },
      });
    }
    if (method === 'GET' && path === '/v2/regions') {
      return list(
        'resources/regions/regions_list.yml',
        'regions',
        REGIONS.map((r) => this.region(r.slug)),
      );
    }
    if (method === 'GET' && path === '/v2/sizes') {
      return list(
        'resources/sizes/sizes_list.yml',
        'sizes',
        SIZES.map((s) => this.size(s.slug)),
      );
    }
    if (method === 'GET' && (m = /^\/v2\/images\/([^/]+)$/.exec(path))) {
      const ref = decodeURIComponent(m[1]);
      const img = IMAGES.find((i) => i.slug === ref || String(i.id) === ref);
      if (!img)
        return this.error(
          res,
          'resources/images/images_get.yml',
          404,
          'not_found',
          'The resource you were accessing could not be found.',
        );
      return this.send(res, 'resources/images/images_get.yml', 200, { image: this.image(img) });
    }
    if (method === 'GET' && (m = /^\/v2\/vpcs\/([^/]+)$/.exec(path))) {
      const v = VPCS.find((x) => x.id === m![1]);
      if (!v)
        return this.error(
          res,
          'resources/vpcs/vpcs_get.yml',
          404,
          'not_found',
          'The resource you were accessing could not be found.',
        );
      return this.send(res, 'resources/vpcs/vpcs_get.yml', 200, {
        vpc: {
          ...v,
          description: '',
          ip_range: '10.116.0.0/20',
          urn: `do:vpc:${v.id}`,
          default: true,
          created_at: '2026-01-01T00:00:00Z',
        },
      });
    }

    // SSH keys
    if (method === 'POST' && path === '/v2/account/keys') {
      this.recorded.push({ op: 'resources/ssh_keys/sshKeys_create.yml', status: 0, body, kind: 'request' });
      const pub = String(body.public_key ?? '');
      const blob = Buffer.from(pub.trim().split(/\s+/)[1] ?? '', 'base64');
      if (!/^ssh-(rsa|ed25519) /.test(pub) || blob.length < 32) {
        return this.error(
          res,
          'resources/ssh_keys/sshKeys_create.yml',
          422,
          'unprocessable_entity',
          'Key invalid, key should be of the format `type key [comment]`',
        );
      }
      if (!body.name)
        return this.error(
          res,
          'resources/ssh_keys/sshKeys_create.yml',
          422,
          'unprocessable_entity',
          'Name is too short (minimum is 1 character)',
        );
      const fingerprint = (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
      if ([...this.keys.values()].some((k) => k.fingerprint === fingerprint)) {
        return this.error(
          res,
          'resources/ssh_keys/sshKeys_create.yml',
          422,
          'unprocessable_entity',
          'SSH Key is already in use on your account',
        );
      }
      const key = { id: this.nextId++, fingerprint, public_key: pub, name: String(body.name) };
      this.keys.set(key.id, key);
      this.emit('created', { kind: 'ssh_key', id: key.id });
      await this.hold();
      return this.send(res, 'resources/ssh_keys/sshKeys_create.yml', 201, { ssh_key: key });
    }
    if ((m = /^\/v2\/account\/keys\/([^/]+)$/.exec(path))) {
      const ref = decodeURIComponent(m[1]);
      const key = [...this.keys.values()].find((k) => String(k.id) === ref || k.fingerprint === ref);
      const op =
        method === 'DELETE' ? 'resources/ssh_keys/sshKeys_delete.yml' : 'resources/ssh_keys/sshKeys_get.yml';
      if (!key)
        return this.error(res, op, 404, 'not_found', 'The resource you were accessing could not be found.');
      if (method === 'DELETE') {
        this.keys.delete(key.id);
        return this.send(res, op, 204);
      }
      return this.send(res, op, 200, { ssh_key: key });
    }

    // Droplets
    if (method === 'POST' && path === '/v2/droplets') {
      return this.createDroplet(res, body);
    }
    if (method === 'GET' && path === '/v2/droplets') {
      const tag = url.searchParams.get('tag_name');
      const ds = [...this.droplets.values()]
        .filter((d) => !tag || d.droplet.tags.includes(tag))
        .map((d) => d.droplet);
      return list('resources/droplets/droplets_list.yml', 'droplets', ds);
    }
    if ((m = /^\/v2\/droplets\/(\d+)$/.exec(path))) {
      const id = Number(m[1]);
      const d = this.droplets.get(id);
      const op =
        method === 'DELETE'
          ? 'resources/droplets/droplets_destroy.yml'
          : 'resources/droplets/droplets_get.yml';
      if (!d)
        return this.error(res, op, 404, 'not_found', 'The resource you were accessing could not be found.');
      if (method === 'DELETE') {
        this.droplets.delete(id);
        await this.opts.onPower?.(id, false);
        return this.send(res, op, 204, undefined, { 'content-type': 'application/json' });
      }
      if (d.droplet.status === 'new' && ++d.polls >= this.opts.pollsToActive) this.activate(d);
      return this.send(res, op, 200, { droplet: d.droplet });
    }
    if (method === 'POST' && (m = /^\/v2\/droplets\/(\d+)\/actions$/.exec(path))) {
      return this.dropletAction(res, Number(m[1]), body);
    }
    if (method === 'GET' && (m = /^\/v2\/actions\/(\d+)$/.exec(path))) {
      const a = this.actions.get(Number(m[1]));
      if (!a)
        return this.error(
          res,
          'resources/actions/actions_get.yml',
          404,
          'not_found',
          'The resource you were accessing could not be found.',
        );
      if (a.action.status === 'in-progress' && ++a.polls >= 1) await this.complete(a);
      return this.send(res, 'resources/actions/actions_get.yml', 200, { action: a.action });
    }

    // Tags
    if ((m = /^\/v2\/tags\/([^/]+)$/.exec(path))) {
      const name = decodeURIComponent(m[1]);
      const op = method === 'DELETE' ? 'resources/tags/tags_delete.yml' : 'resources/tags/tags_get.yml';
      if (!this.tags.has(name))
        return this.error(res, op, 404, 'not_found', 'The resource you were accessing could not be found.');
      if (method === 'DELETE') {
        this.tags.delete(name);
        for (const d of this.droplets.values()) d.droplet.tags = d.droplet.tags.filter((t) => t !== name);
        return this.send(res, op, 204);
      }
      const count = [...this.droplets.values()].filter((d) => d.droplet.tags.includes(name)).length;
      return this.send(res, op, 200, {
        tag: {
          name,
          resources: {
            count,
            droplets: { count },
            images: { count: 0 },
            volumes: { count: 0 },
            volume_snapshots: { count: 0 },
            databases: { count: 0 },
          },
        },
      });
    }
    return this.error(res, 'shared', 404, 'not_found', 'The resource you were accessing could not be found.');
  }

  private async hold(): Promise<void> {
    if (this.opts.holdCreateMs > 0) await new Promise((r) => setTimeout(r, this.opts.holdCreateMs));
  }

  private async createDroplet(res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const op = 'resources/droplets/droplets_create.yml';
    this.recorded.push({ op, status: 0, body, kind: 'request' });
    const refuse = (message: string) => this.error(res, op, 422, 'unprocessable_entity', message);
    const name = String(body.name ?? '');
    if (
      !/^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(
        name,
      )
    ) {
      return refuse('Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)');
    }
    const region = REGIONS.find((r) => r.slug === body.region);
    if (!region?.available) return refuse('You specified an invalid region for Droplet creation.');
    const size = SIZES.find((s) => s.slug === body.size);
    if (!size?.regions.includes(region.slug))
      return refuse('You specified an invalid size for Droplet creation.');
    const image = IMAGES.find((i) => i.slug === body.image || i.id === body.image);
    if (!image?.regions.includes(region.slug))
      return refuse('You specified an invalid image for Droplet creation.');
    const keyIds = Array.isArray(body.ssh_keys) ? body.ssh_keys : [];
    for (const k of keyIds) {
      if (![...this.keys.values()].some((x) => x.id === k || x.fingerprint === k))
        return refuse('ssh_keys: invalid key identifiers');
    }
    const tags = Array.isArray(body.tags) ? body.tags.map(String) : [];
    if (tags.some((t) => !/^[a-zA-Z0-9_\-:]{1,255}$/.test(t))) return refuse('tags: invalid tag name');
    if (this.droplets.size >= this.opts.dropletLimit) {
      return this.error(
        res,
        op,
        422,
        'unprocessable_entity',
        `creating this/these droplet(s) will exceed your droplet limit (${this.opts.dropletLimit})`,
      );
    }
    const id = this.nextId++;
    const ip = this.opts.addresses.length
      ? this.opts.addresses[this.nextIP++ % this.opts.addresses.length]
      : `192.0.2.${(this.nextIP++ % 250) + 2}`;
    for (const t of tags) this.tags.add(t);
    const features = [
      ...(body.backups ? ['backups'] : []),
      ...(body.ipv6 ? ['ipv6'] : []),
      ...(body.monitoring ? ['monitoring'] : []),
      ...(body.vpc_uuid || body.private_networking ? ['private_networking'] : []),
    ];
    const d: DropletState = {
      ip,
      polls: 0,
      droplet: {
        id,
        name,
        memory: size.memory,
        vcpus: size.vcpus,
        disk: size.disk,
        locked: false,
        status: 'new',
        kernel: null,
        created_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        features,
        backup_ids: [],
        next_backup_window: null,
        snapshot_ids: [],
        image: this.image(image),
        volume_ids: [],
        size: this.size(size.slug),
        size_slug: size.slug,
        networks: { v4: [], v6: [] },
        region: this.region(region.slug),
        tags,
        ...(body.vpc_uuid ? { vpc_uuid: String(body.vpc_uuid) } : {}),
      },
    };
    this.droplets.set(id, d);
    const keys = [...this.keys.values()].filter(
      (k) => keyIds.includes(k.id) || keyIds.includes(k.fingerprint),
    );
    await this.opts.onCreate?.(
      id,
      keys.map((k) => String(k.public_key)),
    );
    const action = this.newAction('create', id, 'completed');
    this.emit('created', { kind: 'droplet', id });
    await this.hold();
    d.answeredAt = Date.now();
    this.send(res, op, 202, {
      droplet: d.droplet,
      links: { actions: [{ id: action.id, rel: 'create', href: `${this.url}/v2/actions/${action.id}` }] },
    });
  }

  private activate(d: DropletState): void {
    d.droplet.status = 'active';
    d.activeAt = Date.now();
    const v4: Record<string, unknown>[] = [
      { ip_address: d.ip, netmask: '255.255.255.0', gateway: d.ip.replace(/\.\d+$/, '.1'), type: 'public' },
    ];
    if (Array.isArray(d.droplet.features) && d.droplet.features.includes('private_networking')) {
      v4.push({
        ip_address: `10.116.0.${(d.droplet.id % 250) + 2}`,
        netmask: '255.255.240.0',
        gateway: '10.116.0.1',
        type: 'private',
      });
    }
    const v6 =
      Array.isArray(d.droplet.features) && d.droplet.features.includes('ipv6')
        ? [
            {
              ip_address: `2001:db8::${d.droplet.id.toString(16)}`,
              netmask: 64,
              gateway: '2001:db8::1',
              type: 'public',
            },
          ]
        : [];
    d.droplet.networks = { v4, v6 };
  }

  private newAction(type: string, dropletId: number, status: string): { id: number } {
    const id = this.nextId++;
    const action = {
      id,
      status,
      type,
      started_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      completed_at: status === 'completed' ? new Date().toISOString().replace(/\.\d+Z$/, 'Z') : null,
      resource_id: dropletId,
      resource_type: 'droplet',
      region: this.region('nyc3'),
      region_slug: 'nyc3',
    };
    this.actions.set(id, { action, polls: 0, dropletId });
    return action;
  }

  private async dropletAction(res: ServerResponse, id: number, body: Record<string, unknown>): Promise<void> {
    const op = 'resources/droplets/dropletActions_post.yml';
    this.recorded.push({ op, status: 0, body, kind: 'request' });
    const d = this.droplets.get(id);
    if (!d)
      return this.error(res, op, 404, 'not_found', 'The resource you were accessing could not be found.');
    const type = String(body.type ?? '');
    if (!['power_on', 'power_off', 'shutdown', 'reboot', 'power_cycle'].includes(type)) {
      return this.error(res, op, 422, 'unprocessable_entity', `action type '${type}' is not valid`);
    }
    if (type === 'power_on' && d.droplet.status === 'active')
      return this.error(res, op, 422, 'unprocessable_entity', 'Droplet is already powered on.');
    if ((type === 'shutdown' || type === 'power_off') && d.droplet.status === 'off')
      return this.error(res, op, 422, 'unprocessable_entity', 'Droplet is already powered off.');
    const action = this.newAction(type, id, 'in-progress');
    this.send(res, op, 201, { action: this.actions.get(action.id)!.action });
  }

  /** A power action takes effect: the droplet's status, and the test's host with it. */
  private async complete(a: { action: Record<string, unknown>; dropletId: number }): Promise<void> {
    const d = this.droplets.get(a.dropletId);
    const type = a.action.type;
    if (d) {
      if (type === 'power_on') {
        await this.opts.onPower?.(d.droplet.id, true);
        d.droplet.status = 'active';
      } else if (type === 'shutdown' || type === 'power_off') {
        await this.opts.onPower?.(d.droplet.id, false);
        d.droplet.status = 'off';
      } else if (type === 'reboot' || type === 'power_cycle') {
        await this.opts.onPower?.(d.droplet.id, false);
        await this.opts.onPower?.(d.droplet.id, true);
        d.droplet.status = 'active';
      }
    }
    a.action.status = 'completed';
    a.action.completed_at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  }

  private region(slug: string): Record<string, unknown> {
    const r = REGIONS.find((x) => x.slug === slug)!;
    return {
      name: r.name,
      slug: r.slug,
      features: ['backups', 'ipv6', 'metadata', 'install_agent', 'storage', 'image_transfer'],
      available: r.available,
      sizes: SIZES.filter((s) => s.regions.includes(r.slug)).map((s) => s.slug),
    };
  }

  private size(slug: string): Record<string, unknown> {
    const s = SIZES.find((x) => x.slug === slug)!;
    return {
      slug: s.slug,
      memory: s.memory,
      vcpus: s.vcpus,
      disk: s.disk,
      transfer: 1,
      price_monthly: 6,
      price_hourly: 0.00893,
      regions: s.regions,
      available: s.regions.length > 0,
      description: 'Basic',
    };
  }

  private image(i: (typeof IMAGES)[number]): Record<string, unknown> {
    return {
      id: i.id,
      name: i.name,
      distribution: i.distribution,
      slug: i.slug,
      public: i.slug !== null,
      regions: i.regions,
      created_at: '2026-04-25T00:00:00Z',
      type: i.slug ? 'base' : 'snapshot',
      min_disk_size: 15,
      size_gigabytes: 2.5,
      description: '',
      tags: [],
      status: 'available',
      error_message: '',
    };
  }
}
