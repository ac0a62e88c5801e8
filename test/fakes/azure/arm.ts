import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateServerCert } from '../../../src/cert/server.js';
import { onProcessEnd, sweepKilledDirs } from '../../helpers/cleanup.js';
import { runValidator as runPython } from '../../helpers/fake-api.js';
import { makeTestCA } from '../../helpers/test-ca.js';
import { instanceView, render, ruleBody, subnetBody } from './arm-bodies.js';
import {
  API_VERSIONS,
  CLOUDS,
  type CloudName,
  findImage,
  parseCidr,
  type Region,
  VM_SIZES,
} from './arm-catalog.js';
import { checkQuota, prepareAs, prepareVm } from './arm-compute.js';
import { checkDeletable, subnetFree } from './arm-links.js';
import { imageBody, locationBody, providerBody, sizeBody, subscriptionBody } from './arm-lookups.js';
import { checkRule, checkSubnet, prepareNic, prepareNsg, preparePip, prepareVnet } from './arm-network.js';
import {
  ArmError,
  type DiskData,
  type Group,
  KINDS,
  type KindInfo,
  type NicData,
  type NsgData,
  type Obj,
  type Op,
  type OpWhat,
  type PipData,
  RESOURCE_NAME,
  type Res,
  same,
  type VmData,
  type VnetData,
  type World,
} from './arm-state.js';

export { API_VERSIONS } from './arm-catalog.js';

/**
 * A stateful Azure Resource Manager on https://127.0.0.1, for the azure driver's tests: resource
 * groups, availability sets, virtual networks and subnets, network security groups, public IP
 * addresses, network interfaces, virtual machines with managed OS disks, and the subscription,
 * provider, location, VM-size and platform-image look-ups around them. Written from Azure's REST
 * reference and the Swagger files in ../shared/reference/api-specs/azure; every body it sends or
 * receives is recorded with its operationId so that `validate()` checks them against those files.
 *
 * It behaves as ARM does where a driver can tell: api-version required and checked, bearer tokens
 * with the tenant-discovery 401, long-running operations (Azure-AsyncOperation and Location
 * polling with Retry-After), ARM's error codes and wording, pages joined by nextLink, 429s with
 * Retry-After. Addresses come from `publicAddresses` / `privateAddresses` (the test's own hosts);
 * with none configured they come from 192.0.2.0/24 (TEST-NET-1), never anything routable.
 *
 * API versions: Compute 2024-03-01 (disks 2023-04-02, 2023-10-02, 2024-03-02), Network 2024-01-01,
 * Resources 2024-03-01, subscriptions and locations 2016-06-01, 2020-01-01, 2022-12-01.
 * Bodies not checked by validate(), their descriptions not being among the copied files:
 * availability sets, disks, subscription, locations, platform images (their errors are checked).
 * Where ARM and the brief differ the fake does as ARM does: deleting a vnet whose subnet is in
 * use is a 400 InUseSubnetCannotBeDeleted, not a 409.
 *
 * Wiring in a test: `const arm = new FakeAzure({ acceptToken: (t) => aad.tokens.has(t),
 * authorityHost: aad.url, publicAddresses: [host.ip], retryAfter: 0, onCreate, onPower })`,
 * `await arm.start()`, then the CLI with NODE_EXTRA_CA_CERTS=`arm.caPath` and
 * `--azure-resource-manager-endpoint arm.url`; at the end `assert.deepEqual(await arm.validate(), [])`
 * and `arm.resources()` for what is left. One CA for it and the Azure AD fake: `ca: { certPath:
 * aad.caPath, keyPath: <its ca-key.pem> }`. What existed before the test: `await arm.seed(path, body)`.
 */
export const SPEC_DIR = '/work/shared/reference/api-specs/azure/specification';

export interface FakeAzureOptions {
  /** The bearer token accepted (unless acceptToken says otherwise). */
  token?: string;
  /**
   * Whether a bearer token is good; or why not, in ARM's terms: 'expired', 'audience' (obtained
   * for another resource) or 'tenant' (issued by another tenant than the subscription's).
   */
  acceptToken?(token: string): boolean | 'expired' | 'audience' | 'tenant';
  subscriptionId?: string;
  tenantId?: string;
  subscriptionName?: string;
  /** Decides the regions, the login host in the 401 and the public IPs' DNS suffix. */
  cloud?: CloudName;
  /** Replaces the login host in the 401's authorization_uri (the AAD fake's URL). */
  authorityHost?: string;
  /** Addresses public IPs get, in order, reused round-robin. */
  publicAddresses?: string[];
  /** Addresses dynamic private IPs get, in order, reused round-robin. */
  privateAddresses?: string[];
  /** Polls of a long-running operation that still answer InProgress. */
  lroPolls?: number;
  /** An operation nobody polls still ends this long after it started, as Azure's do (ms). */
  lroMaxMs?: number;
  /** Seconds in every Retry-After of an operation (0 for fast tests). */
  retryAfter?: number;
  /** GETs of a provider that still see it Registering after a register. */
  registerPolls?: number;
  /** Namespaces the subscription has not registered (Microsoft.Compute, Microsoft.Network...). */
  unregisteredProviders?: string[];
  /** Regional vCPU quota (Total Regional Cores). */
  coresQuota?: number;
  /** Every Nth request is answered 429. */
  throttle?: number;
  /** Seconds in a 429's Retry-After. */
  throttleRetryAfter?: number;
  /** Items per page of a list (ARM pages at its own size; small ones make clients follow nextLink). */
  maxPageSize?: number;
  /** Time between committing a create and answering it: where a kill -9 can land. */
  holdPutMs?: number;
  /** An existing CA to sign the server certificate with (so one NODE_EXTRA_CA_CERTS file serves several fakes). */
  ca?: { certPath: string; keyPath: string };
  /** As a VM is made: the keys and the decoded custom data cloud-init/waagent would install. */
  onCreate?(vmName: string, sshPublicKeys: string[], customData?: string): Promise<void>;
  /** When a VM's power changes: the test powers its host off or on. */
  onPower?(vmName: string, on: boolean): Promise<void>;
}

export interface Recorded {
  op: string;
  status: number;
  body: unknown;
  kind: 'response' | 'request';
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RG_NAME = /^[-\w._()]{1,90}$/;
const PROVIDERS: Record<string, string[]> = {
  'Microsoft.Compute': ['virtualMachines', 'availabilitySets', 'disks', 'locations', 'locations/vmSizes'],
  'Microsoft.Network': [
    'virtualNetworks',
    'networkSecurityGroups',
    'publicIPAddresses',
    'networkInterfaces',
    'locations',
  ],
  'Microsoft.Storage': ['storageAccounts', 'locations'],
  'Microsoft.Resources': ['resourceGroups', 'subscriptions', 'deployments'],
};

export class FakeAzure extends EventEmitter {
  readonly opts: Required<
    Omit<FakeAzureOptions, 'acceptToken' | 'authorityHost' | 'ca' | 'onCreate' | 'onPower' | 'throttle'>
  > &
    Pick<FakeAzureOptions, 'acceptToken' | 'authorityHost' | 'ca' | 'onCreate' | 'onPower' | 'throttle'>;
  readonly recorded: Recorded[] = [];
  /** Every request as it arrived. */
  readonly requests: { method: string; path: string; query: string }[] = [];
  readonly groups = new Map<string, Group>();
  readonly items = new Map<string, Res>();
  readonly ops = new Map<string, Op>();
  readonly providers = new Map<string, { state: string; polls: number }>();
  throttled = 0;
  url = '';
  /** The PEM file of the CA that signed the server certificate: for NODE_EXTRA_CA_CERTS. */
  caPath = '';
  private server: Server | undefined;
  private seq = 0;
  /** The state the network, compute and body modules work on. */
  private readonly world: World;
  private counted = 0;
  private nextPublic = 0;
  private nextPrivate = 0;
  private failures: { method: string; path: RegExp; status: number; code: string; message: string }[] = [];
  private opFailures: {
    target: RegExp;
    what?: OpWhat;
    code: string;
    message: string;
    status: 'Failed' | 'Canceled';
    httpStatus: number;
  }[] = [];

  constructor(opts: FakeAzureOptions = {}) {
    super();
    this.opts = {
      token: 'fake-arm-token',
      subscriptionId: '6a1b9c3e-5f2d-4e8a-9b7c-0d1e2f3a4b5c',
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      subscriptionName: 'Fake subscription',
      cloud: 'AzureCloud',
      publicAddresses: [],
      privateAddresses: [],
      lroPolls: 2,
      lroMaxMs: 60_000,
      retryAfter: 1,
      registerPolls: 2,
      unregisteredProviders: [],
      coresQuota: 20,
      throttleRetryAfter: 1,
      maxPageSize: 100,
      holdPutMs: 0,
      ...opts,
    };
    for (const ns of Object.keys(PROVIDERS)) {
      const off = this.opts.unregisteredProviders.some((u) => u.toLowerCase() === ns.toLowerCase());
      this.providers.set(ns.toLowerCase(), { state: off ? 'NotRegistered' : 'Registered', polls: 0 });
    }
    this.world = {
      items: this.items,
      groups: this.groups,
      opts: this.opts,
      regions: CLOUDS[this.opts.cloud].regions,
      nextSeq: () => this.seq++,
      publicAddress: () => this.publicAddress(),
      privateAddress: () => this.privateAddress(),
    };
  }

  get regions(): Region[] {
    return CLOUDS[this.opts.cloud].regions;
  }

  async start(): Promise<void> {
    const { cert, key, caPath } = await serverTLS(this.opts.ca);
    this.caPath = caPath;
    this.server = createServer({ cert, key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err) => {
          this.send(res, 'ARM', 500, { error: { code: 'InternalServerError', message: String(err) } });
        });
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** The next request matching gets this error instead of its answer. */
  failNext(method: string, path: RegExp, status: number, code: string, message: string): void {
    this.failures.push({ method, path, status, code, message });
  }

  /**
   * The next long-running operation on a resource whose id matches ends Failed (or Canceled) with
   * this error instead of succeeding: a VM that never provisions, a delete that does not go through.
   */
  failOperation(
    target: RegExp,
    code: string,
    message: string,
    o: { what?: OpWhat; status?: 'Failed' | 'Canceled'; httpStatus?: number } = {},
  ): void {
    this.opFailures.push({
      target,
      what: o.what,
      code,
      message,
      status: o.status ?? 'Failed',
      httpStatus: o.httpStatus ?? 500,
    });
  }

  /**
   * What the user had before the test (a resource group, vnet, NSG...): `PUT path` with `body`
   * through the API as any request, its operation finished at once, kept out of `requests`.
   * Answers the resource as a GET then shows it; throws ARM's error when the PUT is refused.
   */
  async seed(path: string, body: unknown): Promise<Obj> {
    const call = async (method: string, payload?: unknown) => {
      const out = { status: 0, headers: {} as Record<string, string>, text: '' };
      const res = {
        destroyed: false,
        writeHead(status: number, headers: Record<string, string>) {
          out.status = status;
          out.headers = headers;
        },
        end(text?: string) {
          out.text = text ?? '';
        },
      } as unknown as ServerResponse;
      const url = `${path}?api-version=${apiVersionFor(path)}`;
      await this.handle(
        { url, method, headers: {} },
        res,
        payload === undefined ? '' : JSON.stringify(payload),
        true,
      );
      return out;
    };
    const put = await call('PUT', body);
    if (put.status >= 400) throw new Error(`seed ${path}: ${JSON.parse(put.text).error.message}`);
    const opId = /\/operations\/([^/?]+)/.exec(put.headers['azure-asyncoperation'] ?? '')?.[1];
    const op = opId ? this.ops.get(opId) : undefined;
    if (op) {
      op.polls = this.opts.lroPolls;
      await this.advance(op);
    }
    return JSON.parse((await call('GET')).text);
  }

  /** Everything the subscription holds, oldest first: resource groups, then resources. */
  resources(): { id: string; type: string }[] {
    const groups = [...this.groups.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((g) => ({ id: g.id, type: 'Microsoft.Resources/resourceGroups' }));
    const items = [...this.items.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((r) => ({ id: r.id, type: r.info.type }));
    return [...groups, ...items];
  }

  /** A VM's power state (running, stopped, deallocated, starting...), or undefined when it is gone. */
  powerState(rg: string, vmName: string): string | undefined {
    const r = this.items.get(this.resourceId(rg, 'Microsoft.Compute/virtualMachines', vmName).toLowerCase());
    return r ? (r.data as VmData).power : undefined;
  }

  /** Problems found in the recorded bodies by the Swagger descriptions (python3). */
  async validate(): Promise<string[]> {
    return validateRecords(this.recorded);
  }

  private resourceId(rg: string, type: string, name: string): string {
    const g = this.groups.get(rg.toLowerCase());
    return `/subscriptions/${this.opts.subscriptionId}/resourceGroups/${g?.name ?? rg}/providers/${type}/${name}`;
  }

  // ---- transport -------------------------------------------------------------------------

  private send(
    res: ServerResponse,
    op: string,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (op !== '') this.recorded.push({ op, status, body: body ?? null, kind: 'response' });
    const h: Record<string, string> = {
      'x-ms-request-id': randomUUID(),
      'x-ms-correlation-request-id': randomUUID(),
      'x-ms-ratelimit-remaining-subscription-reads': '11999',
      'x-ms-ratelimit-remaining-subscription-writes': '1199',
      ...headers,
    };
    if (res.destroyed) return;
    if (body === undefined) {
      res.writeHead(status, h);
      res.end();
      return;
    }
    res.writeHead(status, { ...h, 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }

  private fail(res: ServerResponse, op: string, e: ArmError): void {
    const error: Obj = { code: e.code, message: e.message };
    if (e.extra.target) error.target = e.extra.target;
    if (e.extra.details) error.details = e.extra.details;
    this.send(res, op, e.status, { error }, e.extra.headers);
  }

  /** One request; `seeding` ones come from the test itself: no auth, throttling or injected failure. */
  private async handle(
    req: Pick<IncomingMessage, 'url' | 'method' | 'headers'>,
    res: ServerResponse,
    text: string,
    seeding = false,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://fake');
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (!seeding) this.requests.push({ method, path, query: url.search });
    let op = 'ARM';
    try {
      const sub = /^\/subscriptions\/([^/]+)/i.exec(path)?.[1];
      if (sub !== undefined) {
        if (!GUID.test(sub))
          throw new ArmError(
            400,
            'InvalidSubscriptionId',
            `The provided subscription identifier '${sub}' is malformed or invalid.`,
          );
        if (sub.toLowerCase() !== this.opts.subscriptionId.toLowerCase())
          throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${sub}' could not be found.`);
      }
      if (!seeding) this.authenticate(req.headers.authorization);
      if (!seeding) this.counted++;
      if (!seeding && this.opts.throttle && this.counted % this.opts.throttle === 0) {
        this.throttled++;
        const kind = method === 'GET' || method === 'HEAD' ? 'read' : 'write';
        throw new ArmError(
          429,
          'SubscriptionRequestsThrottled',
          `Number of '${kind}' requests for subscription '${this.opts.subscriptionId}' actor '${this.opts.tenantId}' exceeded. Please try again after '${this.opts.throttleRetryAfter}' seconds after additional '${this.opts.throttle}' requests are made.`,
          { headers: { 'retry-after': String(this.opts.throttleRetryAfter) } },
        );
      }
      const f = seeding ? -1 : this.failures.findIndex((x) => x.method === method && x.path.test(path));
      if (f >= 0) {
        const [x] = this.failures.splice(f, 1);
        throw new ArmError(x.status, x.code, x.message);
      }
      let body: Obj | undefined;
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text);
        } catch (err) {
          throw new ArmError(
            400,
            'InvalidRequestContent',
            `The request content was invalid and could not be deserialized: '${(err as Error).message}'.`,
          );
        }
        if (typeof body !== 'object' || body === null || Array.isArray(body))
          throw new ArmError(400, 'InvalidRequestContent', 'The request content must be a JSON object.');
      }
      await this.overdue();
      const ctx: Ctx = {
        method,
        path,
        query: url.searchParams,
        body,
        headers: req.headers,
        res,
        setOp: (o) => {
          op = o;
          if (body !== undefined) this.recorded.push({ op: o, status: 0, body, kind: 'request' });
        },
      };
      await this.route(ctx);
    } catch (err) {
      if (err instanceof ArmError) return this.fail(res, op, err);
      throw err;
    }
  }

  private authenticate(header: string | undefined): void {
    const login = (this.opts.authorityHost ?? CLOUDS[this.opts.cloud].login).replace(/\/+$/, '');
    const challenge = (description: string) =>
      `Bearer authorization_uri="${login}/${this.opts.tenantId}", error="invalid_token", error_description="${description}"`;
    if (!header) {
      throw new ArmError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is missing.",
        {
          headers: {
            'www-authenticate': challenge(
              "The authentication failed because of missing 'Authorization' header.",
            ),
          },
        },
      );
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m)
      throw new ArmError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        {
          headers: {
            'www-authenticate': challenge("The 'Authorization' header is provided in an invalid format."),
          },
        },
      );
    const verdict = this.opts.acceptToken ? this.opts.acceptToken(m[1]) : m[1] === this.opts.token;
    if (verdict === true) return;
    const t = this.opts.tenantId;
    const [code, message] = {
      expired: [
        'ExpiredAuthenticationToken',
        `The access token expiry UTC time '${new Date().toUTCString()}' is earlier than current UTC time '${new Date().toUTCString()}'.`,
      ],
      audience: [
        'InvalidAuthenticationTokenAudience',
        "The access token has been obtained for wrong audience or resource. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.azure.com/'.",
      ],
      tenant: [
        'InvalidAuthenticationTokenTenant',
        `The access token is from the wrong issuer. It must match the tenant 'https://sts.windows.net/${t}/' associated with this subscription. Please use the authority (URL) '${login}/${t}' to get the token.`,
      ],
      invalid: ['InvalidAuthenticationToken', 'The access token is invalid.'],
    }[verdict === false ? 'invalid' : verdict];
    throw new ArmError(401, code, message, { headers: { 'www-authenticate': challenge(message) } });
  }

  /** Checks api-version against a family's versions: ARM's own wording, or a provider's. */
  private apiVersion(ctx: Ctx, versions: string[], provider?: { type: string; location?: string }): string {
    const v = ctx.query.get('api-version');
    if (v === null || v === '')
      throw new ArmError(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
    if (versions.includes(v)) return v;
    if (provider)
      throw new ArmError(
        400,
        'NoRegisteredProviderFound',
        `No registered resource provider found for location '${provider.location ?? 'global'}' and API version '${v}' for type '${provider.type}'. The supported api-versions are '${versions.join(', ')}'. The supported locations are '${this.regions.map((r) => r.name).join(', ')}'.`,
      );
    throw new ArmError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${v}' is invalid. The supported versions are '${versions.join(',')}'.`,
    );
  }

  // ---- routing ---------------------------------------------------------------------------

  private async route(ctx: Ctx): Promise<void> {
    const { method, path } = ctx;
    const S = '^/subscriptions/[^/]+';
    const RG = `${S}/resourcegroups/([^/]+)`;
    let m: RegExpExecArray | null;
    const is = (verb: string, re: string) => method === verb && (m = new RegExp(re, 'i').exec(path)) !== null;

    if (is('GET', '^/subscriptions$')) return this.listSubscriptions(ctx);
    if (is('GET', `${S}$`)) return this.getSubscription(ctx);
    if (is('GET', `${S}/locations$`)) return this.listLocations(ctx);
    if (is('GET', `${S}/providers$`)) return this.listProviders(ctx);
    if (is('GET', `${S}/providers/([^/]+)$`)) return this.getProvider(ctx, m![1]);
    if (is('POST', `${S}/providers/([^/]+)/register$`)) return this.registerProvider(ctx, m![1]);
    if (is('GET', `${S}/providers/(Microsoft\\.(?:Compute|Network))/locations/([^/]+)/operations/([^/]+)$`))
      return this.pollAsync(ctx, m![1], m![3]);
    if (
      is(
        'GET',
        `${S}/providers/(Microsoft\\.(?:Compute|Network))/locations/([^/]+)/operationResults/([^/]+)$`,
      )
    )
      return this.pollLocation(ctx, m![1], m![3]);
    if (is('GET', `${S}/operationresults/([^/]+)$`))
      return this.pollLocation(ctx, 'Microsoft.Resources', m![1]);
    if (is('GET', `${S}/providers/Microsoft\\.Compute/locations/([^/]+)/vmSizes$`))
      return this.listSizes(ctx, m![1]);
    if (
      is(
        'GET',
        `${S}/providers/Microsoft\\.Compute/locations/([^/]+)/publishers/([^/]+)/artifacttypes/vmimage/offers/([^/]+)/skus/([^/]+)/versions(?:/([^/]+))?$`,
      )
    )
      return this.imageVersions(ctx, m![1], m![2], m![3], m![4], m![5]);
    if (is('GET', `${S}/resourcegroups$`)) return this.listGroups(ctx);
    if ((m = new RegExp(`${RG}$`, 'i').exec(path))) return this.group(ctx, m[1]);
    if (is('GET', `${RG}/resources$`)) return this.listGroupResources(ctx, m![1]);

    // Resources of the modelled types, by subscription, by group, one, and their children.
    if (is('GET', `${S}/providers/([^/]+)/([^/]+)$`))
      return this.listAll(ctx, this.kindOf(ctx, m![1], m![2]));
    if (is('GET', `${RG}/providers/([^/]+)/([^/]+)$`))
      return this.listInGroup(ctx, m![1], this.kindOf(ctx, m![2], m![3]));
    if ((m = new RegExp(`${RG}/providers/([^/]+)/([^/]+)/([^/]+)$`, 'i').exec(path))) {
      const info = this.kindOf(ctx, m[2], m[3]);
      return this.resource(ctx, info, m[1], m[4]);
    }
    if ((m = new RegExp(`${RG}/providers/([^/]+)/([^/]+)/([^/]+)/([^/]+)(?:/([^/]+))?$`, 'i').exec(path))) {
      const info = this.kindOf(ctx, m[2], m[3]);
      return this.child(ctx, info, m[1], m[4], m[5], m[6]);
    }
    throw new ArmError(404, 'NotFound', `The requested path '${path}' is not served by this endpoint.`);
  }

  private kindOf(ctx: Ctx, ns: string, type: string): KindInfo {
    const info = KINDS[`${ns}/${type}`.toLowerCase()];
    if (info) return info;
    const v = ctx.query.get('api-version') ?? '';
    throw new ArmError(
      400,
      'InvalidResourceType',
      `The resource type '${type}' could not be found in the namespace '${ns}' for api version '${v}'.`,
    );
  }

  // ---- subscription, locations, providers --------------------------------------------------

  private listSubscriptions(ctx: Ctx): void {
    ctx.setOp('Subscriptions_List');
    this.apiVersion(ctx, API_VERSIONS.subscriptions);
    this.send(ctx.res, 'Subscriptions_List', 200, {
      value: [subscriptionBody(this.opts)],
      count: { type: 'Total', value: 1 },
    });
  }

  private getSubscription(ctx: Ctx): void {
    ctx.setOp('Subscriptions_Get');
    this.apiVersion(ctx, API_VERSIONS.subscriptions);
    this.send(ctx.res, 'Subscriptions_Get', 200, subscriptionBody(this.opts));
  }

  private listLocations(ctx: Ctx): void {
    ctx.setOp('Subscriptions_ListLocations');
    this.apiVersion(ctx, API_VERSIONS.subscriptions);
    this.send(ctx.res, 'Subscriptions_ListLocations', 200, {
      value: this.regions.map((r) => locationBody(this.opts.subscriptionId, r)),
    });
  }

  private providerBody(ns: string): Obj {
    const name = Object.keys(PROVIDERS).find((p) => same(p, ns))!;
    const state = this.providers.get(name.toLowerCase())!.state;
    return providerBody(this.opts.subscriptionId, this.regions, name, PROVIDERS[name], state);
  }

  /** A provider being registered becomes Registered after some reads of it. */
  private tickProvider(ns: string): void {
    const p = this.providers.get(ns.toLowerCase());
    if (p?.state === 'Registering' && ++p.polls >= this.opts.registerPolls) p.state = 'Registered';
  }

  private listProviders(ctx: Ctx): void {
    ctx.setOp('Providers_List');
    this.apiVersion(ctx, API_VERSIONS.resources);
    for (const ns of Object.keys(PROVIDERS)) this.tickProvider(ns);
    this.page(
      ctx,
      'Providers_List',
      Object.keys(PROVIDERS).map((ns) => this.providerBody(ns)),
    );
  }

  private knownProvider(ns: string): string {
    const name = Object.keys(PROVIDERS).find((p) => p.toLowerCase() === ns.toLowerCase());
    if (!name)
      throw new ArmError(404, 'InvalidResourceNamespace', `The resource namespace '${ns}' is invalid.`);
    return name;
  }

  private getProvider(ctx: Ctx, ns: string): void {
    ctx.setOp('Providers_Get');
    this.apiVersion(ctx, API_VERSIONS.resources);
    const name = this.knownProvider(ns);
    this.tickProvider(name);
    this.send(ctx.res, 'Providers_Get', 200, this.providerBody(name));
  }

  private registerProvider(ctx: Ctx, ns: string): void {
    ctx.setOp('Providers_Register');
    this.apiVersion(ctx, API_VERSIONS.resources);
    const name = this.knownProvider(ns);
    const p = this.providers.get(name.toLowerCase())!;
    if (p.state !== 'Registered') {
      p.state = 'Registering';
      p.polls = 0;
    }
    this.send(ctx.res, 'Providers_Register', 200, this.providerBody(name));
  }

  private requireRegistered(ns: string): void {
    const p = this.providers.get(ns.toLowerCase());
    if (p && p.state !== 'Registered') {
      const message = `The subscription is not registered to use namespace '${ns}'. See https://aka.ms/rps-not-found for how to register subscriptions.`;
      throw new ArmError(409, 'MissingSubscriptionRegistration', message, {
        details: [{ code: 'MissingSubscriptionRegistration', target: ns, message }],
      });
    }
  }

  private region(ctx: Ctx, location: string, type: string): Region {
    const r = this.regions.find((x) => x.name.toLowerCase() === location.toLowerCase());
    if (!r) {
      throw new ArmError(
        400,
        'NoRegisteredProviderFound',
        `No registered resource provider found for location '${location}' and API version '${ctx.query.get('api-version')}' for type '${type}'. The supported api-versions are '${API_VERSIONS.compute.join(', ')}'. The supported locations are '${this.regions.map((x) => x.name).join(', ')}'.`,
      );
    }
    return r;
  }

  private listSizes(ctx: Ctx, location: string): void {
    ctx.setOp('VirtualMachineSizes_List');
    this.apiVersion(ctx, API_VERSIONS.compute, { type: 'locations/vmSizes', location });
    const r = this.region(ctx, location, 'locations/vmSizes');
    this.send(ctx.res, 'VirtualMachineSizes_List', 200, {
      value: VM_SIZES.filter((s) => !s.only || s.only.includes(r.name)).map(sizeBody),
    });
  }

  private imageVersions(
    ctx: Ctx,
    location: string,
    publisher: string,
    offer: string,
    sku: string,
    version?: string,
  ): void {
    const op = version ? 'VirtualMachineImages_Get' : 'VirtualMachineImages_List';
    ctx.setOp(op);
    this.apiVersion(ctx, API_VERSIONS.compute, { type: 'locations/publishers/artifacttypes', location });
    const r = this.region(ctx, location, 'locations/publishers/artifacttypes');
    const img = findImage(publisher, offer, sku);
    const notFound = new ArmError(404, 'NotFound', 'Artifact: VMImage was not found.');
    if (!img) throw notFound;
    const sub = this.opts.subscriptionId;
    if (version) {
      const v = img.versions.find((x) => x === version);
      if (!v) throw notFound;
      this.send(ctx.res, op, 200, imageBody(sub, r.name, img, v, true));
      return;
    }
    let list = img.versions.map((v) => imageBody(sub, r.name, img, v, false));
    if (/name\s+desc/i.test(ctx.query.get('$orderby') ?? '')) list = list.reverse();
    const top = Number(ctx.query.get('$top') ?? 0);
    if (top > 0) list = list.slice(0, top);
    this.send(ctx.res, op, 200, list);
  }

  // ---- lists -----------------------------------------------------------------------------

  /** A page of `items` from $skiptoken, and a nextLink to the rest. */
  private page(ctx: Ctx, op: string, items: unknown[]): void {
    const skip = Math.max(0, Number(ctx.query.get('$skiptoken') ?? 0) || 0);
    const size = Math.max(1, this.opts.maxPageSize);
    const body: Obj = { value: items.slice(skip, skip + size) };
    if (skip + size < items.length) {
      const next = new URL(ctx.path, this.url);
      next.searchParams.set('api-version', ctx.query.get('api-version') ?? '');
      next.searchParams.set('$skiptoken', String(skip + size));
      body.nextLink = next.href;
    }
    this.send(ctx.res, op, 200, body);
  }

  private listGroups(ctx: Ctx): void {
    ctx.setOp('ResourceGroups_List');
    this.apiVersion(ctx, API_VERSIONS.resources);
    const all = [...this.groups.values()].sort((a, b) => a.seq - b.seq).map((g) => this.groupBody(g));
    this.page(ctx, 'ResourceGroups_List', all);
  }

  private listGroupResources(ctx: Ctx, rg: string): void {
    ctx.setOp('Resources_ListByResourceGroup');
    this.apiVersion(ctx, API_VERSIONS.resources);
    const g = this.needGroup(rg);
    const all = [...this.items.values()]
      .filter((r) => r.rg === g.name.toLowerCase())
      .sort((a, b) => a.seq - b.seq)
      .map((r) => {
        const o: Obj = { id: r.id, name: r.name, type: r.info.type, location: r.location };
        if (r.tags) o.tags = r.tags;
        return o;
      });
    this.page(ctx, 'Resources_ListByResourceGroup', all);
  }

  private listAll(ctx: Ctx, info: KindInfo): void {
    const special: Record<string, string> = { as: 'AvailabilitySets_ListBySubscription', disk: 'Disks_List' };
    const op = special[info.kind] ?? `${info.ops}_ListAll`;
    ctx.setOp(op);
    this.apiVersion(ctx, info.versions, { type: info.type.split('/')[1] });
    const all = [...this.items.values()].filter((r) => r.kind === info.kind).sort((a, b) => a.seq - b.seq);
    this.page(
      ctx,
      op,
      all.map((r) => render(this.world, r)),
    );
  }

  private listInGroup(ctx: Ctx, rg: string, info: KindInfo): void {
    const op = info.kind === 'disk' ? 'Disks_ListByResourceGroup' : `${info.ops}_List`;
    ctx.setOp(op);
    this.apiVersion(ctx, info.versions, { type: info.type.split('/')[1] });
    const g = this.needGroup(rg);
    const all = [...this.items.values()]
      .filter((r) => r.kind === info.kind && r.rg === g.name.toLowerCase())
      .sort((a, b) => a.seq - b.seq);
    this.page(
      ctx,
      op,
      all.map((r) => render(this.world, r)),
    );
  }

  // ---- resource groups -------------------------------------------------------------------

  private groupBody(g: Group): Obj {
    const o: Obj = {
      id: g.id,
      name: g.name,
      type: 'Microsoft.Resources/resourceGroups',
      location: g.location,
      properties: { provisioningState: g.state },
    };
    if (g.tags) o.tags = g.tags;
    return o;
  }

  private needGroup(rg: string): Group {
    const g = this.groups.get(rg.toLowerCase());
    if (!g) throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
    return g;
  }

  /** The group a write goes into: present and not being deleted. */
  private writableGroup(rg: string): Group {
    const g = this.needGroup(rg);
    if (g.state === 'Deleting')
      throw new ArmError(
        409,
        'ResourceGroupBeingDeleted',
        `The resource group '${g.name}' is in deprovisioning state and cannot perform this operation.`,
      );
    return g;
  }

  private async group(ctx: Ctx, rg: string): Promise<void> {
    const ops: Record<string, string> = {
      GET: 'ResourceGroups_Get',
      HEAD: 'ResourceGroups_CheckExistence',
      PUT: 'ResourceGroups_CreateOrUpdate',
      DELETE: 'ResourceGroups_Delete',
      PATCH: 'ResourceGroups_Update',
    };
    const op = ops[ctx.method];
    if (!op) throw new ArmError(405, 'MethodNotAllowed', `The method '${ctx.method}' is not allowed here.`);
    ctx.setOp(op);
    const v = this.apiVersion(ctx, API_VERSIONS.resources);
    const g = this.groups.get(rg.toLowerCase());
    if (ctx.method === 'HEAD') return this.send(ctx.res, op, g ? 204 : 404);
    if (ctx.method === 'GET') {
      if (g?.op) await this.advance(g.op);
      return this.send(ctx.res, op, 200, this.groupBody(this.needGroup(rg)));
    }
    if (ctx.method === 'PATCH') {
      const found = this.writableGroup(rg);
      if (ctx.body?.tags) found.tags = ctx.body.tags as Record<string, string>;
      return this.send(ctx.res, op, 200, this.groupBody(found));
    }
    if (ctx.method === 'DELETE') {
      const found = this.needGroup(rg);
      if (found.state !== 'Deleting') {
        found.state = 'Deleting';
        found.op = this.newOp('Microsoft.Resources', found.location, found.id, 'groupDelete', v);
      }
      const loc = `${this.url}/subscriptions/${this.opts.subscriptionId}/operationresults/${found.op!.id}?api-version=${v}`;
      return this.send(ctx.res, op, 202, undefined, {
        location: loc,
        'retry-after': String(this.opts.retryAfter),
      });
    }
    // PUT
    if (!RG_NAME.test(rg) || rg.endsWith('.'))
      throw new ArmError(
        400,
        'InvalidResourceGroupName',
        `The resource group name '${rg}' is invalid: up to 90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a period.`,
      );
    const location = this.requireLocation(ctx.body);
    const region = this.regions.find((r) => r.name === location.toLowerCase().replace(/\s+/g, ''));
    if (!region)
      throw new ArmError(
        400,
        'LocationNotAvailableForResourceType',
        `The provided location '${location}' is not available for resource type 'Microsoft.Resources/resourceGroups'. List of available regions for the resource type is '${this.regions.map((r) => r.name).join(',')}'.`,
      );
    if (g) {
      if (g.state === 'Deleting') this.writableGroup(rg);
      if (g.location !== region.name)
        throw new ArmError(
          409,
          'InvalidResourceGroupLocation',
          `Invalid resource group location '${location}'. The Resource group already exists in location '${g.location}'.`,
        );
      if (ctx.body?.tags) g.tags = ctx.body.tags as Record<string, string>;
      return this.send(ctx.res, op, 200, this.groupBody(g));
    }
    const created: Group = {
      id: `/subscriptions/${this.opts.subscriptionId}/resourceGroups/${rg}`,
      name: rg,
      location: region.name,
      state: 'Succeeded',
      seq: this.seq++,
    };
    if (ctx.body?.tags) created.tags = ctx.body.tags as Record<string, string>;
    this.groups.set(rg.toLowerCase(), created);
    this.emit('created', { type: 'Microsoft.Resources/resourceGroups', id: created.id, name: rg });
    await this.hold();
    this.send(ctx.res, op, 201, this.groupBody(created));
  }

  private requireLocation(body: Obj | undefined): string {
    const location = body?.location;
    if (typeof location !== 'string' || location === '')
      throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
    return location;
  }

  private async hold(): Promise<void> {
    if (this.opts.holdPutMs > 0) await new Promise((r) => setTimeout(r, this.opts.holdPutMs));
  }

  // ---- long-running operations -----------------------------------------------------------

  private newOp(ns: string, location: string, target: string, what: OpWhat, apiVersion: string): Op {
    const op: Op = {
      id: randomUUID(),
      ns,
      location,
      target: target.toLowerCase(),
      what,
      polls: 0,
      status: 'InProgress',
      started: new Date().toISOString(),
      apiVersion,
    };
    this.ops.set(op.id, op);
    return op;
  }

  /**
   * A resource's new operation. One still running on it is preempted, as Compute does when a
   * second PUT or a DELETE arrives: it ends Canceled (Network refuses such requests instead).
   */
  private startOp(r: Res, what: OpWhat, apiVersion: string): Op {
    const old = r.op;
    if (old?.status === 'InProgress') {
      old.status = 'Canceled';
      old.error = {
        code: 'OperationPreempted',
        message: 'Operation execution has been preempted by a more recent operation.',
      };
      old.httpStatus = 409;
      old.ended = new Date().toISOString();
    }
    r.op = this.newOp(r.info.ns, r.location, r.id, what, apiVersion);
    return r.op;
  }

  private lroHeaders(op: Op, location: boolean): Record<string, string> {
    const base = `${this.url}/subscriptions/${this.opts.subscriptionId}/providers/${op.ns}/locations/${op.location}`;
    const h: Record<string, string> = {
      'azure-asyncoperation': `${base}/operations/${op.id}?api-version=${op.apiVersion}`,
      'retry-after': String(this.opts.retryAfter),
    };
    if (location) h.location = `${base}/operationResults/${op.id}?api-version=${op.apiVersion}`;
    return h;
  }

  /** One look at an operation: it finishes after `lroPolls` of them. */
  /** Ends the operations that have run longer than lroMaxMs, polled or not. */
  private async overdue(): Promise<void> {
    const now = Date.now();
    for (const op of this.ops.values()) {
      if (op.status !== 'InProgress' || now - Date.parse(op.started) < this.opts.lroMaxMs) continue;
      op.polls = this.opts.lroPolls;
      await this.advance(op);
    }
  }

  private async advance(op: Op): Promise<void> {
    if (op.status !== 'InProgress') return;
    if (op.finishing) return op.finishing;
    op.polls++;
    if (op.polls <= this.opts.lroPolls) return;
    op.finishing = this.finish(op);
    await op.finishing;
  }

  private async finish(op: Op): Promise<void> {
    const found = this.items.get(op.target);
    // An operation only acts on a resource it is still the operation of.
    const r = found?.op === op ? found : undefined;
    const i = this.opFailures.findIndex((f) => f.target.test(op.target) && (!f.what || f.what === op.what));
    if (i >= 0) {
      const [f] = this.opFailures.splice(i, 1);
      op.error = { code: f.code, message: f.message };
      op.httpStatus = f.httpStatus;
      if (r) {
        r.op = undefined;
        if (op.what === 'create' || op.what === 'update') r.state = 'Failed';
        else if (op.what === 'delete') r.state = 'Succeeded';
        if (r.kind === 'vm') {
          const d = r.data as VmData;
          if (['starting', 'stopping', 'deallocating'].includes(d.power))
            d.power = { starting: 'stopped', stopping: 'running', deallocating: 'running' }[d.power]!;
        }
      }
      const g = this.groups.get(op.target.split('/')[4] ?? '');
      if (op.what === 'groupDelete' && g) {
        g.state = 'Succeeded';
        g.op = undefined;
      }
      op.status = f.status;
      op.ended = new Date().toISOString();
      return;
    }
    if (op.what === 'groupDelete') {
      const name = op.target.split('/')[4];
      for (const res of [...this.items.values()].filter((x) => x.rg === name).sort((a, b) => b.seq - a.seq))
        await this.remove(res);
      this.groups.delete(name);
    } else if (r) {
      r.op = undefined;
      await this.complete(r, op);
    }
    op.status = 'Succeeded';
    op.ended = new Date().toISOString();
  }

  /** An operation's effect on its resource. */
  private async complete(r: Res, op: Op): Promise<void> {
    if (op.what === 'delete') return this.remove(r);
    if (op.what === 'create' || op.what === 'update') {
      r.state = 'Succeeded';
      if (r.kind === 'vnet') for (const s of (r.data as VnetData).subnets) s.state = 'Succeeded';
      if (r.kind === 'pip') {
        const d = r.data as PipData;
        if (d.method === 'Static' && !d.ip) d.ip = this.publicAddress();
      }
      if (r.kind === 'vm' && op.what === 'create') {
        (r.data as VmData).power = 'running';
        this.attachAddresses(r);
      }
      return;
    }
    const d = r.data as VmData;
    const name = r.name;
    if (op.what === 'start') {
      d.power = 'running';
      this.attachAddresses(r);
      await this.opts.onPower?.(name, true);
    } else if (op.what === 'powerOff') {
      d.power = 'stopped';
      await this.opts.onPower?.(name, false);
    } else if (op.what === 'deallocate') {
      d.power = 'deallocated';
      this.releaseDynamic(r);
      await this.opts.onPower?.(name, false);
    } else if (op.what === 'restart') {
      d.power = 'running';
      await this.opts.onPower?.(name, false);
      await this.opts.onPower?.(name, true);
    }
  }

  /** Takes a resource away with what goes with it (a VM's disk and NICs as their deleteOption says). */
  private async remove(r: Res): Promise<void> {
    if (!this.items.has(r.id.toLowerCase())) return;
    this.items.delete(r.id.toLowerCase());
    if (r.kind !== 'vm') return;
    const d = r.data as VmData;
    this.releaseDynamic(r);
    const disk = this.items.get(d.disk.toLowerCase());
    if (disk) {
      const dd = disk.data as DiskData;
      if (dd.deleteOption === 'Delete') this.items.delete(d.disk.toLowerCase());
      else dd.managedBy = undefined;
    }
    for (const n of d.nics) {
      const nic = this.items.get(n.id.toLowerCase());
      if (!nic) continue;
      (nic.data as NicData).mac = undefined;
      if (n.deleteOption === 'Delete') this.items.delete(n.id.toLowerCase());
    }
    if (d.power === 'running' || d.power === 'starting' || d.power === 'stopping')
      await this.opts.onPower?.(r.name, false);
  }

  /** A running VM's NICs: dynamic public IPs get their address, and the NICs a MAC. */
  private attachAddresses(vm: Res): void {
    for (const n of (vm.data as VmData).nics) {
      const nic = this.items.get(n.id.toLowerCase());
      if (!nic) continue;
      const nd = nic.data as NicData;
      nd.mac ??= randomBytes(3)
        .toString('hex')
        .toUpperCase()
        .replace(/(..)(..)(..)/, '00-0D-3A-$1-$2-$3');
      for (const c of nd.ipconfigs) {
        const pip = c.pip ? this.items.get(c.pip.toLowerCase()) : undefined;
        if (pip && !(pip.data as PipData).ip) (pip.data as PipData).ip = this.publicAddress();
      }
    }
  }

  /** Deallocation gives dynamic public addresses back. */
  private releaseDynamic(vm: Res): void {
    for (const n of (vm.data as VmData).nics) {
      const nic = this.items.get(n.id.toLowerCase());
      for (const c of nic ? (nic.data as NicData).ipconfigs : []) {
        const pip = c.pip ? this.items.get(c.pip.toLowerCase()) : undefined;
        if (pip && (pip.data as PipData).method === 'Dynamic') (pip.data as PipData).ip = undefined;
      }
    }
  }

  private publicAddress(): string {
    const list = this.opts.publicAddresses;
    const n = this.nextPublic++;
    return list.length ? list[n % list.length] : `192.0.2.${10 + (n % 90)}`;
  }

  private privateAddress(): string {
    const list = this.opts.privateAddresses;
    const n = this.nextPrivate++;
    return list.length ? list[n % list.length] : `192.0.2.${100 + (n % 150)}`;
  }

  /** An operation's URL carries the api-version of the request that started it. */
  private pollVersions(ns: string): string[] {
    if (same(ns, 'Microsoft.Resources')) return API_VERSIONS.resources;
    if (same(ns, 'Microsoft.Network')) return API_VERSIONS.network;
    return [...API_VERSIONS.compute, ...API_VERSIONS.disks];
  }

  private async pollAsync(ctx: Ctx, ns: string, id: string): Promise<void> {
    ctx.setOp('AsyncOperation');
    const op = this.ops.get(id);
    this.apiVersion(ctx, this.pollVersions(ns));
    if (!op) throw new ArmError(404, 'NotFound', `The operation '${id}' could not be found.`);
    await this.advance(op);
    const body: Obj = { name: op.id, status: op.status, startTime: op.started };
    if (op.ended) body.endTime = op.ended;
    if (op.error) body.error = op.error;
    const h: Record<string, string> =
      op.status === 'InProgress' ? { 'retry-after': String(this.opts.retryAfter) } : {};
    this.send(ctx.res, 'AsyncOperation', 200, body, h);
  }

  private async pollLocation(ctx: Ctx, ns: string, id: string): Promise<void> {
    ctx.setOp('LocationPoll');
    this.apiVersion(ctx, this.pollVersions(ns));
    const op = this.ops.get(id);
    if (!op) throw new ArmError(404, 'NotFound', `The operation '${id}' could not be found.`);
    await this.advance(op);
    if (op.status === 'InProgress')
      return this.send(ctx.res, 'LocationPoll', 202, undefined, {
        location: `${this.url}${ctx.path}?api-version=${ctx.query.get('api-version')}`,
        'retry-after': String(this.opts.retryAfter),
      });
    if (op.error) throw new ArmError(op.httpStatus ?? 500, op.error.code, op.error.message);
    this.send(ctx.res, 'LocationPoll', op.what === 'delete' ? 204 : 200);
  }

  // ---- one resource ----------------------------------------------------------------------

  private async resource(ctx: Ctx, info: KindInfo, rg: string, name: string): Promise<void> {
    const verbs: Record<string, string> = {
      GET: 'Get',
      PUT: 'CreateOrUpdate',
      DELETE: 'Delete',
      PATCH: 'UpdateTags',
    };
    const verb = verbs[ctx.method];
    if (!verb) throw new ArmError(405, 'MethodNotAllowed', `The method '${ctx.method}' is not allowed here.`);
    const op = `${info.ops}_${info.ns === 'Microsoft.Compute' && verb === 'UpdateTags' ? 'Update' : verb}`;
    ctx.setOp(op);
    const v = this.apiVersion(ctx, info.versions, { type: info.type.split('/')[1] });
    const key = this.resourceId(rg, info.type, name).toLowerCase();
    const r = this.items.get(key);
    if (ctx.method === 'GET') {
      this.needGroup(rg);
      if (!r) throw this.notFound(info, rg, name);
      if (r.op) await this.advance(r.op);
      if (!this.items.has(key)) throw this.notFound(info, rg, name);
      const expand = ctx.query.get('$expand');
      return this.send(ctx.res, op, 200, render(this.world, r, expand?.toLowerCase() === 'instanceview'));
    }
    if (ctx.method === 'DELETE') {
      this.needGroup(rg);
      if (!r) return this.send(ctx.res, op, 204);
      return this.deleteResource(ctx, op, r, v);
    }
    if (ctx.method === 'PATCH') {
      this.writableGroup(rg);
      if (!r) throw this.notFound(info, rg, name);
      if (ctx.body?.tags) r.tags = ctx.body.tags as Record<string, string>;
      return this.send(ctx.res, op, 200, render(this.world, r));
    }
    await this.put(ctx, op, info, rg, name, r, v);
  }

  private notFound(info: KindInfo, rg: string, name: string): ArmError {
    return new ArmError(
      404,
      'ResourceNotFound',
      `The Resource '${info.type}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  }

  private async deleteResource(ctx: Ctx, op: string, r: Res, v: string): Promise<void> {
    if (r.op?.what === 'delete') return this.send(ctx.res, op, 202, undefined, this.lroHeaders(r.op, true));
    checkDeletable(this.world, r);
    if (r.kind === 'as') {
      this.items.delete(r.id.toLowerCase());
      return this.send(ctx.res, op, 200);
    }
    if (r.op && r.info.ns === 'Microsoft.Network') throw this.busy(r, 'Delete');
    r.state = 'Deleting';
    const started = this.startOp(r, 'delete', v);
    if (r.kind === 'vm') {
      const d = r.data as VmData;
      if (d.power === 'running') d.power = 'stopping';
    }
    this.send(ctx.res, op, 202, undefined, this.lroHeaders(started, true));
  }

  private busy(r: Res, what: string): ArmError {
    return new ArmError(
      409,
      'AnotherOperationInProgress',
      `Operation ${what}${r.info.type.split('/')[1]} on resource ${r.id} could not be performed: another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: ${this.lroHeaders(r.op!, false)['azure-asyncoperation']}.`,
    );
  }

  private async put(
    ctx: Ctx,
    op: string,
    info: KindInfo,
    rg: string,
    name: string,
    existing: Res | undefined,
    v: string,
  ): Promise<void> {
    const g = this.writableGroup(rg);
    this.requireRegistered(info.ns);
    if (!RESOURCE_NAME.test(name) || name.endsWith('.'))
      throw new ArmError(
        400,
        'InvalidResourceName',
        `Resource name ${name} is invalid. The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.`,
      );
    const body = ctx.body ?? {};
    const location = this.requireLocation(body).toLowerCase().replace(/\s+/g, '');
    const region = this.regions.find((r) => r.name === location);
    if (!region)
      throw new ArmError(
        400,
        'LocationNotAvailableForResourceType',
        `The provided location '${body.location}' is not available for resource type '${info.type}'. List of available regions for the resource type is '${this.regions.map((r) => r.name).join(',')}'.`,
      );
    if (existing) {
      if (existing.location !== region.name)
        throw new ArmError(
          400,
          'InvalidResourceLocation',
          `The resource '${name}' already exists in location '${existing.location}' in resource group '${g.name}'. A resource with the same name cannot be created in location '${region.name}'. Please select a new resource name.`,
        );
      if (existing.state === 'Deleting' || existing.op?.what === 'delete') throw this.busy(existing, 'Put');
      if (existing.op && info.ns === 'Microsoft.Network') throw this.busy(existing, 'Put');
    }
    if (info.ns === 'Microsoft.Network') this.checkEtag(ctx, existing);
    const id =
      existing?.id ??
      `/subscriptions/${this.opts.subscriptionId}/resourceGroups/${g.name}/providers/${info.type}/${name}`;
    const r: Res = existing ?? {
      kind: info.kind,
      info,
      id,
      name,
      rg: g.name.toLowerCase(),
      location: region.name,
      state: info.creating,
      etag: '',
      guid: randomUUID(),
      seq: this.seq++,
      data: {},
    };
    const tags = body.tags as Record<string, string> | undefined;
    // Each kind checks the whole body before anything changes: a refused PUT leaves no trace.
    let commit: () => void;
    switch (info.kind) {
      case 'vnet':
        commit = prepareVnet(this.world, body, r, existing);
        break;
      case 'nsg':
        commit = prepareNsg(body, r);
        break;
      case 'pip':
        commit = preparePip(this.world, body, r, region, existing);
        break;
      case 'nic':
        commit = prepareNic(this.world, body, r, existing);
        break;
      case 'as':
        commit = prepareAs(body, r, region);
        break;
      case 'vm':
        commit = prepareVm(this.world, body, r, region, existing);
        break;
      default:
        throw new ArmError(
          405,
          'OperationNotAllowed',
          `Resources of type '${info.type}' are made by the resources that use them.`,
        );
    }
    commit();
    r.tags = tags;
    r.etag = `W/"${randomUUID()}"`;
    if (info.kind === 'as') {
      // Availability sets are written at once: no long-running operation.
      r.state = 'Succeeded';
      this.items.set(id.toLowerCase(), r);
      if (!existing) this.emit('created', { type: info.type, id, name });
      if (!existing) await this.hold();
      return this.send(ctx.res, op, 200, render(this.world, r));
    }
    r.state = existing ? 'Updating' : info.creating;
    const started = this.startOp(r, existing ? 'update' : 'create', v);
    this.items.set(id.toLowerCase(), r);
    if (!existing) {
      if (r.kind === 'vm') await this.vmMade(r);
      this.emit('created', { type: info.type, id, name });
      await this.hold();
    }
    this.send(ctx.res, op, existing ? 200 : 201, render(this.world, r), this.lroHeaders(started, false));
  }

  private checkEtag(ctx: Ctx, existing: Res | undefined): void {
    const ifMatch = ctx.headers['if-match'];
    const ifNone = ctx.headers['if-none-match'];
    if (typeof ifMatch === 'string' && ifMatch !== '*' && ifMatch !== existing?.etag)
      throw new ArmError(412, 'PreconditionFailed', 'Precondition failed.');
    if (ifNone === '*' && existing) throw new ArmError(412, 'PreconditionFailed', 'Precondition failed.');
  }

  /** The VM is committed: the test's host learns its keys, as cloud-init would install them. */
  private async vmMade(r: Res): Promise<void> {
    const d = r.data as VmData;
    await this.opts.onCreate?.(
      r.name,
      d.keys.map((k) => k.keyData),
      d.customData as string | undefined,
    );
  }

  // ---- children: subnets, VM actions, instance view --------------------------------------

  private async child(
    ctx: Ctx,
    info: KindInfo,
    rg: string,
    name: string,
    sub: string,
    subName: string | undefined,
  ): Promise<void> {
    const parentKey = this.resourceId(rg, info.type, name).toLowerCase();
    if (info.kind === 'vm' && subName === undefined) {
      const action = ['start', 'powerOff', 'restart', 'deallocate'].find(
        (a) => a.toLowerCase() === sub.toLowerCase(),
      );
      if (ctx.method === 'POST' && action) return this.vmAction(ctx, rg, name, parentKey, action as OpWhat);
      if (ctx.method === 'GET' && sub.toLowerCase() === 'instanceview') {
        ctx.setOp('VirtualMachines_InstanceView');
        this.apiVersion(ctx, info.versions, { type: 'virtualMachines' });
        this.needGroup(rg);
        const r = this.items.get(parentKey);
        if (!r) throw this.notFound(info, rg, name);
        if (r.op) await this.advance(r.op);
        return this.send(ctx.res, 'VirtualMachines_InstanceView', 200, instanceView(r));
      }
    }
    if (info.kind === 'nsg' && sub.toLowerCase() === 'securityrules')
      return this.securityRule(ctx, rg, name, parentKey, subName);
    if (info.kind === 'vnet' && sub.toLowerCase() === 'subnets')
      return this.subnet(ctx, rg, name, parentKey, subName);
    throw new ArmError(404, 'NotFound', `The requested path '${ctx.path}' is not served by this endpoint.`);
  }

  private async vmAction(ctx: Ctx, rg: string, name: string, key: string, action: OpWhat): Promise<void> {
    const op = `VirtualMachines_${action[0].toUpperCase()}${action.slice(1)}`;
    ctx.setOp(op);
    const v = this.apiVersion(ctx, API_VERSIONS.compute, { type: 'virtualMachines' });
    this.needGroup(rg);
    const r = this.items.get(key);
    if (!r) throw this.notFound(KINDS['microsoft.compute/virtualmachines'], rg, name);
    const d = r.data as VmData;
    const notAllowed = (why: string) =>
      new ArmError(
        409,
        'OperationNotAllowed',
        `Operation '${action}' is not allowed on VM '${r.name}' since ${why}.`,
      );
    if (r.op) {
      if (r.op.what === 'delete') throw notAllowed('the VM is being deleted');
      throw notAllowed(`another operation ('${r.op.what}') is in progress on it`);
    }
    if (action === 'powerOff' && d.power === 'deallocated')
      throw notAllowed('the VM is deallocated or marked to be deallocated');
    if (action === 'restart' && d.power !== 'running') throw notAllowed('the VM is not running');
    if (action === 'start' && d.power === 'deallocated')
      checkQuota(
        this.world,
        this.regions.find((x) => x.name === r.location)!,
        VM_SIZES.find((s) => s.name === d.size)?.cores ?? 0,
      );
    const transitional: Record<string, string> = {
      start: 'starting',
      powerOff: 'stopping',
      restart: 'starting',
      deallocate: 'deallocating',
    };
    d.power = transitional[action];
    const started = this.startOp(r, action, v);
    this.send(ctx.res, op, 202, undefined, this.lroHeaders(started, true));
  }

  private async subnet(
    ctx: Ctx,
    rg: string,
    vnetName: string,
    vnetKey: string,
    name: string | undefined,
  ): Promise<void> {
    const verbs: Record<string, string> = { GET: 'Get', PUT: 'CreateOrUpdate', DELETE: 'Delete' };
    const op = name === undefined ? 'Subnets_List' : `Subnets_${verbs[ctx.method] ?? ''}`;
    if (name === undefined ? ctx.method !== 'GET' : !verbs[ctx.method])
      throw new ArmError(405, 'MethodNotAllowed', `The method '${ctx.method}' is not allowed here.`);
    ctx.setOp(op);
    const v = this.apiVersion(ctx, API_VERSIONS.network, { type: 'virtualNetworks/subnets' });
    this.needGroup(rg);
    const vnet = this.items.get(vnetKey);
    if (!vnet) throw this.notFound(KINDS['microsoft.network/virtualnetworks'], rg, vnetName);
    if (ctx.method === 'GET' && vnet.op) await this.advance(vnet.op);
    const d = vnet.data as VnetData;
    if (name === undefined)
      return this.page(
        ctx,
        op,
        d.subnets.map((s) => subnetBody(this.world, vnet, s)),
      );
    const s = d.subnets.find((x) => same(x.name, name));
    if (ctx.method === 'GET') {
      if (!s) throw new ArmError(404, 'NotFound', `Resource ${vnet.id}/subnets/${name} not found.`);
      return this.send(ctx.res, op, 200, subnetBody(this.world, vnet, s));
    }
    if (vnet.op) throw this.busy(vnet, ctx.method === 'PUT' ? 'PutSubnet' : 'DeleteSubnet');
    if (ctx.method === 'DELETE') {
      if (!s) return this.send(ctx.res, op, 204);
      subnetFree(this.world, vnet, s);
      vnet.state = 'Updating';
      const started = this.startOp(vnet, 'update', v);
      d.subnets = d.subnets.filter((x) => x !== s);
      return this.send(ctx.res, op, 202, undefined, this.lroHeaders(started, true));
    }
    this.writableGroup(rg);
    const sp = (ctx.body?.properties ?? {}) as Obj;
    const made = checkSubnet(
      this.world,
      vnet,
      name,
      sp,
      d.prefixes.map((p) => parseCidr(p)!),
      d.subnets,
      s,
      vnet.id,
    );
    if (s) Object.assign(s, made);
    else d.subnets.push(made);
    vnet.state = 'Updating';
    const started = this.startOp(vnet, 'update', v);
    if (!s) {
      this.emit('created', {
        type: 'Microsoft.Network/virtualNetworks/subnets',
        id: `${vnet.id}/subnets/${name}`,
        name,
      });
      await this.hold();
    }
    this.send(
      ctx.res,
      op,
      s ? 200 : 201,
      subnetBody(this.world, vnet, s ?? made),
      this.lroHeaders(started, false),
    );
  }

  private async securityRule(
    ctx: Ctx,
    rg: string,
    nsgName: string,
    nsgKey: string,
    name: string | undefined,
  ): Promise<void> {
    const verbs: Record<string, string> = { GET: 'Get', PUT: 'CreateOrUpdate', DELETE: 'Delete' };
    const op = name === undefined ? 'SecurityRules_List' : `SecurityRules_${verbs[ctx.method] ?? ''}`;
    if (name === undefined ? ctx.method !== 'GET' : !verbs[ctx.method])
      throw new ArmError(405, 'MethodNotAllowed', `The method '${ctx.method}' is not allowed here.`);
    ctx.setOp(op);
    const v = this.apiVersion(ctx, API_VERSIONS.network, { type: 'networkSecurityGroups/securityRules' });
    this.needGroup(rg);
    const nsg = this.items.get(nsgKey);
    if (!nsg) throw this.notFound(KINDS['microsoft.network/networksecuritygroups'], rg, nsgName);
    if (ctx.method === 'GET' && nsg.op) await this.advance(nsg.op);
    const d = nsg.data as NsgData;
    if (name === undefined)
      return this.page(
        ctx,
        op,
        d.rules.map((x) => ruleBody(nsg, x)),
      );
    const rule = d.rules.find((x) => same(x.name, name));
    if (ctx.method === 'GET') {
      if (!rule) throw new ArmError(404, 'NotFound', `Resource ${nsg.id}/securityRules/${name} not found.`);
      return this.send(ctx.res, op, 200, ruleBody(nsg, rule));
    }
    if (nsg.op) throw this.busy(nsg, ctx.method === 'PUT' ? 'PutSecurityRule' : 'DeleteSecurityRule');
    if (ctx.method === 'DELETE') {
      if (!rule) return this.send(ctx.res, op, 204);
      d.rules = d.rules.filter((x) => x !== rule);
      nsg.state = 'Updating';
      const started = this.startOp(nsg, 'update', v);
      return this.send(ctx.res, op, 202, undefined, this.lroHeaders(started, true));
    }
    this.writableGroup(rg);
    const others = d.rules.filter((x) => x !== rule).map((x) => ({ name: x.name, properties: x.properties }));
    const made = checkRule(nsg, { name, properties: ctx.body?.properties }, [
      ...others,
      { name, properties: ctx.body?.properties },
    ]);
    if (rule) Object.assign(rule, made);
    else d.rules.push(made);
    nsg.state = 'Updating';
    const started = this.startOp(nsg, 'update', v);
    this.send(ctx.res, op, rule ? 200 : 201, ruleBody(nsg, rule ?? made), this.lroHeaders(started, false));
  }

  // ---- bodies ----------------------------------------------------------------------------
}

interface Ctx {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Obj | undefined;
  headers: IncomingMessage['headers'];
  res: ServerResponse;
  /** Names the operation (its operationId) and records the request body under it. */
  setOp(op: string): void;
}

const tls = new Map<string, Promise<{ cert: Buffer; key: Buffer; caPath: string }>>();

/**
 * The server certificate for 127.0.0.1, signed by the given CA or by one of the fake's own; made
 * once per process and CA (RSA keys take seconds on a busy machine), removed when the process ends.
 */
function serverTLS(ca?: { certPath: string; keyPath: string }) {
  const cacheKey = ca?.certPath ?? '';
  let made = tls.get(cacheKey);
  if (!made) {
    made = (async () => {
      // A run killed with SIGKILL skips onProcessEnd: its folder goes at a later run's start.
      sweepKilledDirs('fake-arm-');
      const dir = await mkdtemp(join(tmpdir(), 'fake-arm-'));
      await writeFile(join(dir, 'owner'), String(process.pid));
      onProcessEnd(() => rmSync(dir, { recursive: true, force: true }));
      if (!ca) {
        await makeTestCA(dir, 'ca');
        ca = { certPath: join(dir, 'ca', 'ca.pem'), keyPath: join(dir, 'ca', 'ca-key.pem') };
      }
      const certPath = join(dir, 'server.pem');
      const keyPath = join(dir, 'server-key.pem');
      await generateServerCert({
        caCertPath: ca.certPath,
        caKeyPath: ca.keyPath,
        certPath,
        keyPath,
        org: 'fake-arm',
        hosts: ['127.0.0.1', 'localhost'],
      });
      const [cert, key] = await Promise.all([readFile(certPath), readFile(keyPath)]);
      return { cert, key, caPath: ca.certPath };
    })();
    tls.set(cacheKey, made);
  }
  return made;
}

/** The api-version the fake answers on a path: the one of its provider's Swagger file. */
export function apiVersionFor(path: string): string {
  if (/\/providers\/[^/]+\/(un)?register$/i.test(path)) return API_VERSIONS.resources[0];
  if (/\/providers\/Microsoft\.Network\//i.test(path)) return API_VERSIONS.network[0];
  if (/\/providers\/Microsoft\.Compute\/disks/i.test(path)) return API_VERSIONS.disks.at(-1)!;
  if (/\/providers\/Microsoft\.Compute\//i.test(path)) return API_VERSIONS.compute[0];
  if (/^\/subscriptions(\/[^/]+(\/locations)?)?$/i.test(path)) return API_VERSIONS.subscriptions.at(-1)!;
  return API_VERSIONS.resources[0];
}

/** Runs validate.py over recorded bodies: problems, [] when every body matches its description. */
export async function validateRecords(records: Recorded[]): Promise<string[]> {
  return JSON.parse(await runValidator([], JSON.stringify(records)));
}

/**
 * The check of the checker: validate.py over the published x-ms-examples of these operations,
 * which real ARM answered. How many bodies it read, and what it found wrong with them.
 */
export async function validateExamples(
  operations: string[],
): Promise<{ checked: number; problems: string[] }> {
  return JSON.parse(await runValidator(['--examples', ...operations], ''));
}

function runValidator(args: string[], input: string): Promise<string> {
  return runPython(join(import.meta.dirname, 'validate.py'), [SPEC_DIR, ...args], input);
}
