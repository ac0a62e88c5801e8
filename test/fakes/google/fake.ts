import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ACCELERATORS,
  CPU_PLATFORMS,
  DISK_TYPES,
  IMAGES,
  type ImageDef,
  imageDate,
  MACHINE_TYPES,
  regionOf,
  ZONES,
} from './catalog.js';
import { Discovery } from './discovery.js';
import { badName, exists, HTTP_MESSAGES, HttpError, inUse, invalid, notFound } from './errors.js';
import { applyFilter } from './filter.js';

export { IMAGES, type ImageDef, MACHINE_TYPES, ZONES } from './catalog.js';

/**
 * A stateful Google Compute Engine v1 API on 127.0.0.1, for the google driver's tests, written
 * from the Compute discovery document and Google's documented behaviour. The API is served under
 * `${url}/compute/v1/` (the driver's endpoint override is `url`, the root URL). Every request is
 * routed by the discovery document's own paths, and every body sent or received is recorded under
 * its method id so that `validate()` checks them against the document's schemas.
 *
 * What it models, as GCE does:
 * - mutations answer an Operation (zone or global) that goes PENDING → RUNNING → DONE over
 *   `operationPolls` GETs; `.../operations/{op}/wait` returns at DONE or after `waitMs`;
 *   late failures (quota) appear in the operation's `error.errors[]` with `httpErrorStatusCode`;
 * - instances go PROVISIONING → STAGING → RUNNING, stop → STOPPING → TERMINATED (the ephemeral
 *   external address is released), start → STAGING → RUNNING (the instance's old address back,
 *   or the pool's next with `newAddressOnStart`); delete removes the instance and its autoDelete
 *   disks when the operation completes; a failed insert operation leaves nothing behind;
 * - instance inserts are checked as GCE does: name, machine type in the zone, image, disk type and
 *   size, network/subnetwork (region of the zone), natIP (a reserved static address of the region),
 *   labels, tags, metadata keys, service accounts and scopes, accelerators (not on shared-core
 *   types; onHostMaintenance must be TERMINATE), preemptible scheduling, minCpuPlatform;
 * - a boot disk from `initializeParams` (`diskName`, default the instance's name) or an existing
 *   disk given as `source`; a disk in use cannot be deleted;
 * - metadata, tags and labels fingerprints: a stale or missing one → 412 conditionNotMet;
 *   a duplicate name → 409 alreadyExists; a missing resource → 404 notFound; Google's error body
 *   `{"error":{"code","message","errors":[{"domain","reason","message"}]}}`;
 * - `sourceImage` as a full URL (www.googleapis.com, compute.googleapis.com or this fake's own),
 *   a partial `projects/p/global/images/[family/]x` or `global/images/x`; a bare name → 400
 *   "The URL is malformed"; a DEPRECATED image works with a DEPRECATED_RESOURCE_USED warning on the
 *   operation; an absent one (or a family with no current image) → 400 "The referenced image
 *   resource cannot be found." at insert (images.get of it → 404); an OBSOLETE one → 400;
 * - lists with `maxResults` (≤ 500, more → 400), `pageToken`/`nextPageToken` and a simple `filter`;
 * - a bearer token on every request (401 UNAUTHENTICATED otherwise), optional 429 throttling,
 *   `requestId` idempotency (a retried mutation answers the first operation);
 * - what Google's front end refuses: a body field or query parameter the document does not name,
 *   a path value off the document's pattern (400).
 *
 * Routes modelled: projects.get; zones, regions get/list; machineTypes get/list; diskTypes,
 * acceleratorTypes, networks, subnetworks get; images get/getFromFamily/list; instances
 * get/list/insert/delete/start/stop/setMetadata/setTags/setLabels; disks get/list/insert/delete/
 * setLabels; firewalls get/list/insert/update/patch/delete; addresses (regional) get/list/insert/
 * delete; zone, region and global operations get/wait/list. Any other method → 501.
 *
 * For tests: instances(), disks(), firewalls(), addresses(), operationCount, addressOf(name),
 * `requests` (every request: method, path, query, method id, body), `recorded` (bodies),
 * failNext(methodId, ...) for one refused call, failOperation(type, code, ...) for a late failure,
 * addDisk/addStaticAddress for what exists before the test.
 *
 * Addresses handed out are only those configured (`addresses`, `internalAddresses`): the test's own
 * hosts. With none configured, external addresses come from 192.0.2.0/24 (TEST-NET-1).
 *
 * Events: 'created' {kind: 'instance' | 'disk' | 'firewall' | 'address', name}, emitted when an
 * insert is committed and before it is answered (held `holdInsertMs`): where a kill -9 lands.
 *
 * Wiring: `const g = new FakeGoogle({ projects: ['my-proj'], addresses: [hostIP] }); await g.start();`
 * then point the driver at `g.url` (endpoint override) with a token `g.opts.token` (or an
 * `acceptToken` that knows the OAuth fake's tokens); `await g.validate()` at the end must be [].
 */
export const DISCOVERY = '/work/shared/reference/api-specs/gcp/compute/v1/compute-api.json';

export interface StaticAddressDef {
  project?: string;
  region: string;
  name: string;
  address: string;
}

export interface FakeGoogleOptions {
  /** The access token accepted when `acceptToken` is not given. Default 'fake-google-access-token'. */
  token?: string;
  /** Decides which bearer tokens are valid (e.g. those the OAuth fake minted). */
  acceptToken?(token: string): boolean;
  /** Projects that exist; any other → 404 on projects.get and on anything under it. */
  projects?: string[];
  /** Zones that exist in every project; regions are their names minus the last two characters. */
  zones?: string[];
  /** Machine types offered, for every zone (string[]) or per zone. Default: all of MACHINE_TYPES everywhere. */
  machineTypes?: string[] | Record<string, string[]>;
  /** Public images in addition to the built-in catalogue (IMAGES). */
  images?: ImageDef[];
  /** External (natIP) addresses for instances, round-robin: the test's own hosts. */
  addresses?: string[];
  /** Internal (networkIP) addresses, round-robin. Default 10.<n>.0.x per region. */
  internalAddresses?: string[];
  /** Regional static addresses that exist before the test (status RESERVED). */
  staticAddresses?: StaticAddressDef[];
  /** Networks in each project (default ['default']); each has an auto-mode subnetwork of its name in every region. */
  networks?: string[];
  /** Operation GETs (or wait steps) a new operation stays PENDING/RUNNING before DONE. Default 2. */
  operationPolls?: number;
  /** Instance GETs after the insert operation is DONE that still see STAGING. Default 0. */
  runningPolls?: number;
  /** How long operations.wait holds before answering a still-running operation (GCE: up to 2 min). Default 2000. */
  waitMs?: number;
  /** The time one wait step takes (each step counts as one poll). Default 20. */
  waitStepMs?: number;
  /**
   * Instances a project may hold in one region (GCE's regional INSTANCES quota); one more → the
   * insert operation (not the insert call) fails with QUOTA_EXCEEDED. Default 24.
   */
  instanceQuota?: number;
  /** vCPUs a project may use in one region (CPUS quota), counted from the machine types. Default 24. */
  cpuQuota?: number;
  /** Every Nth request (counted after authentication) answers 429 rateLimitExceeded. */
  throttleEvery?: number;
  /** Time between committing an insert and answering it: where a kill -9 can land. */
  holdInsertMs?: number;
  /**
   * A started instance gets the next address of the pool, as GCE's ephemeral addresses change
   * (default false: it gets its old one back, so a test's host stays the instance's host).
   */
  newAddressOnStart?: boolean;
  /** Base of selfLinks: this fake's own URL (default) or Google's (https://www.googleapis.com/compute/v1/). */
  linkBase?: 'fake' | 'google';
  /**
   * An instance got `ssh-keys`/`sshKeys` metadata (at insert or setMetadata): the lines as in the
   * metadata ("user:ssh-rsa AAAA... comment"), and all metadata items. What the guest agent installs.
   */
  onCreate?(instance: string, sshKeys: string[], metadata: Record<string, string>): Promise<void> | void;
  /** An instance's power changed (RUNNING reached, or stopped/deleted). */
  onPower?(instance: string, on: boolean): Promise<void> | void;
}

type Obj = Record<string, unknown>;

export interface Recorded {
  /** Discovery method id, e.g. compute.instances.insert. */
  method: string;
  kind: 'request' | 'response';
  status: number;
  body: unknown;
}

export interface RequestLog {
  method: string;
  /** Path after /compute/v1/, without the query. */
  path: string;
  query: string;
  /** The discovery method id, or '' when no method matched. */
  id: string;
  body?: unknown;
}

interface InstanceState {
  project: string;
  zone: string;
  inst: Obj & {
    name: string;
    status: string;
    metadata: { kind: string; fingerprint: string; items?: { key: string; value: string }[] };
    tags: { items?: string[]; fingerprint: string };
    labels: Record<string, string>;
    labelFingerprint: string;
    disks: Obj[];
    networkInterfaces: (Obj & { accessConfigs?: Obj[] })[];
  };
  /** Instance GETs left that still see STAGING after the insert completed. */
  stagingPolls: number;
  /** Whether the test's host was told it is on (onPower). */
  powered: boolean;
  /** Ephemeral external addresses by interface/access config, kept for the next start. */
  lastNatIPs: Map<string, string>;
}

interface DiskState {
  project: string;
  zone: string;
  disk: Obj & { name: string; users?: string[]; labels: Record<string, string>; labelFingerprint: string };
}

interface AddressState {
  project: string;
  region: string;
  address: Obj & { name: string; address: string; status: string; users?: string[] };
}

interface OpError {
  code: string;
  message: string;
  httpStatus: number;
  httpMessage: string;
}

interface OperationState {
  scope: string;
  op: Obj & { name: string; status: string; progress: number };
  polls: number;
  need: number;
  onRunning?: () => void | Promise<void>;
  onDone?: () => void | Promise<void>;
  /** Undoes what the request committed when the operation fails late. */
  onFail?: () => void;
  fail?: OpError;
}

const NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
const LINK_PREFIXES = [
  'https://www.googleapis.com/compute/v1/',
  'https://compute.googleapis.com/compute/v1/',
];
const MAX_RESULTS = 500;

let discovery: Discovery | undefined;

export class FakeGoogle extends EventEmitter {
  readonly opts: Required<
    Omit<FakeGoogleOptions, 'acceptToken' | 'onCreate' | 'onPower' | 'throttleEvery' | 'machineTypes'>
  > &
    Pick<FakeGoogleOptions, 'acceptToken' | 'onCreate' | 'onPower' | 'throttleEvery' | 'machineTypes'>;
  readonly images: ImageDef[];
  readonly instanceMap = new Map<string, InstanceState>();
  readonly diskMap = new Map<string, DiskState>();
  readonly firewallMap = new Map<string, Obj & { name: string }>();
  readonly addressMap = new Map<string, AddressState>();
  readonly operationMap = new Map<string, OperationState>();
  readonly recorded: Recorded[] = [];
  readonly requests: RequestLog[] = [];
  /** 429s answered. */
  throttled = 0;
  url = '';
  private server: Server | undefined;
  private nextId = 4_300_000_000_000_000_000n;
  private nextExternal = 0;
  private nextInternal = 0;
  private counted = 0;
  private readonly requestIds = new Map<string, string>();
  private readonly routes: { method: string; re: RegExp; names: string[]; id: string }[] = [];
  private failures: { id: string; status: number; reason: string; message: string }[] = [];
  private opFailures: { operationType: string; error: OpError }[] = [];

  constructor(opts: FakeGoogleOptions = {}) {
    super();
    this.opts = {
      token: 'fake-google-access-token',
      projects: ['docker-machine-test'],
      zones: ZONES,
      images: [],
      addresses: [],
      internalAddresses: [],
      staticAddresses: [],
      networks: ['default'],
      operationPolls: 2,
      runningPolls: 0,
      waitMs: 2000,
      waitStepMs: 20,
      instanceQuota: 24,
      cpuQuota: 24,
      holdInsertMs: 0,
      linkBase: 'fake',
      newAddressOnStart: false,
      ...opts,
    };
    this.images = [...IMAGES, ...this.opts.images];
    discovery ??= Discovery.load(DISCOVERY);
    for (const m of discovery.methods.values()) {
      const names: string[] = [];
      const pattern = (m.flatPath ?? m.path)
        .split('/')
        .map((seg) => {
          const p = /^\{(\w+)\}$/.exec(seg);
          if (!p) return seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
          names.push(p[1]);
          return '([^/]+)';
        })
        .join('/');
      this.routes.push({ method: m.httpMethod, re: new RegExp(`^${pattern}$`), names, id: m.id });
    }
    // A literal segment wins over a parameter (images/family/{f} over a method's {resource}/x).
    this.routes.sort((a, b) => a.names.length - b.names.length);
    for (const project of this.opts.projects) {
      for (const a of this.opts.staticAddresses) {
        if ((a.project ?? project) !== project) continue;
        this.addressMap.set(`${project}/${a.region}/${a.name}`, {
          project,
          region: a.region,
          address: this.newAddress(project, a.region, a.name, a.address, 'EXTERNAL'),
        });
      }
    }
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => {
        text += c;
      });
      req.on('end', () => {
        this.handle(req, res, text).catch((err) => {
          if (err instanceof HttpError) return this.fail(res, '', err);
          this.fail(res, '', new HttpError(500, 'backendError', String(err)));
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

  /** The API's root as the driver sees it (`${url}/compute/v1/`). */
  get apiBase(): string {
    return `${this.url}/compute/v1/`;
  }

  /** Problems in every recorded body against the discovery document; [] when all match. */
  async validate(): Promise<string[]> {
    return discovery!.check(this.recorded);
  }

  /** The next request to this method id (e.g. compute.firewalls.insert) gets this error instead. */
  failNext(id: string, status: number, reason: string, message: string): void {
    this.failures.push({ id, status, reason, message });
  }

  /** The next operation of this type (insert, stop, setMetadata...) fails when it completes, changing nothing. */
  failOperation(operationType: string, code: string, message: string, httpStatus = 400): void {
    this.opFailures.push({
      operationType,
      error: { code, message, httpStatus, httpMessage: HTTP_MESSAGES[httpStatus] ?? 'BAD REQUEST' },
    });
  }

  instances(): Obj[] {
    return [...this.instanceMap.values()].map((s) => s.inst);
  }

  disks(): Obj[] {
    return [...this.diskMap.values()].map((s) => s.disk);
  }

  firewalls(): Obj[] {
    return [...this.firewallMap.values()];
  }

  addresses(): Obj[] {
    return [...this.addressMap.values()].map((s) => s.address);
  }

  get operationCount(): number {
    return this.operationMap.size;
  }

  /** An instance's addresses: external (natIP of the first access config, if any) and internal. */
  addressOf(name: string, zone?: string): { natIP?: string; networkIP: string } | undefined {
    const s = [...this.instanceMap.values()].find((x) => x.inst.name === name && (!zone || x.zone === zone));
    if (!s) return undefined;
    const nic = s.inst.networkInterfaces[0];
    const natIP = nic?.accessConfigs?.[0]?.natIP as string | undefined;
    return { natIP, networkIP: String(nic?.networkIP ?? '') };
  }

  /** A regional static external address that exists before the test (status RESERVED). */
  addStaticAddress(project: string, region: string, name: string, address: string): Obj {
    const a = this.newAddress(project, region, name, address, 'EXTERNAL');
    this.addressMap.set(`${project}/${region}/${name}`, { project, region, address: a });
    return a;
  }

  /** A disk that exists before the test (e.g. one kept from an earlier instance). */
  addDisk(project: string, zone: string, name: string, sizeGb = 10): Obj {
    const disk = this.newDisk(project, zone, name, sizeGb, 'pd-standard', undefined, {});
    disk.status = 'READY';
    this.diskMap.set(`${project}/${zone}/${name}`, { project, zone, disk });
    return disk;
  }

  // --- HTTP -------------------------------------------------------------------------------

  private link(path: string): string {
    return (this.opts.linkBase === 'google' ? LINK_PREFIXES[0] : this.apiBase) + path;
  }

  private send(res: ServerResponse, id: string, status: number, body?: unknown): void {
    if (id) this.recorded.push({ method: id, kind: 'response', status, body: body ?? null });
    if (body === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(body));
  }

  private fail(res: ServerResponse, id: string, e: HttpError, headers: Record<string, string> = {}): void {
    const body = {
      error: {
        code: e.status,
        message: e.message,
        errors: [{ message: e.message, domain: 'global', reason: e.reason, ...e.extra }],
      },
    };
    if (e.status === 401) {
      (body.error as Obj).status = 'UNAUTHENTICATED';
      body.error.errors[0].domain = 'global';
    }
    if (e.status === 429) {
      (body.error as Obj).status = 'RESOURCE_EXHAUSTED';
      body.error.errors[0].domain = 'usageLimits';
    }
    if (id) this.recorded.push({ method: id, kind: 'response', status: e.status, body });
    res.writeHead(e.status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const prefix = '/compute/v1/';
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : '';
    let route: { id: string; params: Record<string, string> } | undefined;
    for (const r of this.routes) {
      if (r.method !== method) continue;
      const m = r.re.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => {
        params[n] = decodeURIComponent(m[i + 1]);
      });
      route = { id: r.id, params };
      break;
    }
    let body: unknown;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        this.requests.push({ method, path, query: url.search, id: route?.id ?? '', body: text });
        return this.fail(res, '', new HttpError(400, 'parseError', 'Parse Error'));
      }
    }
    this.requests.push({ method, path, query: url.search, id: route?.id ?? '', body });

    const auth = req.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    if (!token) {
      return this.fail(
        res,
        route?.id ?? '',
        new HttpError(
          401,
          'required',
          'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
          { location: 'Authorization', locationType: 'header' },
        ),
        { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' },
      );
    }
    const ok = this.opts.acceptToken ? this.opts.acceptToken(token) : token === this.opts.token;
    if (!ok) {
      return this.fail(
        res,
        route?.id ?? '',
        new HttpError(
          401,
          'authError',
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
          { location: 'Authorization', locationType: 'header' },
        ),
        { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
      );
    }
    this.counted++;
    if (this.opts.throttleEvery && this.counted % this.opts.throttleEvery === 0) {
      this.throttled++;
      return this.fail(res, route?.id ?? '', new HttpError(429, 'rateLimitExceeded', 'Rate Limit Exceeded'));
    }
    if (!route) {
      return this.fail(
        res,
        '',
        new HttpError(404, 'notFound', `The requested URL ${url.pathname} was not found on this server.`),
      );
    }
    const id = route.id;
    const handler = this.handlers[id];
    if (!handler) {
      return this.fail(res, '', new HttpError(501, 'notImplemented', `${id} is not modelled by the fake`));
    }
    if (body !== undefined && discovery!.methods.get(id)?.request) {
      this.recorded.push({ method: id, kind: 'request', status: 0, body });
    }
    // What Google's front end refuses before Compute sees the request.
    for (const [name, value] of Object.entries(route.params)) {
      if (discovery!.parameterMatches(id, name, value) === false) {
        const pattern = discovery!.methods.get(id)!.parameters![name].pattern;
        return this.fail(
          res,
          id,
          new HttpError(
            400,
            'invalidParameter',
            `Invalid value '${value}'. Values must match the following regular expression: '${pattern}'`,
            { location: name, locationType: 'parameter' },
          ),
        );
      }
    }
    for (const name of new Set(url.searchParams.keys())) {
      if (discovery!.parameterMatches(id, name, '') === undefined) {
        return this.fail(
          res,
          id,
          new HttpError(
            400,
            'badRequest',
            `Invalid JSON payload received. Unknown name "${name}": Cannot bind query parameter. Field '${name}' could not be found in request message.`,
          ),
        );
      }
    }
    const unknown = body === undefined ? [] : discovery!.unknownNames(id, body);
    if (unknown.length) {
      const path = unknown[0];
      const dot = path.lastIndexOf('.');
      const at = dot < 0 ? 'resource' : `resource.${path.slice(0, dot)}`;
      return this.fail(
        res,
        id,
        new HttpError(
          400,
          'badRequest',
          `Invalid JSON payload received. Unknown name "${path.slice(dot + 1)}" at '${at}': Cannot find field.`,
        ),
      );
    }
    const f = this.failures.findIndex((x) => x.id === id);
    if (f >= 0) {
      const [x] = this.failures.splice(f, 1);
      return this.fail(res, id, new HttpError(x.status, x.reason, x.message));
    }
    try {
      const p = route.params;
      if (p.project !== undefined && !this.isImageProject(id, p.project)) this.project(p.project);
      if (p.zone !== undefined) this.zone(p.project, p.zone);
      if (p.region !== undefined) this.region(p.project, p.region);
      const q = url.searchParams;
      const requestId = q.get('requestId');
      if (
        requestId !== null &&
        !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(requestId)
      )
        throw new HttpError(
          400,
          'invalid',
          `Invalid value for field 'requestId': '${requestId}'. The request id must be a valid UUID.`,
        );
      if (requestId && method !== 'GET') {
        const known = this.requestIds.get(requestId);
        if (known && this.operationMap.has(known)) {
          return this.send(res, id, 200, this.operationMap.get(known)!.op);
        }
      }
      const answer = await handler.call(this, p, (body ?? {}) as Obj, q);
      if (requestId && method !== 'GET' && (answer as Obj)?.kind === 'compute#operation') {
        const op = answer as Obj;
        this.requestIds.set(requestId, `${this.scopeOf(op)}/${op.name}`);
      }
      return this.send(res, id, 200, answer);
    } catch (err) {
      if (err instanceof HttpError) return this.fail(res, id, err);
      throw err;
    }
  }

  private isImageProject(id: string, project: string): boolean {
    return id.startsWith('compute.images.') && this.images.some((i) => i.project === project);
  }

  // --- lookups ----------------------------------------------------------------------------

  private project(p: string): void {
    if (!this.opts.projects.includes(p)) throw notFound(`projects/${p}`);
  }

  private zone(project: string, zone: string): void {
    if (!this.opts.zones.includes(zone)) throw notFound(`projects/${project}/zones/${zone}`);
  }

  private regions(): string[] {
    return [...new Set(this.opts.zones.map(regionOf))];
  }

  private region(project: string, region: string): void {
    if (!this.regions().includes(region)) throw notFound(`projects/${project}/regions/${region}`);
  }

  private machineTypesIn(zone: string): string[] {
    const mt = this.opts.machineTypes;
    if (!mt) return Object.keys(MACHINE_TYPES);
    if (Array.isArray(mt)) return mt;
    return mt[zone] ?? [];
  }

  private instance(project: string, zone: string, name: string): InstanceState {
    const s = this.instanceMap.get(`${project}/${zone}/${name}`);
    if (!s) throw notFound(`projects/${project}/zones/${zone}/instances/${name}`);
    return s;
  }

  private disk(project: string, zone: string, name: string): DiskState {
    const s = this.diskMap.get(`${project}/${zone}/${name}`);
    if (!s) throw notFound(`projects/${project}/zones/${zone}/disks/${name}`);
    return s;
  }

  private newId(): string {
    return String(this.nextId++);
  }

  /**
   * An insert's answer once the resource is there: watchers hear of it first, then the answer
   * waits holdInsertMs, where a kill -9 lands after the resource was made and before its answer.
   */
  private async made(kind: string, name: string, op: OperationState): Promise<Obj> {
    this.emit('created', { kind, name });
    await this.hold();
    return this.answer(op);
  }

  private hold(): Promise<void> {
    return this.opts.holdInsertMs > 0
      ? new Promise((r) => setTimeout(r, this.opts.holdInsertMs))
      : Promise.resolve();
  }

  private external(): string {
    const pool = this.opts.addresses;
    const n = this.nextExternal++;
    return pool.length ? pool[n % pool.length] : `192.0.2.${(n % 250) + 2}`;
  }

  private internal(region: string): string {
    const pool = this.opts.internalAddresses;
    const n = this.nextInternal++;
    if (pool.length) return pool[n % pool.length];
    return `10.${128 + this.regions().indexOf(region)}.0.${(n % 250) + 2}`;
  }

  // --- operations -------------------------------------------------------------------------

  private scopeOf(op: Obj): string {
    const link = String(op.selfLink);
    return link.slice(link.indexOf('projects/')).replace(/\/operations\/[^/]+$/, '');
  }

  private newOperation(
    project: string,
    where: { zone?: string; region?: string },
    operationType: string,
    /** The resource it acts on: its selfLink and id are the operation's targetLink and targetId. */
    target: Obj,
    hooks: Pick<OperationState, 'onRunning' | 'onDone' | 'onFail'> & {
      fail?: OpError;
      warnings?: Obj[];
    } = {},
  ): OperationState {
    const name = `operation-${Date.now()}-${randomBytes(6)
      .toString('hex')
      .replace(/^(.{6})(.{6})$/, '$1-$2')}-${randomBytes(4).toString('hex')}`;
    const scope = where.zone
      ? `projects/${project}/zones/${where.zone}`
      : where.region
        ? `projects/${project}/regions/${where.region}`
        : `projects/${project}/global`;
    const now = new Date().toISOString();
    const op: OperationState['op'] = {
      kind: 'compute#operation',
      id: this.newId(),
      name,
      operationType,
      targetLink: String(target.selfLink),
      targetId: String(target.id),
      status: 'PENDING',
      user: 'docker-machine@fake.iam.gserviceaccount.com',
      progress: 0,
      insertTime: now,
      selfLink: this.link(`${scope}/operations/${name}`),
    };
    if (where.zone) op.zone = this.link(`projects/${project}/zones/${where.zone}`);
    if (where.region) op.region = this.link(`projects/${project}/regions/${where.region}`);
    if (hooks.warnings?.length) op.warnings = hooks.warnings;
    const queued = this.opFailures.findIndex((f) => f.operationType === operationType);
    let fail = hooks.fail;
    if (queued >= 0) fail = this.opFailures.splice(queued, 1)[0].error;
    const s: OperationState = {
      scope,
      op,
      polls: 0,
      need: this.opts.operationPolls,
      onRunning: hooks.onRunning,
      onDone: hooks.onDone,
      onFail: hooks.onFail,
      fail,
    };
    this.operationMap.set(`${scope}/${name}`, s);
    return s;
  }

  /** One poll: PENDING → RUNNING on the first, DONE after `need`. */
  private async advance(s: OperationState): Promise<void> {
    if (s.op.status === 'DONE') return;
    s.polls++;
    if (s.op.status === 'PENDING' && (s.polls >= 1 || s.need === 0)) {
      s.op.status = 'RUNNING';
      s.op.startTime = new Date().toISOString();
      if (!s.fail) await s.onRunning?.();
    }
    if (s.polls >= s.need) await this.finish(s);
    else s.op.progress = Math.min(99, Math.round((100 * s.polls) / (s.need + 1)));
  }

  private async finish(s: OperationState): Promise<void> {
    if (s.op.status === 'DONE') return;
    s.op.startTime ??= new Date().toISOString();
    if (s.fail) {
      s.op.error = { errors: [{ code: s.fail.code, message: s.fail.message }] };
      s.op.httpErrorStatusCode = s.fail.httpStatus;
      s.op.httpErrorMessage = s.fail.httpMessage;
      s.onFail?.();
    } else {
      await s.onDone?.();
    }
    s.op.status = 'DONE';
    s.op.progress = 100;
    s.op.endTime = new Date().toISOString();
  }

  /** An operation answered at once, finished already when `operationPolls` is 0. */
  private async answer(s: OperationState): Promise<Obj> {
    if (s.need <= 0) await this.finish(s);
    return s.op;
  }

  private operation(scope: string, name: string): OperationState {
    const s = this.operationMap.get(`${scope}/${name}`);
    if (!s) throw notFound(`${scope}/operations/${name}`);
    return s;
  }

  private async waitFor(s: OperationState): Promise<Obj> {
    const until = Date.now() + this.opts.waitMs;
    while (s.op.status !== 'DONE' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, this.opts.waitStepMs));
      await this.advance(s);
    }
    return s.op;
  }

  // --- resources --------------------------------------------------------------------------

  private newDisk(
    project: string,
    zone: string,
    name: string,
    sizeGb: number,
    type: string,
    image: ImageDef | undefined,
    labels: Record<string, string>,
  ): DiskState['disk'] {
    const disk: DiskState['disk'] = {
      kind: 'compute#disk',
      id: this.newId(),
      creationTimestamp: new Date().toISOString(),
      name,
      sizeGb: String(sizeGb),
      zone: this.link(`projects/${project}/zones/${zone}`),
      status: 'CREATING',
      selfLink: this.link(`projects/${project}/zones/${zone}/disks/${name}`),
      type: this.link(`projects/${project}/zones/${zone}/diskTypes/${type}`),
      labels,
      labelFingerprint: fingerprint(),
      physicalBlockSizeBytes: '4096',
    };
    if (image) {
      disk.sourceImage = this.link(`projects/${image.project}/global/images/${image.name}`);
      disk.sourceImageId = this.imageId(image);
      disk.architecture = image.architecture ?? 'X86_64';
    }
    return disk;
  }

  private newAddress(
    project: string,
    region: string,
    name: string,
    address: string,
    type: string,
  ): AddressState['address'] {
    return {
      kind: 'compute#address',
      id: this.newId(),
      creationTimestamp: new Date().toISOString(),
      name,
      address,
      addressType: type,
      networkTier: 'PREMIUM',
      status: 'RESERVED',
      region: this.link(`projects/${project}/regions/${region}`),
      selfLink: this.link(`projects/${project}/regions/${region}/addresses/${name}`),
      labelFingerprint: fingerprint(),
    };
  }

  private imageId(i: ImageDef): string {
    let h = 5381n;
    for (const c of `${i.project}/${i.name}`) h = (h * 33n + BigInt(c.charCodeAt(0))) % 10n ** 18n;
    return String(1_000_000_000_000_000_000n + h);
  }

  private imageBody(i: ImageDef): Obj {
    const o: Obj = {
      kind: 'compute#image',
      id: this.imageId(i),
      creationTimestamp: i.created ?? `${imageDate(i.name)}T00:00:00.000-07:00`,
      name: i.name,
      description: `Canonical-built image ${i.name}`,
      sourceType: 'RAW',
      status: 'READY',
      archiveSizeBytes: '1234567890',
      diskSizeGb: String(i.diskSizeGb ?? 10),
      licenses: [this.link(`projects/${i.project}/global/licenses/${i.project.replace(/-cloud$/, '')}`)],
      selfLink: this.link(`projects/${i.project}/global/images/${i.name}`),
      labelFingerprint: '42WmSpB8rSM=',
      storageLocations: ['eu', 'asia', 'us'],
      architecture: i.architecture ?? 'X86_64',
    };
    if (i.family) o.family = i.family;
    if (i.state) {
      const dep: Obj = { state: i.state };
      if (i.replacement) dep.replacement = this.link(`projects/${i.project}/global/images/${i.replacement}`);
      o.deprecated = dep;
    }
    return o;
  }

  /**
   * Resolves a sourceImage as GCE does: a full URL or a partial one; a bare name is malformed.
   * `field` names it in errors, as GCE's messages do.
   */
  private resolveImage(project: string, ref: string, field: string): ImageDef {
    let rest = ref;
    for (const p of [...LINK_PREFIXES, this.apiBase]) if (rest.startsWith(p)) rest = rest.slice(p.length);
    let m = /^projects\/([^/]+)\/global\/images\/(family\/)?([^/]+)$/.exec(rest);
    if (!m) {
      const g = /^global\/images\/(family\/)?([^/]+)$/.exec(rest);
      if (g) m = [rest, project, g[1], g[2]] as unknown as RegExpExecArray;
    }
    if (!m) throw invalid(field, ref, 'The URL is malformed.');
    const [, imgProject, family, name] = m;
    // At insert GCE names the field (images.get of the same image is a 404 notFound).
    const img = family
      ? this.fromFamily(imgProject, name)
      : this.images.find((i) => i.project === imgProject && i.name === name && i.state !== 'DELETED');
    if (!img) throw invalid(field, ref, 'The referenced image resource cannot be found.');
    if (img.state === 'OBSOLETE') throw invalid(field, ref, 'The referenced image resource is obsolete.');
    return img;
  }

  private fromFamily(project: string, family: string): ImageDef | undefined {
    return this.images
      .filter((i) => i.project === project && i.family === family && !i.state)
      .sort((a, b) => imageDate(b.name).localeCompare(imageDate(a.name)))[0];
  }

  /** Strips any URL prefix and an optional `projects/p/` from a reference: the partial path. */
  private partial(ref: string, project: string): string {
    let rest = ref;
    for (const p of [...LINK_PREFIXES, this.apiBase]) if (rest.startsWith(p)) rest = rest.slice(p.length);
    const own = `projects/${project}/`;
    if (rest.startsWith(own)) rest = rest.slice(own.length);
    return rest;
  }

  // --- lists ------------------------------------------------------------------------------

  private list(kind: string, selfPath: string, items: Obj[], q: URLSearchParams): Obj {
    const maxRaw = q.get('maxResults');
    let max = MAX_RESULTS;
    if (maxRaw !== null) {
      max = Number(maxRaw);
      if (!Number.isInteger(max) || max < 0 || max > MAX_RESULTS)
        throw new HttpError(
          400,
          'invalid',
          `Invalid value for field 'maxResults': '${maxRaw}'. Must be less than or equal to 500`,
        );
      if (max === 0) max = MAX_RESULTS;
    }
    const filtered = applyFilter(items, q.get('filter'));
    let offset = 0;
    const token = q.get('pageToken');
    if (token) {
      const m = /^o:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
      if (!m) throw new HttpError(400, 'invalid', `Invalid value for field 'pageToken': '${token}'.`);
      offset = Number(m[1]);
    }
    const page = filtered.slice(offset, offset + max);
    const out: Obj = { kind, id: selfPath, items: page, selfLink: this.link(selfPath) };
    if (offset + max < filtered.length)
      out.nextPageToken = Buffer.from(`o:${offset + max}`).toString('base64url');
    if (!page.length) {
      delete out.items;
      out.warning = {
        code: 'NO_RESULTS_ON_PAGE',
        message: 'There are no results for scope on this page.',
        data: [{ key: 'scope', value: selfPath }],
      };
    }
    return out;
  }

  // --- handlers, by discovery method id ---------------------------------------------------

  private readonly handlers: Record<
    string,
    (this: FakeGoogle, p: Record<string, string>, body: Obj, q: URLSearchParams) => Promise<unknown> | unknown
  > = {
    'compute.projects.get'(p) {
      return {
        kind: 'compute#project',
        id: String(100000000000n + BigInt(this.opts.projects.indexOf(p.project))),
        creationTimestamp: '2020-01-01T00:00:00.000-08:00',
        name: p.project,
        commonInstanceMetadata: { kind: 'compute#metadata', fingerprint: 'J7mpV9ybJDY=' },
        quotas: [
          { metric: 'FIREWALLS', limit: 200, usage: this.firewalls().length },
          { metric: 'NETWORKS', limit: 15, usage: this.opts.networks.length },
          { metric: 'CPUS_ALL_REGIONS', limit: 32, usage: 0 },
        ],
        selfLink: this.link(`projects/${p.project}`),
        defaultServiceAccount: this.defaultServiceAccount(p.project),
        xpnProjectStatus: 'UNSPECIFIED_XPN_PROJECT_STATUS',
        defaultNetworkTier: 'PREMIUM',
      };
    },
    'compute.zones.get'(p) {
      return this.zoneBody(p.project, p.zone);
    },
    'compute.zones.list'(p, _b, q) {
      return this.list(
        'compute#zoneList',
        `projects/${p.project}/zones`,
        this.opts.zones.map((z) => this.zoneBody(p.project, z)),
        q,
      );
    },
    'compute.regions.get'(p) {
      return this.regionBody(p.project, p.region);
    },
    'compute.regions.list'(p, _b, q) {
      return this.list(
        'compute#regionList',
        `projects/${p.project}/regions`,
        this.regions().map((r) => this.regionBody(p.project, r)),
        q,
      );
    },
    'compute.machineTypes.get'(p) {
      if (!this.machineTypesIn(p.zone).includes(p.machineType))
        throw notFound(`projects/${p.project}/zones/${p.zone}/machineTypes/${p.machineType}`);
      return this.machineTypeBody(p.project, p.zone, p.machineType);
    },
    'compute.machineTypes.list'(p, _b, q) {
      return this.list(
        'compute#machineTypeList',
        `projects/${p.project}/zones/${p.zone}/machineTypes`,
        this.machineTypesIn(p.zone).map((t) => this.machineTypeBody(p.project, p.zone, t)),
        q,
      );
    },
    'compute.diskTypes.get'(p) {
      if (!DISK_TYPES.includes(p.diskType))
        throw notFound(`projects/${p.project}/zones/${p.zone}/diskTypes/${p.diskType}`);
      return {
        kind: 'compute#diskType',
        id: String(30000 + DISK_TYPES.indexOf(p.diskType)),
        creationTimestamp: '2015-01-01T00:00:00.000-08:00',
        name: p.diskType,
        description: p.diskType,
        validDiskSize: '10GB-65536GB',
        zone: this.link(`projects/${p.project}/zones/${p.zone}`),
        selfLink: this.link(`projects/${p.project}/zones/${p.zone}/diskTypes/${p.diskType}`),
        defaultDiskSizeGb: '500',
      };
    },
    'compute.acceleratorTypes.get'(p) {
      if (!ACCELERATORS.includes(p.acceleratorType))
        throw notFound(`projects/${p.project}/zones/${p.zone}/acceleratorTypes/${p.acceleratorType}`);
      return {
        kind: 'compute#acceleratorType',
        id: String(10000 + ACCELERATORS.indexOf(p.acceleratorType)),
        creationTimestamp: '2017-01-01T00:00:00.000-08:00',
        name: p.acceleratorType,
        description: p.acceleratorType,
        zone: this.link(`projects/${p.project}/zones/${p.zone}`),
        selfLink: this.link(`projects/${p.project}/zones/${p.zone}/acceleratorTypes/${p.acceleratorType}`),
        maximumCardsPerInstance: 4,
      };
    },
    'compute.images.get'(p) {
      const img = this.images.find(
        (i) => i.project === p.project && i.name === p.image && i.state !== 'DELETED',
      );
      if (!img) throw notFound(`projects/${p.project}/global/images/${p.image}`);
      return this.imageBody(img);
    },
    'compute.images.getFromFamily'(p) {
      const img = this.fromFamily(p.project, p.family);
      if (!img) throw notFound(`projects/${p.project}/global/images/family/${p.family}`);
      return this.imageBody(img);
    },
    'compute.images.list'(p, _b, q) {
      return this.list(
        'compute#imageList',
        `projects/${p.project}/global/images`,
        this.images
          .filter((i) => i.project === p.project && i.state !== 'DELETED')
          .map((i) => this.imageBody(i)),
        q,
      );
    },
    'compute.networks.get'(p) {
      if (!this.opts.networks.includes(p.network))
        throw notFound(`projects/${p.project}/global/networks/${p.network}`);
      return this.networkBody(p.project, p.network);
    },
    'compute.networks.list'(p, _b, q) {
      return this.list(
        'compute#networkList',
        `projects/${p.project}/global/networks`,
        this.opts.networks.map((n) => this.networkBody(p.project, n)),
        q,
      );
    },
    'compute.subnetworks.get'(p) {
      if (!this.opts.networks.includes(p.subnetwork))
        throw notFound(`projects/${p.project}/regions/${p.region}/subnetworks/${p.subnetwork}`);
      return this.subnetworkBody(p.project, p.region, p.subnetwork);
    },

    // Instances
    'compute.instances.get'(p) {
      const s = this.instance(p.project, p.zone, p.instance);
      if (s.inst.status === 'STAGING' && s.stagingPolls > 0) {
        s.stagingPolls--;
        if (s.stagingPolls === 0) return this.becomeRunning(s).then(() => s.inst);
      }
      return s.inst;
    },
    'compute.instances.list'(p, _b, q) {
      const items = [...this.instanceMap.values()]
        .filter((s) => s.project === p.project && s.zone === p.zone)
        .map((s) => s.inst);
      return this.list('compute#instanceList', `projects/${p.project}/zones/${p.zone}/instances`, items, q);
    },
    'compute.instances.insert'(p, body) {
      return this.insertInstance(p.project, p.zone, body);
    },
    'compute.instances.delete'(p) {
      const s = this.instance(p.project, p.zone, p.instance);

      const op = this.newOperation(p.project, { zone: p.zone }, 'delete', s.inst, {
        onRunning: () => {
          s.inst.status = 'STOPPING';
        },
        onDone: async () => {
          if (!this.alive(s)) return;
          this.instanceMap.delete(`${p.project}/${p.zone}/${p.instance}`);
          for (const d of s.inst.disks) {
            const dname = String(d.source).split('/').pop()!;
            const ds = this.diskMap.get(`${p.project}/${p.zone}/${dname}`);
            if (!ds) continue;
            if (d.autoDelete) this.diskMap.delete(`${p.project}/${p.zone}/${dname}`);
            else {
              ds.disk.users = (ds.disk.users ?? []).filter((u) => u !== s.inst.selfLink);
              if (!ds.disk.users.length) delete ds.disk.users;
              ds.disk.lastDetachTimestamp = new Date().toISOString();
            }
          }
          this.releaseAddresses(s);
          await this.powerOff(s);
        },
      });
      return this.answer(op);
    },
    'compute.instances.stop'(p) {
      const s = this.instance(p.project, p.zone, p.instance);
      const op = this.newOperation(p.project, { zone: p.zone }, 'stop', s.inst, {
        onRunning: () => {
          if (s.inst.status !== 'TERMINATED') s.inst.status = 'STOPPING';
        },
        onDone: async () => {
          if (!this.alive(s) || s.inst.status === 'TERMINATED') return;
          s.inst.status = 'TERMINATED';
          s.inst.lastStopTimestamp = new Date().toISOString();
          s.inst.networkInterfaces.forEach((nic, i) => {
            (nic.accessConfigs ?? []).forEach((ac, j) => {
              const ip = String(ac.natIP ?? '');
              if (!ip || this.isStatic(s.project, s.zone, ip)) return;
              s.lastNatIPs.set(`${i}/${j}`, ip);
              delete ac.natIP;
            });
          });
          await this.powerOff(s);
        },
      });
      return this.answer(op);
    },
    'compute.instances.start'(p) {
      const s = this.instance(p.project, p.zone, p.instance);
      if (s.inst.status === 'STOPPING' || s.inst.status === 'PROVISIONING')
        throw new HttpError(
          400,
          'resourceNotReady',
          `The resource 'projects/${p.project}/zones/${p.zone}/instances/${p.instance}' is not ready`,
        );
      const op = this.newOperation(p.project, { zone: p.zone }, 'start', s.inst, {
        onRunning: () => {
          if (s.inst.status === 'TERMINATED' || s.inst.status === 'STOPPED') s.inst.status = 'STAGING';
        },
        onDone: async () => {
          if (!this.alive(s) || s.inst.status === 'RUNNING') return;
          s.inst.networkInterfaces.forEach((nic, i) => {
            (nic.accessConfigs ?? []).forEach((ac, j) => {
              const kept = s.lastNatIPs.get(`${i}/${j}`);
              ac.natIP ??= this.opts.newAddressOnStart || !kept ? this.external() : kept;
            });
          });
          await this.becomeRunning(s);
        },
      });
      return this.answer(op);
    },
    'compute.instances.setMetadata'(p, body) {
      const s = this.instance(p.project, p.zone, p.instance);
      return this.setFingerprinted({
        project: p.project,
        where: { zone: p.zone },
        type: 'setMetadata',
        target: s.inst,
        supplied: body.fingerprint,
        current: s.inst.metadata.fingerprint,
        stale: 'Supplied fingerprint does not match current metadata fingerprint.',
        check: () => this.checkMetadata(body, 'metadata'),
        apply: async (items) => {
          s.inst.metadata = { kind: 'compute#metadata', fingerprint: fingerprint() };
          if (items.length) s.inst.metadata.items = items;
          await this.keysInstalled(p.instance, items);
        },
      });
    },
    'compute.instances.setTags'(p, body) {
      const s = this.instance(p.project, p.zone, p.instance);
      return this.setFingerprinted({
        project: p.project,
        where: { zone: p.zone },
        type: 'setTags',
        target: s.inst,
        supplied: body.fingerprint,
        current: s.inst.tags.fingerprint,
        stale: 'Supplied fingerprint does not match current tags fingerprint.',
        check: () => this.checkTags(body, 'tags'),
        apply: (items) => {
          s.inst.tags = { fingerprint: fingerprint() };
          if (items.length) s.inst.tags.items = items;
        },
      });
    },
    'compute.instances.setLabels'(p, body) {
      const s = this.instance(p.project, p.zone, p.instance);
      return this.setLabels(s.inst, body, p.project, { zone: p.zone });
    },

    // Disks
    'compute.disks.get'(p) {
      return this.disk(p.project, p.zone, p.disk).disk;
    },
    'compute.disks.list'(p, _b, q) {
      const items = [...this.diskMap.values()]
        .filter((s) => s.project === p.project && s.zone === p.zone)
        .map((s) => s.disk);
      return this.list('compute#diskList', `projects/${p.project}/zones/${p.zone}/disks`, items, q);
    },
    async 'compute.disks.insert'(p, body) {
      const name = String(body.name ?? '');
      if (!NAME.test(name)) throw badName('resource.name', name);
      const key = `${p.project}/${p.zone}/${name}`;
      if (this.diskMap.has(key)) throw exists(`projects/${p.project}/zones/${p.zone}/disks/${name}`);
      const image =
        body.sourceImage !== undefined
          ? this.resolveImage(p.project, String(body.sourceImage), 'resource.sourceImage')
          : undefined;
      const type = this.diskType(p.project, p.zone, body.type, 'resource.type');
      // GCE's default for a blank disk is 500 GB; one from an image is the image's size.
      const size = body.sizeGb !== undefined ? Number(body.sizeGb) : image ? (image.diskSizeGb ?? 10) : 500;
      const labels = this.checkLabels(body.labels, 'resource.labels');
      const disk = this.newDisk(p.project, p.zone, name, size, type, image, labels);
      this.diskMap.set(key, { project: p.project, zone: p.zone, disk });
      const op = this.newOperation(p.project, { zone: p.zone }, 'insert', disk, {
        onDone: () => {
          disk.status = 'READY';
        },
      });
      return this.made('disk', name, op);
    },
    'compute.disks.delete'(p) {
      const s = this.disk(p.project, p.zone, p.disk);
      if (s.disk.users?.length)
        throw inUse(
          'disk',
          `projects/${p.project}/zones/${p.zone}/disks/${p.disk}`,
          this.partial(s.disk.users[0], ''),
        );
      const op = this.newOperation(p.project, { zone: p.zone }, 'delete', s.disk, {
        onRunning: () => {
          s.disk.status = 'DELETING';
        },
        onDone: () => {
          this.diskMap.delete(`${p.project}/${p.zone}/${p.disk}`);
        },
      });
      return this.answer(op);
    },
    'compute.disks.setLabels'(p, body) {
      const s = this.disk(p.project, p.zone, p.resource);
      return this.setLabels(s.disk, body, p.project, { zone: p.zone });
    },

    // Firewalls
    'compute.firewalls.get'(p) {
      const f = this.firewallMap.get(`${p.project}/${p.firewall}`);
      if (!f) throw notFound(`projects/${p.project}/global/firewalls/${p.firewall}`);
      return f;
    },
    'compute.firewalls.list'(p, _b, q) {
      const items = [...this.firewallMap.entries()]
        .filter(([k]) => k.startsWith(`${p.project}/`))
        .map(([, f]) => f);
      return this.list('compute#firewallList', `projects/${p.project}/global/firewalls`, items, q);
    },
    async 'compute.firewalls.insert'(p, body) {
      const name = String(body.name ?? '');
      if (!NAME.test(name)) throw badName('resource.name', name);
      const key = `${p.project}/${name}`;
      if (this.firewallMap.has(key)) throw exists(`projects/${p.project}/global/firewalls/${name}`);
      const fw = this.firewallBody(p.project, body, undefined);
      this.firewallMap.set(key, fw);
      const op = this.newOperation(p.project, {}, 'insert', fw);
      return this.made('firewall', name, op);
    },
    'compute.firewalls.update'(p, body) {
      const key = `${p.project}/${p.firewall}`;
      const old = this.firewallMap.get(key);
      if (!old) throw notFound(`projects/${p.project}/global/firewalls/${p.firewall}`);
      if (body.name !== undefined && body.name !== p.firewall)
        throw invalid('resource.name', String(body.name), 'Resource name cannot be changed.');
      const fw = this.firewallBody(p.project, { ...body, name: p.firewall }, old);
      const op = this.newOperation(p.project, {}, 'update', old, {
        onDone: () => {
          this.firewallMap.set(key, fw);
        },
      });
      return this.answer(op);
    },
    'compute.firewalls.patch'(p, body) {
      const key = `${p.project}/${p.firewall}`;
      const old = this.firewallMap.get(key);
      if (!old) throw notFound(`projects/${p.project}/global/firewalls/${p.firewall}`);
      const merged: Obj = { ...old, ...body, name: p.firewall };
      for (const k of ['kind', 'id', 'creationTimestamp', 'selfLink']) delete merged[k];
      const fw = this.firewallBody(p.project, merged, old);
      const op = this.newOperation(p.project, {}, 'patch', old, {
        onDone: () => {
          this.firewallMap.set(key, fw);
        },
      });
      return this.answer(op);
    },
    'compute.firewalls.delete'(p) {
      const key = `${p.project}/${p.firewall}`;
      const fw = this.firewallMap.get(key);
      if (!fw) throw notFound(`projects/${p.project}/global/firewalls/${p.firewall}`);
      const op = this.newOperation(p.project, {}, 'delete', fw, {
        onDone: () => {
          this.firewallMap.delete(key);
        },
      });
      return this.answer(op);
    },

    // Addresses
    'compute.addresses.get'(p) {
      const a = this.addressMap.get(`${p.project}/${p.region}/${p.address}`);
      if (!a) throw notFound(`projects/${p.project}/regions/${p.region}/addresses/${p.address}`);
      return a.address;
    },
    'compute.addresses.list'(p, _b, q) {
      const items = [...this.addressMap.values()]
        .filter((a) => a.project === p.project && a.region === p.region)
        .map((a) => a.address);
      return this.list(
        'compute#addressList',
        `projects/${p.project}/regions/${p.region}/addresses`,
        items,
        q,
      );
    },
    async 'compute.addresses.insert'(p, body) {
      const name = String(body.name ?? '');
      if (!NAME.test(name)) throw badName('resource.name', name);
      const key = `${p.project}/${p.region}/${name}`;
      if (this.addressMap.has(key))
        throw exists(`projects/${p.project}/regions/${p.region}/addresses/${name}`);
      const type = String(body.addressType ?? 'EXTERNAL');
      const ip =
        body.address !== undefined
          ? String(body.address)
          : type === 'INTERNAL'
            ? this.internal(p.region)
            : this.external();
      const a = this.newAddress(p.project, p.region, name, ip, type);
      a.status = 'RESERVING';
      if (body.description !== undefined) a.description = body.description;
      this.addressMap.set(key, { project: p.project, region: p.region, address: a });
      const op = this.newOperation(p.project, { region: p.region }, 'insert', a, {
        onDone: () => {
          a.status = 'RESERVED';
        },
      });
      return this.made('address', name, op);
    },
    'compute.addresses.delete'(p) {
      const key = `${p.project}/${p.region}/${p.address}`;
      const a = this.addressMap.get(key);
      if (!a) throw notFound(`projects/${p.project}/regions/${p.region}/addresses/${p.address}`);
      if (a.address.status === 'IN_USE')
        throw inUse(
          'address',
          `projects/${p.project}/regions/${p.region}/addresses/${p.address}`,
          this.partial(String(a.address.users?.[0]), ''),
        );
      const op = this.newOperation(p.project, { region: p.region }, 'delete', a.address, {
        onDone: () => {
          this.addressMap.delete(key);
        },
      });
      return this.answer(op);
    },

    // Operations
    async 'compute.zoneOperations.get'(p) {
      const s = this.operation(`projects/${p.project}/zones/${p.zone}`, p.operation);
      await this.advance(s);
      return s.op;
    },
    'compute.zoneOperations.wait'(p) {
      return this.waitFor(this.operation(`projects/${p.project}/zones/${p.zone}`, p.operation));
    },
    'compute.zoneOperations.list'(p, _b, q) {
      return this.opList(`projects/${p.project}/zones/${p.zone}`, q);
    },
    async 'compute.globalOperations.get'(p) {
      const s = this.operation(`projects/${p.project}/global`, p.operation);
      await this.advance(s);
      return s.op;
    },
    'compute.globalOperations.wait'(p) {
      return this.waitFor(this.operation(`projects/${p.project}/global`, p.operation));
    },
    'compute.globalOperations.list'(p, _b, q) {
      return this.opList(`projects/${p.project}/global`, q);
    },
    async 'compute.regionOperations.get'(p) {
      const s = this.operation(`projects/${p.project}/regions/${p.region}`, p.operation);
      await this.advance(s);
      return s.op;
    },
    'compute.regionOperations.wait'(p) {
      return this.waitFor(this.operation(`projects/${p.project}/regions/${p.region}`, p.operation));
    },
    'compute.regionOperations.list'(p, _b, q) {
      return this.opList(`projects/${p.project}/regions/${p.region}`, q);
    },
  };

  private opList(scope: string, q: URLSearchParams): Obj {
    const items = [...this.operationMap.values()].filter((s) => s.scope === scope).map((s) => s.op);
    return this.list('compute#operationList', scope + '/operations', items, q);
  }

  private defaultServiceAccount(project: string): string {
    return `${100000000000 + this.opts.projects.indexOf(project)}-compute@developer.gserviceaccount.com`;
  }

  private zoneBody(project: string, zone: string): Obj {
    return {
      kind: 'compute#zone',
      id: String(2000 + this.opts.zones.indexOf(zone)),
      creationTimestamp: '1969-12-31T16:00:00.000-08:00',
      name: zone,
      description: zone,
      status: 'UP',
      region: this.link(`projects/${project}/regions/${regionOf(zone)}`),
      selfLink: this.link(`projects/${project}/zones/${zone}`),
      availableCpuPlatforms: CPU_PLATFORMS,
      supportsPzs: false,
    };
  }

  private regionBody(project: string, region: string): Obj {
    const instances = [...this.instanceMap.values()].filter(
      (s) => s.project === project && regionOf(s.zone) === region,
    );
    return {
      kind: 'compute#region',
      id: String(1000 + this.regions().indexOf(region)),
      creationTimestamp: '1969-12-31T16:00:00.000-08:00',
      name: region,
      description: region,
      status: 'UP',
      zones: this.opts.zones
        .filter((z) => regionOf(z) === region)
        .map((z) => this.link(`projects/${project}/zones/${z}`)),
      quotas: [
        { metric: 'INSTANCES', limit: this.opts.instanceQuota, usage: instances.length },
        { metric: 'CPUS', limit: this.opts.cpuQuota, usage: this.cpusIn(project, region) },
        { metric: 'IN_USE_ADDRESSES', limit: 8, usage: instances.length },
      ],
      selfLink: this.link(`projects/${project}/regions/${region}`),
      supportsPzs: false,
    };
  }

  private cpusIn(project: string, region: string): number {
    return [...this.instanceMap.values()]
      .filter((s) => s.project === project && regionOf(s.zone) === region)
      .reduce((n, s) => n + (MACHINE_TYPES[String(s.inst.machineType).split('/').pop()!]?.cpus ?? 2), 0);
  }

  private machineTypeBody(project: string, zone: string, name: string): Obj {
    const t = MACHINE_TYPES[name] ?? { cpus: 2, memoryMb: 4096 };
    return {
      kind: 'compute#machineType',
      id: String(3000 + Object.keys(MACHINE_TYPES).indexOf(name)),
      creationTimestamp: '1969-12-31T16:00:00.000-08:00',
      name,
      description: `${t.cpus} vCPU, ${t.memoryMb} MB RAM`,
      guestCpus: t.cpus,
      memoryMb: t.memoryMb,
      imageSpaceGb: 0,
      maximumPersistentDisks: t.shared ? 16 : 128,
      maximumPersistentDisksSizeGb: t.shared ? '3072' : '263168',
      zone,
      selfLink: this.link(`projects/${project}/zones/${zone}/machineTypes/${name}`),
      isSharedCpu: t.shared === true,
    };
  }

  private networkBody(project: string, name: string): Obj {
    return {
      kind: 'compute#network',
      id: String(5000 + this.opts.networks.indexOf(name)),
      creationTimestamp: '2020-01-01T00:00:00.000-08:00',
      name,
      description: `${name} network for the project`,
      selfLink: this.link(`projects/${project}/global/networks/${name}`),
      autoCreateSubnetworks: true,
      subnetworks: this.regions().map((r) =>
        this.link(`projects/${project}/regions/${r}/subnetworks/${name}`),
      ),
      routingConfig: { routingMode: 'REGIONAL' },
      networkFirewallPolicyEnforcementOrder: 'AFTER_CLASSIC_FIREWALL',
    };
  }

  private subnetworkBody(project: string, region: string, name: string): Obj {
    const n = 128 + this.regions().indexOf(region);
    return {
      kind: 'compute#subnetwork',
      id: String(6000 + n),
      creationTimestamp: '2020-01-01T00:00:00.000-08:00',
      name,
      network: this.link(`projects/${project}/global/networks/${name}`),
      ipCidrRange: `10.${n}.0.0/20`,
      gatewayAddress: `10.${n}.0.1`,
      region: this.link(`projects/${project}/regions/${region}`),
      selfLink: this.link(`projects/${project}/regions/${region}/subnetworks/${name}`),
      privateIpGoogleAccess: false,
      fingerprint: 'ExiZ2Vbx3Ls=',
      stackType: 'IPV4_ONLY',
      purpose: 'PRIVATE',
    };
  }

  private firewallBody(project: string, body: Obj, old: Obj | undefined): Obj & { name: string } {
    const name = String(body.name);
    const network = this.network(project, body.network);
    const allowed = body.allowed ?? [];
    const denied = body.denied ?? [];
    if (!Array.isArray(allowed) || !Array.isArray(denied))
      throw invalid('resource.allowed', String(allowed), 'Must be a list.');
    if (!allowed.length && !denied.length)
      throw new HttpError(
        400,
        'invalid',
        "Invalid value for field 'resource': ''. Must specify at least one allowed or denied rule.",
      );
    [...allowed, ...denied].forEach((r: Obj, i) => {
      const field = `resource.${i < allowed.length ? 'allowed' : 'denied'}[${i < allowed.length ? i : i - allowed.length}]`;
      if (typeof r?.IPProtocol !== 'string' || !r.IPProtocol)
        throw new HttpError(400, 'required', `Required field '${field}.IPProtocol' not specified`);
      for (const port of (r.ports as unknown[]) ?? []) {
        if (typeof port !== 'string' || !/^\d{1,5}(-\d{1,5})?$/.test(port))
          throw invalid(`${field}.ports`, String(port), 'Invalid port specification.');
      }
    });
    for (const r of (body.sourceRanges as unknown[]) ?? []) {
      if (typeof r !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(r))
        throw invalid('resource.sourceRanges', String(r), 'Invalid IPV4 CIDR range.');
    }
    for (const field of ['targetTags', 'sourceTags']) {
      for (const t of (body[field] as unknown[]) ?? []) {
        if (typeof t !== 'string' || !NAME.test(t)) throw badName(`resource.${field}`, String(t));
      }
    }
    const fw: Obj & { name: string } = {
      kind: 'compute#firewall',
      id: (old?.id as string) ?? this.newId(),
      creationTimestamp: (old?.creationTimestamp as string) ?? new Date().toISOString(),
      name,
      network,
      priority: body.priority ?? 1000,
      sourceRanges: body.sourceRanges ?? (body.sourceTags ? undefined : ['0.0.0.0/0']),
      direction: body.direction ?? 'INGRESS',
      logConfig: { enable: false },
      disabled: body.disabled ?? false,
      selfLink: this.link(`projects/${project}/global/firewalls/${name}`),
    };
    if (body.description !== undefined) fw.description = body.description;
    if (allowed.length) fw.allowed = allowed;
    if (denied.length) fw.denied = denied;
    for (const k of [
      'targetTags',
      'sourceTags',
      'destinationRanges',
      'targetServiceAccounts',
      'sourceServiceAccounts',
    ]) {
      if (body[k] !== undefined) fw[k] = body[k];
    }
    if (fw.sourceRanges === undefined) delete fw.sourceRanges;
    return fw;
  }

  /** A network reference (default the `default` network): its full link, or 404. */
  private network(project: string, ref: unknown): string {
    const rest = ref === undefined ? 'global/networks/default' : this.partial(String(ref), project);
    const m = /^global\/networks\/([^/]+)$/.exec(rest);
    const name = m?.[1] ?? String(ref);
    if (!m || !this.opts.networks.includes(name))
      throw notFound(`projects/${project}/global/networks/${name}`);
    return this.link(`projects/${project}/global/networks/${name}`);
  }

  private diskType(project: string, zone: string, ref: unknown, field: string): string {
    if (ref === undefined) return 'pd-standard';
    const rest = this.partial(String(ref), project);
    const m = /^(?:zones\/([^/]+)\/diskTypes\/)?([^/]+)$/.exec(rest);
    if (!m || (m[1] && m[1] !== zone) || !DISK_TYPES.includes(m[2]))
      throw invalid(field, String(ref), `The referenced diskType resource cannot be found.`);
    return m[2];
  }

  private checkLabels(labels: unknown, field: string): Record<string, string> {
    if (labels === undefined) return {};
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels))
      throw invalid(field, JSON.stringify(labels), 'Must be a map.');
    for (const [k, v] of Object.entries(labels)) {
      if (!LABEL_KEY.test(k))
        throw invalid(
          `${field}.key`,
          k,
          'Label key must start with a lowercase letter and contain only lowercase letters, digits, underscores and dashes (at most 63).',
        );
      if (typeof v !== 'string' || !LABEL_VALUE.test(v))
        throw invalid(
          `${field}.value`,
          String(v),
          'Label value must contain only lowercase letters, digits, underscores and dashes (at most 63).',
        );
    }
    if (Object.keys(labels).length > 64) throw invalid(field, '', 'At most 64 labels.');
    return { ...(labels as Record<string, string>) };
  }

  private checkMetadata(md: Obj, field: string): { key: string; value: string }[] {
    const items = (md.items ?? []) as { key?: unknown; value?: unknown }[];
    if (!Array.isArray(items)) throw invalid(`${field}.items`, String(items), 'Must be a list.');
    const seen = new Set<string>();
    let size = 0;
    const out: { key: string; value: string }[] = [];
    items.forEach((it, i) => {
      const key = String(it?.key ?? '');
      if (!/^[a-zA-Z0-9_-]{1,127}$/.test(key))
        throw invalid(`${field}.items[${i}].key`, key, 'Must be a match of regex [a-zA-Z0-9-_]{1,128}');
      if (seen.has(key))
        throw invalid(`${field}.items[${i}].key`, key, `Duplicate keys are not allowed: ${key}.`);
      seen.add(key);
      const value = String(it?.value ?? '');
      if (value.length > 256 * 1024)
        throw invalid(`${field}.items[${i}].value`, key, 'Metadata value is too large.');
      size += key.length + value.length;
      out.push({ key, value });
    });
    if (size > 512 * 1024) throw invalid(field, '', 'Metadata exceeds the 512 KB limit.');
    return out;
  }

  private checkTags(tags: Obj, field: string): string[] {
    const items = (tags.items ?? []) as unknown[];
    items.forEach((t, i) => {
      if (typeof t !== 'string' || !NAME.test(t)) throw badName(`${field}.items[${i}]`, String(t));
    });
    return [...new Set(items as string[])];
  }

  private async keysInstalled(name: string, items: { key: string; value: string }[]): Promise<void> {
    const keyItems = items.filter((i) => i.key === 'ssh-keys' || i.key === 'sshKeys');
    if (!keyItems.length) return;
    const lines = keyItems.flatMap((i) =>
      i.value
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    );
    await this.opts.onCreate?.(name, lines, Object.fromEntries(items.map((i) => [i.key, i.value])));
  }

  private alive(s: InstanceState): boolean {
    return this.instanceMap.get(`${s.project}/${s.zone}/${s.inst.name}`) === s;
  }

  private async becomeRunning(s: InstanceState): Promise<void> {
    if (!this.alive(s)) return;
    if (!s.powered) {
      s.powered = true;
      await this.opts.onPower?.(s.inst.name, true);
    }
    s.inst.status = 'RUNNING';
    s.inst.lastStartTimestamp = new Date().toISOString();
  }

  /** The test's host goes down with the instance (stopped or deleted), once. */
  private async powerOff(s: InstanceState): Promise<void> {
    if (!s.powered) return;
    s.powered = false;
    await this.opts.onPower?.(s.inst.name, false);
  }

  private isStatic(project: string, zone: string, ip: string): boolean {
    return [...this.addressMap.values()].some(
      (a) => a.project === project && a.region === regionOf(zone) && a.address.address === ip,
    );
  }

  private releaseAddresses(s: InstanceState): void {
    for (const a of this.addressMap.values()) {
      if (a.address.users?.includes(String(s.inst.selfLink))) {
        delete a.address.users;
        a.address.status = 'RESERVED';
      }
    }
  }

  private setLabels(target: Obj, body: Obj, project: string, where: { zone?: string }): Promise<Obj> {
    return this.setFingerprinted({
      project,
      where,
      type: 'setLabels',
      target,
      supplied: body.labelFingerprint,
      current: target.labelFingerprint,
      stale: 'Labels fingerprint either invalid or resource labels have changed',
      check: () => this.checkLabels(body.labels ?? {}, 'labels'),
      apply: (labels) => {
        target.labels = labels;
        target.labelFingerprint = fingerprint();
      },
    });
  }

  /**
   * The setters guarded by a fingerprint (setMetadata, setTags, setLabels): one that is not the
   * current one (stale, or missing) is 412 conditionNotMet before the body is even read; a body
   * that passes `check` becomes an operation on the target whose completion `apply`s it.
   */
  private setFingerprinted<T>(o: {
    project: string;
    where: { zone?: string };
    type: string;
    target: Obj;
    supplied: unknown;
    current: unknown;
    stale: string;
    check: () => T;
    apply: (value: T) => void | Promise<void>;
  }): Promise<Obj> {
    if (o.supplied !== o.current)
      throw new HttpError(412, 'conditionNotMet', o.stale, { location: 'If-Match', locationType: 'header' });
    const value = o.check();
    const op = this.newOperation(o.project, o.where, o.type, o.target, {
      onDone: () => o.apply(value),
    });
    return this.answer(op);
  }

  private async insertInstance(project: string, zone: string, body: Obj): Promise<Obj> {
    const name = String(body.name ?? '');
    if (!body.name) throw new HttpError(400, 'required', "Required field 'resource.name' not specified");
    if (!NAME.test(name)) throw badName('resource.name', name);
    const key = `${project}/${zone}/${name}`;
    if (this.instanceMap.has(key)) throw exists(`projects/${project}/zones/${zone}/instances/${name}`);
    const region = regionOf(zone);

    // Machine type
    if (body.machineType === undefined)
      throw new HttpError(400, 'required', "Required field 'resource.machineType' not specified");
    const mtRef = String(body.machineType);
    const mt = /^zones\/([^/]+)\/machineTypes\/([^/]+)$/.exec(this.partial(mtRef, project));
    if (!mt) throw invalid('resource.machineType', mtRef, 'The URL is malformed.');
    if (mt[1] !== zone)
      throw invalid(
        'resource.machineType',
        mtRef,
        `Machine type zone '${mt[1]}' does not match instance zone '${zone}'.`,
      );
    if (!this.machineTypesIn(zone).includes(mt[2]))
      throw invalid(
        'resource.machineType',
        mtRef,
        `Machine type with name '${mt[2]}' does not exist in zone '${zone}'.`,
      );
    const machineType = mt[2];

    // Scheduling and accelerators
    const sched = { ...((body.scheduling ?? {}) as Obj) };
    const accels = (body.guestAccelerators ?? []) as Obj[];
    const accelOut: Obj[] = [];
    accels.forEach((a, i) => {
      const ref = String(a.acceleratorType ?? '');
      const m = /^zones\/([^/]+)\/acceleratorTypes\/([^/]+)$/.exec(this.partial(ref, project));
      if (!m) throw invalid(`resource.guestAccelerators[${i}].acceleratorType`, ref, 'The URL is malformed.');
      if (m[1] !== zone || !ACCELERATORS.includes(m[2]))
        throw invalid(
          `resource.guestAccelerators[${i}].acceleratorType`,
          ref,
          `Accelerator type '${m[2]}' does not exist in zone '${zone}'.`,
        );
      const count = Number(a.acceleratorCount ?? 1);
      if (![1, 2, 4, 8].includes(count))
        throw invalid(
          `resource.guestAccelerators[${i}].acceleratorCount`,
          String(a.acceleratorCount),
          'Invalid accelerator count.',
        );
      accelOut.push({
        acceleratorType: this.link(`projects/${project}/zones/${zone}/acceleratorTypes/${m[2]}`),
        acceleratorCount: count,
      });
    });
    if (accelOut.length) {
      if (MACHINE_TYPES[machineType]?.shared || !/^(n1|a2|g2)-/.test(machineType))
        throw new HttpError(
          400,
          'invalidResourceUsage',
          `Invalid resource usage: 'Accelerators are not supported for machine type ${machineType}.'.`,
        );
      if ((sched.onHostMaintenance ?? 'MIGRATE') === 'MIGRATE')
        throw new HttpError(
          400,
          'badRequest',
          'Instances with guest accelerators do not support live migration.',
        );
    }
    if (sched.preemptible === true) {
      if (sched.automaticRestart === true)
        throw invalid(
          'resource.scheduling.automaticRestart',
          'true',
          'Preemptible instances cannot be automatically restarted.',
        );
      if (sched.onHostMaintenance === 'MIGRATE')
        throw invalid(
          'resource.scheduling.onHostMaintenance',
          'MIGRATE',
          'Preemptible instances must have onHostMaintenance set to TERMINATE.',
        );
      sched.automaticRestart = false;
      sched.onHostMaintenance = 'TERMINATE';
      sched.provisioningModel = 'STANDARD';
    }
    sched.onHostMaintenance ??= 'MIGRATE';
    sched.automaticRestart ??= true;
    sched.preemptible ??= false;
    sched.provisioningModel ??= 'STANDARD';

    if (body.minCpuPlatform !== undefined) {
      const mcp = String(body.minCpuPlatform);
      if (mcp !== 'Automatic' && !CPU_PLATFORMS.includes(mcp))
        throw invalid(
          'resource.minCpuPlatform',
          mcp,
          `CPU platform type with name '${mcp}' does not exist in zone '${zone}'.`,
        );
      if (MACHINE_TYPES[machineType]?.shared && mcp !== 'Automatic')
        throw invalid(
          'resource.minCpuPlatform',
          mcp,
          `Machine type ${machineType} does not support min CPU platform.`,
        );
    }

    // Labels, tags, metadata
    const labels = this.checkLabels(body.labels, 'resource.labels');
    const tagItems = this.checkTags((body.tags ?? {}) as Obj, 'resource.tags');
    const mdItems = this.checkMetadata((body.metadata ?? {}) as Obj, 'resource.metadata');

    // Service accounts
    const sas = ((body.serviceAccounts ?? []) as Obj[]).map((sa, i) => {
      let email = String(sa.email ?? 'default');
      if (email === 'default') email = this.defaultServiceAccount(project);
      if (!/@[a-z0-9-]+\.iam\.gserviceaccount\.com$|-compute@developer\.gserviceaccount\.com$/.test(email))
        throw invalid(`resource.serviceAccounts[${i}].email`, email, 'The service account does not exist.');
      const scopes = (sa.scopes ?? []) as unknown[];
      scopes.forEach((sc, j) => {
        if (typeof sc !== 'string' || !sc.startsWith('https://www.googleapis.com/auth/'))
          throw invalid(`resource.serviceAccounts[${i}].scopes[${j}]`, String(sc), 'Scope must be a URL.');
      });
      return { email, scopes };
    });

    // Network interfaces
    const nicsIn = (body.networkInterfaces ?? []) as Obj[];
    if (!nicsIn.length)
      throw invalid('resource.networkInterfaces', '', 'At least one network interface is required.');
    const staticUsed: AddressState[] = [];
    const nics = nicsIn.map((n, i) => {
      let network: string;
      let subnetwork: string;
      if (n.subnetwork !== undefined) {
        const ref = String(n.subnetwork);
        const m = /^regions\/([^/]+)\/subnetworks\/([^/]+)$/.exec(this.partial(ref, project));
        if (!m) throw invalid(`resource.networkInterfaces[${i}].subnetwork`, ref, 'The URL is malformed.');
        if (m[1] !== region)
          throw invalid(
            `resource.networkInterfaces[${i}].subnetwork`,
            ref,
            `Subnetwork must be in the same region as the instance ('${region}').`,
          );
        if (!this.opts.networks.includes(m[2]))
          throw notFound(`projects/${project}/regions/${m[1]}/subnetworks/${m[2]}`);
        subnetwork = this.link(`projects/${project}/regions/${region}/subnetworks/${m[2]}`);
        network =
          n.network !== undefined
            ? this.network(project, n.network)
            : this.link(`projects/${project}/global/networks/${m[2]}`);
      } else {
        network = this.network(project, n.network);
        subnetwork = this.link(
          `projects/${project}/regions/${region}/subnetworks/${network.split('/').pop()}`,
        );
      }
      const acs = ((n.accessConfigs ?? []) as Obj[]).map((ac, j) => {
        const type = String(ac.type ?? 'ONE_TO_ONE_NAT');
        if (type !== 'ONE_TO_ONE_NAT')
          throw invalid(
            `resource.networkInterfaces[${i}].accessConfigs[${j}].type`,
            type,
            'Only ONE_TO_ONE_NAT is supported for IPv4.',
          );
        let natIP: string;
        if (ac.natIP !== undefined) {
          natIP = String(ac.natIP);
          const st = [...this.addressMap.values()].find(
            (a) => a.project === project && a.region === region && a.address.address === natIP,
          );
          if (!st)
            throw invalid(
              `resource.networkInterfaces[${i}].accessConfigs[${j}].natIP`,
              natIP,
              `The specified external IP address '${natIP}' was not found in region '${region}'.`,
            );
          if (st.address.status === 'IN_USE' || staticUsed.includes(st))
            throw new HttpError(400, 'invalid', `IP '${natIP}' is already being used by another resource.`);
          staticUsed.push(st);
        } else natIP = this.external();
        return {
          kind: 'compute#accessConfig',
          type,
          name: String(ac.name ?? 'External NAT'),
          natIP,
          networkTier: String(ac.networkTier ?? 'PREMIUM'),
        };
      });
      const out: Obj & { accessConfigs?: Obj[] } = {
        kind: 'compute#networkInterface',
        network,
        subnetwork,
        networkIP: n.networkIP !== undefined ? String(n.networkIP) : this.internal(region),
        name: `nic${i}`,
        fingerprint: fingerprint(),
        stackType: 'IPV4_ONLY',
      };
      if (acs.length) out.accessConfigs = acs;
      return out;
    });

    // Disks
    const disksIn = (body.disks ?? []) as Obj[];
    if (!disksIn.some((d) => d.boot === true) && disksIn.length !== 1)
      throw invalid('resource.disks', '', 'Boot disk must be specified.');
    if (!disksIn.length) throw invalid('resource.disks', '', 'Boot disk must be specified.');
    const warnings: Obj[] = [];
    const newDisks: DiskState[] = [];
    const attachDisks: DiskState[] = [];
    const selfLink = this.link(`projects/${project}/zones/${zone}/instances/${name}`);
    const attached = disksIn.map((d, i) => {
      const boot = d.boot === true || (i === 0 && d.boot === undefined);
      const f = `resource.disks[${i}]`;
      let ds: DiskState;
      if (d.source !== undefined) {
        const ref = String(d.source);
        const m = /^zones\/([^/]+)\/disks\/([^/]+)$/.exec(this.partial(ref, project));
        if (!m) throw invalid(`${f}.source`, ref, 'The URL is malformed.');
        if (m[1] !== zone) throw invalid(`${f}.source`, ref, `Disk must be in zone '${zone}'.`);
        ds = this.disk(project, zone, m[2]);
        if (ds.disk.users?.length)
          throw new HttpError(
            400,
            'resourceInUseByAnotherResource',
            `The disk resource 'projects/${project}/zones/${zone}/disks/${m[2]}' is already being used by '${this.partial(ds.disk.users[0], '')}'`,
          );
        attachDisks.push(ds);
      } else if (d.initializeParams !== undefined) {
        const ip = d.initializeParams as Obj;
        const dname = String(ip.diskName ?? name);
        if (!NAME.test(dname)) throw badName(`${f}.initializeParams.diskName`, dname);
        if (ip.sourceImage === undefined && boot)
          throw new HttpError(
            400,
            'required',
            `Required field '${f}.initializeParams.sourceImage' not specified`,
          );
        const image =
          ip.sourceImage !== undefined
            ? this.resolveImage(project, String(ip.sourceImage), `${f}.initializeParams.sourceImage`)
            : undefined;
        if (image?.state === 'DEPRECATED') {
          const imgPath = `projects/${image.project}/global/images/${image.name}`;
          const repl = image.replacement
            ? ` A suggested replacement is 'projects/${image.project}/global/images/${image.replacement}'.`
            : '';
          warnings.push({
            code: 'DEPRECATED_RESOURCE_USED',
            message: `The resource '${imgPath}' is deprecated.${repl}`,
            data: [{ key: 'resource_name', value: imgPath }],
          });
        }
        const type = this.diskType(project, zone, ip.diskType, `${f}.initializeParams.diskType`);
        const minSize = image?.diskSizeGb ?? 10;
        const size = ip.diskSizeGb !== undefined ? Number(ip.diskSizeGb) : minSize;
        if (!Number.isInteger(size) || size < minSize)
          throw invalid(
            `${f}.initializeParams.diskSizeGb`,
            String(ip.diskSizeGb),
            `Requested disk size cannot be smaller than the image size (${minSize} GB)`,
          );
        const dlabels = this.checkLabels(ip.labels, `${f}.initializeParams.labels`);
        if (newDisks.some((x) => x.disk.name === dname))
          throw invalid(`${f}.initializeParams.diskName`, dname, 'Disk names must be unique.');
        ds = { project, zone, disk: this.newDisk(project, zone, dname, size, type, image, dlabels) };
        newDisks.push(ds);
      } else {
        throw invalid(`${f}`, '', 'Source or initializeParams must be specified.');
      }
      const att: Obj = {
        kind: 'compute#attachedDisk',
        type: String(d.type ?? 'PERSISTENT'),
        mode: String(d.mode ?? 'READ_WRITE'),
        source: ds.disk.selfLink,
        deviceName: String(d.deviceName ?? (boot ? 'persistent-disk-0' : `persistent-disk-${i}`)),
        index: i,
        boot,
        autoDelete: d.autoDelete === true,
        interface: 'SCSI',
        diskSizeGb: ds.disk.sizeGb,
        architecture: ds.disk.architecture ?? 'X86_64',
      };
      if (ds.disk.licenses) att.licenses = ds.disk.licenses;
      return att;
    });

    // Everything GCE checks at once is checked; the rest happens in the operation.
    const inRegion = [...this.instanceMap.values()].filter(
      (s) => s.project === project && regionOf(s.zone) === region,
    ).length;
    const cpus = this.cpusIn(project, region) + (MACHINE_TYPES[machineType]?.cpus ?? 2);
    const clash = newDisks.find((d) => this.diskMap.has(`${project}/${zone}/${d.disk.name}`));
    let fail: OpError | undefined;
    const quota = (metric: string, limit: number): OpError => ({
      code: 'QUOTA_EXCEEDED',
      message: `Quota '${metric}' exceeded.  Limit: ${limit}.0 in region ${region}.`,
      httpStatus: 403,
      httpMessage: 'FORBIDDEN',
    });
    // Over quota, GCE accepts the insert and shows the instance PROVISIONING until the operation
    // fails; then it is gone. A disk name taken fails the same way but never touches that disk.
    let quotaFail: OpError | undefined;
    if (inRegion >= this.opts.instanceQuota) quotaFail = quota('INSTANCES', this.opts.instanceQuota);
    else if (cpus > this.opts.cpuQuota) quotaFail = quota('CPUS', this.opts.cpuQuota);
    else if (clash) {
      fail = {
        code: 'RESOURCE_ALREADY_EXISTS',
        message: `The resource 'projects/${project}/zones/${zone}/disks/${clash.disk.name}' already exists`,
        httpStatus: 409,
        httpMessage: 'CONFLICT',
      };
    }
    const id = this.newId();
    if (fail) {
      const op = this.newOperation(project, { zone }, 'insert', { selfLink, id }, { fail, warnings });
      return this.answer(op);
    }

    const inst: InstanceState['inst'] = {
      kind: 'compute#instance',
      id,
      creationTimestamp: new Date().toISOString(),
      name,
      tags: tagItems.length
        ? { items: tagItems, fingerprint: fingerprint() }
        : { fingerprint: fingerprint() },
      machineType: this.link(`projects/${project}/zones/${zone}/machineTypes/${machineType}`),
      status: 'PROVISIONING',
      zone: this.link(`projects/${project}/zones/${zone}`),
      canIpForward: body.canIpForward === true,
      networkInterfaces: nics,
      disks: attached,
      metadata: mdItems.length
        ? { kind: 'compute#metadata', fingerprint: fingerprint(), items: mdItems }
        : { kind: 'compute#metadata', fingerprint: fingerprint() },
      selfLink,
      scheduling: sched,
      cpuPlatform: 'Unknown CPU Platform',
      labels,
      labelFingerprint: fingerprint(),
      startRestricted: false,
      deletionProtection: body.deletionProtection === true,
      fingerprint: fingerprint(),
    };
    if (body.description !== undefined) inst.description = body.description;
    if (sas.length) inst.serviceAccounts = sas;
    if (accelOut.length) inst.guestAccelerators = accelOut;
    if (body.minCpuPlatform !== undefined) inst.minCpuPlatform = body.minCpuPlatform;
    if (body.hostname !== undefined) inst.hostname = body.hostname;
    const s: InstanceState = {
      project,
      zone,
      inst,
      stagingPolls: this.opts.runningPolls,
      powered: false,
      lastNatIPs: new Map(),
    };
    this.instanceMap.set(key, s);
    for (const d of newDisks) {
      d.disk.users = [selfLink];
      d.disk.lastAttachTimestamp = inst.creationTimestamp as string;
      this.diskMap.set(`${project}/${zone}/${d.disk.name}`, d);
    }
    for (const d of attachDisks) {
      d.disk.users = [...(d.disk.users ?? []), selfLink];
      d.disk.lastAttachTimestamp = inst.creationTimestamp as string;
    }
    for (const a of staticUsed) {
      a.address.status = 'IN_USE';
      a.address.users = [selfLink];
    }
    const op = this.newOperation(
      project,
      { zone },
      'insert',
      { selfLink, id },
      {
        warnings,
        fail: quotaFail,
        // A failed insert leaves nothing: GCE removes the instance and the disks it was making.
        onFail: () => {
          this.instanceMap.delete(key);
          for (const d of newDisks) this.diskMap.delete(`${project}/${zone}/${d.disk.name}`);
          for (const d of attachDisks) {
            d.disk.users = (d.disk.users ?? []).filter((u) => u !== selfLink);
            if (!d.disk.users.length) delete d.disk.users;
          }
          this.releaseAddresses(s);
        },
        onRunning: () => {
          if (s.inst.status === 'PROVISIONING') s.inst.status = 'STAGING';
        },
        onDone: async () => {
          if (!this.alive(s)) return;
          for (const d of newDisks) d.disk.status = 'READY';
          inst.cpuPlatform = String(body.minCpuPlatform ?? 'Intel Broadwell').replace(
            'Automatic',
            'Intel Broadwell',
          );
          if (s.inst.status === 'PROVISIONING' || s.inst.status === 'STAGING') {
            if (s.stagingPolls > 0) s.inst.status = 'STAGING';
            else await this.becomeRunning(s);
          }
        },
      },
    );
    await this.keysInstalled(name, mdItems);
    return this.made('instance', name, op);
  }
}

function fingerprint(): string {
  return randomBytes(8).toString('base64');
}
