import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runValidator } from '../../helpers/fake-api.js';

/**
 * A stateful Exoscale v2 API on 127.0.0.1 for the exoscale driver's tests, written from
 * Exoscale's API reference. Every request must carry an EXO2-HMAC-SHA256 signature, verified as
 * the reference's "API Request Signature" describes (a wrong key, secret or expiry: 403). The
 * zone list hands out one loopback endpoint per zone (/<zone>/v2 on this server), and resources
 * live behind the zone they were made in. Mutations answer with an operation that stays pending
 * for `operationPolls` polls. Every body it sends or receives is recorded with its operation so
 * that `validate()` checks it against the published OpenAPI description. The addresses it hands
 * out come from `addresses` (the test's own hosts); none other.
 */
export const SPEC = '/work/shared/reference/api-specs/exoscale/v3/generator/source.yaml';

export interface FakeOptions {
  key: string;
  secret: string;
  /** Public IPv4 addresses for new instances, in order; reused round-robin. */
  addresses: string[];
  /** GETs of an operation that still see it pending. */
  operationPolls?: number;
  /** GETs of a new instance, once its operation succeeded, that still see it starting. */
  pollsToRunning?: number;
  /** Time between committing a create and answering it: where a kill -9 can land. */
  holdCreateMs?: number;
  /** As an instance is made: its registered keys' public lines and its user-data (decoded). */
  onCreate?(id: string, publicKeys: string[], userData: string): Promise<void>;
  onPower?(id: string, on: boolean): Promise<void>;
}

interface Recorded {
  op: string;
  status: number;
  body: unknown;
  kind: 'response' | 'request';
}

type Obj = Record<string, unknown>;

const ZONES = ['ch-gva-2', 'ch-dk-2', 'de-fra-1', 'de-muc-1', 'at-vie-1', 'at-vie-2', 'bg-sof-1'];
const CREATED = '2026-01-01T00:00:00Z';
const TEMPLATES = [
  {
    name: 'Linux Ubuntu 24.04 LTS 64-bit',
    user: 'ubuntu',
    family: 'ubuntu',
    created: '2026-03-01T00:00:00Z',
  },
  {
    name: 'Linux Ubuntu 24.04 LTS 64-bit',
    user: 'ubuntu',
    family: 'ubuntu',
    created: '2025-09-01T00:00:00Z',
  },
  {
    name: 'Linux Ubuntu 22.04 LTS 64-bit',
    user: 'ubuntu',
    family: 'ubuntu',
    created: '2025-01-01T00:00:00Z',
  },
  {
    name: 'Linux Debian 12 (Bookworm) 64-bit',
    user: 'debian',
    family: 'debian',
    created: '2025-06-01T00:00:00Z',
  },
].map((t, i) => ({
  id: `7d8f0c4e-0000-4000-8000-00000000000${i}`,
  name: t.name,
  family: t.family,
  'default-user': t.user,
  'created-at': t.created,
  visibility: 'public',
  size: 10737418240,
  'ssh-key-enabled': true,
  'password-enabled': false,
  'boot-mode': 'legacy',
  zones: ZONES,
}));
const TYPES = [
  ...['micro', 'tiny', 'small', 'medium', 'large', 'extra-large', 'huge'].map((size, i) => ({
    family: 'standard',
    size,
    cpus: Math.max(1, i),
    memory: 512 * 2 ** i * 1024 * 1024,
    authorized: true,
  })),
  { family: 'gpu3', size: 'small', cpus: 12, memory: 56 * 1024 ** 3, gpus: 1, authorized: false },
].map((t, i) => ({
  id: `b6cd1ff5-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`,
  zones: ZONES,
  ...t,
}));

interface OpState {
  op: Obj & { id: string; state: string };
  polls: number;
  /** Runs when the operation succeeds. */
  done?(): void;
}

interface InstanceState {
  instance: Obj & { id: string; name: string; state: string; labels: Record<string, string> };
  zone: string;
  polls: number;
  createOp: string;
  /** When the create was answered, and when a GET first showed it running (for the bench). */
  answeredAt?: number;
  runningAt?: number;
}

export class FakeExoscale extends EventEmitter {
  readonly opts: Required<Omit<FakeOptions, 'onCreate' | 'onPower'>> &
    Pick<FakeOptions, 'onCreate' | 'onPower'>;
  readonly keys = new Map<string, { name: string; fingerprint: string; publicKey: string; zone: string }>();
  readonly groups = new Map<string, Obj & { id: string; name: string; rules: Obj[] }>();
  readonly aags = new Map<string, Obj & { id: string; name: string }>();
  readonly instances = new Map<string, InstanceState>();
  readonly ops = new Map<string, OpState>();
  readonly recorded: Recorded[] = [];
  /** Requests as "zone METHOD /path" with ids replaced by {id} ("-" for the zone list's endpoint). */
  readonly calls: string[] = [];
  /** Requests refused for their signature, with why. */
  readonly refused: string[] = [];
  private nextIP = 0;
  private server: Server | undefined;
  url = '';

  constructor(opts: FakeOptions) {
    super();
    this.opts = { operationPolls: 2, pollsToRunning: 1, holdCreateMs: 0, ...opts };
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        text += c;
      });
      req.on('end', () => {
        this.handle(req, res, text).catch((err) => this.send(res, '', 500, { message: String(err) }));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v2`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A security group the user made before: kept by every rm. */
  addSecurityGroup(name: string): string {
    const id = randomUUID();
    this.groups.set(id, { id, name, description: 'made by hand', rules: [] });
    return id;
  }

  inventory(): { keys: string[]; groups: string[]; aags: string[]; instances: string[] } {
    return {
      keys: [...this.keys.keys()],
      groups: [...this.groups.values()].map((g) => g.name),
      aags: [...this.aags.values()].map((g) => g.name),
      instances: [...this.instances.values()].map((i) => i.instance.name),
    };
  }

  async validate(): Promise<string[]> {
    const records = this.recorded.filter((r) => r.op !== '');
    const script = join(import.meta.dirname, 'validate.py');
    return JSON.parse(await runValidator(script, [SPEC], JSON.stringify(records)));
  }

  /** op '' for answers the description does not document (errors): not validated. */
  private send(res: ServerResponse, op: string, status: number, body: unknown): void {
    if (op && status === 200) this.recorded.push({ op, status, body, kind: 'response' });
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private fail(res: ServerResponse, status: number, message: string): void {
    this.send(res, '', status, { message });
  }

  /** The reference's scheme, checked from the request as it arrived. */
  private checkSignature(req: IncomingMessage, url: URL, body: string): string {
    const h = req.headers.authorization ?? '';
    const m = /^EXO2-HMAC-SHA256 (.+)$/.exec(h);
    if (!m) return 'missing or malformed Authorization header';
    const parts = new Map<string, string>();
    for (const kv of m[1].split(',')) {
      const i = kv.indexOf('=');
      parts.set(kv.slice(0, i).trim(), kv.slice(i + 1));
    }
    if (parts.get('credential') !== this.opts.key) return 'invalid API key';
    const expires = Number(parts.get('expires'));
    if (!Number.isInteger(expires) || expires < Date.now() / 1000) return 'request expired';
    const names = parts.get('signed-query-args')?.split(';').filter(Boolean) ?? [];
    const given = [...url.searchParams.keys()];
    if (given.some((k) => !names.includes(k)) || names.some((k) => !url.searchParams.has(k)))
      return 'query parameters not covered by signed-query-args';
    const message = [
      `${req.method} ${url.pathname}`,
      body,
      names.map((n) => url.searchParams.get(n)).join(''),
      '',
      String(expires),
    ].join('\n');
    const want = createHmac('sha256', this.opts.secret).update(message, 'utf8').digest();
    const got = Buffer.from(parts.get('signature') ?? '', 'base64');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return 'invalid request signature';
    return '';
  }

  private newOp(res: ServerResponse, op: string, ref: { id: string; kind: string }, done?: () => void): void {
    const o = {
      id: randomUUID(),
      state: 'pending',
      reference: { id: ref.id, link: `/v2/${ref.kind}/${ref.id}`, command: op.split(' ')[0].toLowerCase() },
    };
    this.ops.set(o.id, { op: o, polls: 0, done });
    this.send(res, op, 200, o);
  }

  private async hold(): Promise<void> {
    if (this.opts.holdCreateMs > 0) await new Promise((r) => setTimeout(r, this.opts.holdCreateMs));
  }

  private async handle(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const zm = /^\/([a-z]+-[a-z]+-\d)\/v2(\/.*)$/.exec(url.pathname);
    const zone = zm?.[1] ?? '-';
    const path = zm ? zm[2] : url.pathname.replace(/^\/v2/, '');
    this.calls.push(`${zone} ${method} ${path.replace(/\/[0-9a-f-]{36}/g, '/{id}')}`);
    const why = this.checkSignature(req, url, text);
    if (why) {
      this.refused.push(why);
      return this.fail(res, 403, why);
    }
    let body: Obj = {};
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        return this.fail(res, 400, 'invalid JSON body');
      }
    }
    const rec = (op: string) => {
      if (text) this.recorded.push({ op, status: 200, body, kind: 'request' });
    };

    if (method === 'GET' && path === '/zone') {
      const base = this.url.replace(/\/v2$/, '');
      return this.send(res, 'GET /zone', 200, {
        zones: ZONES.map((name) => ({ name, 'api-endpoint': `${base}/${name}/v2` })),
      });
    }
    if (zone === '-') return this.fail(res, 404, `no zone in ${url.pathname}: use a zone's api-endpoint`);

    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^\/operation\/([^/]+)$/.exec(path))) {
      const s = this.ops.get(m[1]);
      if (!s) return this.fail(res, 404, `operation ${m[1]} not found`);
      if (s.op.state === 'pending' && ++s.polls > this.opts.operationPolls) {
        s.op.state = 'success';
        s.done?.();
      }
      return this.send(res, 'GET /operation/{id}', 200, s.op);
    }
    if (method === 'GET' && path === '/template') {
      const vis = url.searchParams.get('visibility') ?? 'public';
      return this.send(res, 'GET /template', 200, { templates: vis === 'public' ? TEMPLATES : [] });
    }
    if (method === 'GET' && (m = /^\/template\/([^/]+)$/.exec(path))) {
      const t = TEMPLATES.find((x) => x.id === m![1]);
      if (!t) return this.fail(res, 404, `template ${m[1]} not found`);
      return this.send(res, 'GET /template/{id}', 200, t);
    }
    if (method === 'GET' && path === '/instance-type')
      return this.send(res, 'GET /instance-type', 200, { 'instance-types': TYPES });

    // SSH keys
    if (method === 'GET' && path === '/ssh-key')
      return this.send(res, 'GET /ssh-key', 200, {
        'ssh-keys': [...this.keys.values()].map((k) => ({ name: k.name, fingerprint: k.fingerprint })),
      });
    if (method === 'POST' && path === '/ssh-key') {
      rec('POST /ssh-key');
      const name = String(body.name ?? '');
      const pub = String(body['public-key'] ?? '');
      if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}$/.test(name))
        return this.fail(res, 400, 'invalid SSH key name');
      if (!/^ssh-(rsa|ed25519) [A-Za-z0-9+/]+=*/.test(pub)) return this.fail(res, 400, 'invalid public key');
      if (this.keys.has(name)) return this.fail(res, 409, `SSH key ${name} already exists`);
      const blob = Buffer.from(pub.split(/\s+/)[1], 'base64');
      const fp = (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
      this.keys.set(name, { name, fingerprint: fp, publicKey: pub, zone });
      this.emit('created', { kind: 'ssh_key', id: name });
      await this.hold();
      return this.newOp(res, 'POST /ssh-key', { id: randomUUID(), kind: 'ssh-key' });
    }
    if (method === 'DELETE' && (m = /^\/ssh-key\/([^/]+)$/.exec(path))) {
      const name = decodeURIComponent(m[1]);
      if (!this.keys.delete(name)) return this.fail(res, 404, `SSH key ${name} not found`);
      return this.newOp(res, 'DELETE /ssh-key/{name}', { id: randomUUID(), kind: 'ssh-key' });
    }

    // Security groups
    if (method === 'GET' && path === '/security-group')
      return this.send(res, 'GET /security-group', 200, {
        'security-groups': [...this.groups.values()].map(({ rules: _r, ...g }) => g),
      });
    if (method === 'POST' && path === '/security-group') {
      rec('POST /security-group');
      const name = String(body.name ?? '');
      if (!name || name.length > 255) return this.fail(res, 400, 'invalid security group name');
      if ([...this.groups.values()].some((g) => g.name === name))
        return this.fail(res, 409, `security group ${name} already exists`);
      const id = randomUUID();
      this.groups.set(id, { id, name, description: String(body.description ?? ''), rules: [] });
      this.emit('created', { kind: 'security_group', id });
      await this.hold();
      return this.newOp(res, 'POST /security-group', { id, kind: 'security-group' });
    }
    if ((m = /^\/security-group\/([^/]+)(\/rules)?$/.exec(path))) {
      const g = this.groups.get(m[1]);
      if (!g) return this.fail(res, 404, `security group ${m[1]} not found`);
      if (method === 'POST' && m[2]) {
        rec('POST /security-group/{id}/rules');
        if (body['flow-direction'] !== 'ingress' && body['flow-direction'] !== 'egress')
          return this.fail(res, 400, 'invalid flow-direction');
        g.rules.push({ id: randomUUID(), ...body });
        return this.newOp(res, 'POST /security-group/{id}/rules', { id: g.id, kind: 'security-group' });
      }
      if (method === 'GET' && !m[2]) return this.send(res, 'GET /security-group/{id}', 200, g);
      if (method === 'DELETE' && !m[2]) {
        const users = [...this.instances.values()].filter((i) =>
          (i.instance['security-groups'] as { id: string }[] | undefined)?.some((x) => x.id === g.id),
        );
        if (users.length) return this.fail(res, 409, `security group ${g.name} is in use`);
        this.groups.delete(g.id);
        return this.newOp(res, 'DELETE /security-group/{id}', { id: g.id, kind: 'security-group' });
      }
    }

    // Anti-affinity groups
    if (method === 'GET' && path === '/anti-affinity-group')
      return this.send(res, 'GET /anti-affinity-group', 200, {
        'anti-affinity-groups': [...this.aags.values()].map((g) => ({ id: g.id, name: g.name })),
      });
    if (method === 'POST' && path === '/anti-affinity-group') {
      rec('POST /anti-affinity-group');
      const name = String(body.name ?? '');
      if (!name || name.length > 255) return this.fail(res, 400, 'invalid anti-affinity group name');
      if ([...this.aags.values()].some((g) => g.name === name))
        return this.fail(res, 409, `anti-affinity group ${name} already exists`);
      const id = randomUUID();
      this.aags.set(id, { id, name, description: String(body.description ?? '') });
      this.emit('created', { kind: 'anti_affinity_group', id });
      await this.hold();
      return this.newOp(res, 'POST /anti-affinity-group', { id, kind: 'anti-affinity-group' });
    }
    if ((m = /^\/anti-affinity-group\/([^/]+)$/.exec(path))) {
      const g = this.aags.get(m[1]);
      if (!g) return this.fail(res, 404, `anti-affinity group ${m[1]} not found`);
      const members = [...this.instances.values()]
        .filter((i) =>
          (i.instance['anti-affinity-groups'] as { id: string }[] | undefined)?.some((x) => x.id === g.id),
        )
        .map((i) => ({ id: i.instance.id }));
      if (method === 'GET')
        return this.send(res, 'GET /anti-affinity-group/{id}', 200, {
          ...g,
          ...(members.length ? { instances: members } : {}),
        });
      if (method === 'DELETE') {
        if (members.length) return this.fail(res, 409, `anti-affinity group ${g.name} is in use`);
        this.aags.delete(g.id);
        return this.newOp(res, 'DELETE /anti-affinity-group/{id}', { id: g.id, kind: 'anti-affinity-group' });
      }
    }

    // Instances
    if (method === 'GET' && path === '/instance')
      return this.send(res, 'GET /instance', 200, {
        instances: [...this.instances.values()].map((i) => this.listed(i)),
      });
    if (method === 'POST' && path === '/instance') return this.createInstance(res, body, zone, rec);
    if ((m = /^\/instance\/([0-9a-f-]{36})(:start|:stop|:reboot)?$/.exec(path))) {
      const s = this.instances.get(m[1]);
      if (!s || s.zone !== zone) return this.fail(res, 404, `instance ${m[1]} not found`);
      if (method === 'GET' && !m[2]) return this.send(res, 'GET /instance/{id}', 200, this.view(s));
      if (method === 'DELETE' && !m[2]) {
        s.instance.state = 'destroying';
        return this.newOp(res, 'DELETE /instance/{id}', { id: s.instance.id, kind: 'instance' }, () => {
          this.instances.delete(s.instance.id);
        });
      }
      if (method === 'PUT' && m[2]) {
        const cmd = m[2].slice(1);
        const on = cmd !== 'stop';
        if (cmd === 'start' && s.instance.state !== 'stopped')
          return this.fail(res, 409, `instance is ${s.instance.state}, not stopped`);
        await this.opts.onPower?.(s.instance.id, on);
        s.instance.state = on ? 'running' : 'stopped';
        return this.newOp(res, `PUT /instance/{id}:${cmd}`, { id: s.instance.id, kind: 'instance' });
      }
    }
    return this.fail(res, 404, `${method} ${path}: no such operation in this fake`);
  }

  private async createInstance(
    res: ServerResponse,
    body: Obj,
    zone: string,
    rec: (op: string) => void,
  ): Promise<void> {
    rec('POST /instance');
    const ref = (k: string) => (body[k] as { id?: string } | undefined)?.id ?? '';
    const tpl = TEMPLATES.find((t) => t.id === ref('template'));
    if (!tpl) return this.fail(res, 400, `template ${ref('template')} not found`);
    const type = TYPES.find((t) => t.id === ref('instance-type'));
    if (!type) return this.fail(res, 400, `instance type ${ref('instance-type')} not found`);
    const disk = body['disk-size'];
    if (typeof disk !== 'number' || disk < 10 || disk > 51200)
      return this.fail(res, 400, 'invalid disk-size');
    const name = String(body.name ?? '');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/.test(name)) return this.fail(res, 400, 'invalid instance name');
    const sgs = ((body['security-groups'] as { id: string }[]) ?? []).map((x) => this.groups.get(x.id));
    if (sgs.some((g) => !g)) return this.fail(res, 400, 'security group not found');
    const aags = ((body['anti-affinity-groups'] as { id: string }[]) ?? []).map((x) => this.aags.get(x.id));
    if (aags.some((g) => !g)) return this.fail(res, 400, 'anti-affinity group not found');
    const keys = ((body['ssh-keys'] as { name: string }[]) ?? []).map((k) => this.keys.get(k.name));
    if (keys.some((k) => !k)) return this.fail(res, 400, 'SSH key not found');
    const userData = body['user-data']
      ? Buffer.from(String(body['user-data']), 'base64').toString('utf8')
      : '';
    const id = randomUUID();
    const ip = this.opts.addresses.length
      ? this.opts.addresses[this.nextIP++ % this.opts.addresses.length]
      : `192.0.2.${10 + (this.nextIP++ % 200)}`;
    const opId = randomUUID();
    const s: InstanceState = {
      instance: {
        id,
        name,
        state: 'starting',
        labels: (body.labels as Record<string, string>) ?? {},
        'public-ip': ip,
        'public-ip-assignment': 'inet4',
        'disk-size': disk,
        'created-at': CREATED,
        'instance-type': type,
        template: tpl,
        'security-groups': sgs.map((g) => ({ id: g!.id })),
        'anti-affinity-groups': aags.map((g) => ({ id: g!.id })),
        'ssh-keys': keys.map((k) => ({ name: k!.name, fingerprint: k!.fingerprint })),
        ...(body['user-data'] ? { 'user-data': body['user-data'] } : {}),
      },
      zone,
      polls: 0,
      createOp: opId,
    };
    this.instances.set(id, s);
    await this.opts.onCreate?.(
      id,
      keys.map((k) => k!.publicKey),
      userData,
    );
    this.emit('created', { kind: 'instance', id });
    await this.hold();
    const o = {
      id: opId,
      state: 'pending',
      reference: { id, link: `/v2/instance/${id}`, command: 'create-instance' },
    };
    this.ops.set(opId, { op: o, polls: 0 });
    s.answeredAt = Date.now();
    this.send(res, 'POST /instance', 200, o);
  }

  /** The instance as GET shows it: starting until its operation succeeded and a few polls more. */
  private view(s: InstanceState): Obj {
    const op = this.ops.get(s.createOp);
    if (s.instance.state === 'starting' && op?.op.state === 'success' && ++s.polls > this.opts.pollsToRunning)
      s.instance.state = 'running';
    if (s.instance.state === 'running') s.runningAt ??= Date.now();
    return s.instance;
  }

  /** list-instances shows fewer fields, and the groups as security-group objects. */
  private listed(s: InstanceState): Obj {
    const i = s.instance;
    return {
      id: i.id,
      name: i.name,
      state: i.state,
      labels: i.labels,
      'public-ip': i['public-ip'],
      'public-ip-assignment': i['public-ip-assignment'],
      'security-groups': (i['security-groups'] as { id: string }[]).map((g) => ({
        id: g.id,
        name: this.groups.get(g.id)?.name ?? 'gone',
      })),
    };
  }
}
