import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateServerCert } from '../../../src/cert/server.js';
import { onProcessEnd, sweepKilledDirs } from '../../helpers/cleanup.js';
import { RateWindow } from '../../helpers/fake-api.js';
import { makeTestCA } from '../../helpers/test-ca.js';
import { ApiError, keystoneError, novaError, unauthorized } from './errors.js';
import { auditId, authenticate, newTokenId, tokenBody } from './keystone.js';
import { type Ctx, cinder, glance, type Reply } from './misc.js';
import { neutron, portBody } from './neutron.js';
import { MAX_MICROVERSION, nova } from './nova.js';
import { checkSent } from './shapes.js';
import type {
  AddressRequest,
  AddressSource,
  AppCredentialSpec,
  DomainSpec,
  FlavorSpec,
  FloatingIpState,
  Identity,
  ImageSpec,
  Interface,
  KeypairState,
  Mutation,
  NetworkSpec,
  NetworkState,
  PortState,
  ProjectSpec,
  Quotas,
  RequestRecord,
  SecurityGroupState,
  ServerAction,
  ServerGroupState,
  ServerInfo,
  ServerState,
  ServiceType,
  Token,
  UserSpec,
  VolumeState,
} from './types.js';

export type * from './types.js';

/**
 * A stateful OpenStack on 127.0.0.1 for the openstack driver's tests: Keystone v3 (the only URL a
 * user gives), and behind its catalog Nova 2.1, Neutron v2.0, Glance v2 and Cinder v3, each
 * region and interface (public/internal/admin) at its own loopback path. Written from the
 * OpenStack API references; Nova's and Keystone's bodies are checked against the published
 * samples (shapes.ts). Servers are BUILD for `pollsToActive` GETs, then ACTIVE with their
 * addresses; the addresses come from `addresses`/`floatingAddresses` (the test's own hosts), and
 * with none configured from 192.0.2.0/24 (TEST-NET-1, never dialled). Every request is in
 * `requests`; every mutation emits 'mutation' (and 'created' for a new resource) and then waits
 * for `hold`/`holdMs` before answering: where a test's kill -9 lands.
 */
export interface FakeOpenStackOptions {
  domains?: DomainSpec[];
  users?: UserSpec[];
  projects?: ProjectSpec[];
  applicationCredentials?: AppCredentialSpec[];
  /** Regions in the catalog, each with every service; default RegionOne and RegionTwo. */
  regions?: string[];
  /** Endpoint interfaces in the catalog; default public, internal, admin. */
  interfaces?: Interface[];
  /** Services in the catalog; default all five. Without 'network' it is a nova-network cloud. */
  services?: ServiceType[];
  /** Where Keystone lives: '/identity' (devstack's layout: auth URL .../identity/v3) or '' (.../v3). */
  identityPath?: string;
  /** HTTPS with a server certificate for 127.0.0.1 from a CA of its own (`caPath`) or the one given. */
  tls?: boolean | { certPath: string; keyPath: string };
  tokenTtlMs?: number;
  /** The GET of a new server that first sees it ACTIVE (the ones before see BUILD); 0: ACTIVE at once. */
  pollsToActive?: number;
  /** The GET that sees a stop/start/reboot done (the ones before see its task_state); 0: done at once. */
  actionPolls?: number;
  /** The GET that first gets 404 for a deleted server (the ones before see task_state deleting); 0: gone at once. */
  deletePolls?: number;
  /** What a build ends in; default ACTIVE. ERROR gives the server a fault ("No valid host was found."). */
  buildResult?(server: ServerInfo): 'ACTIVE' | 'ERROR';
  /** Fixed addresses for servers' ports, in order (reused round-robin), or chosen per request. */
  addresses?: AddressSource;
  /** Addresses for floating IPs, the same way. */
  floatingAddresses?: AddressSource;
  /** As a server is made (before its create is answered): its key, user data, config drive. */
  onCreate?(server: ServerInfo): Promise<void>;
  /** As a power action or a delete takes effect (when a GET sees it complete, or at once for delete). */
  onAction?(serverId: string, action: ServerAction, server: ServerInfo): Promise<void>;
  /** Time between committing a mutation and answering it. */
  holdMs?: number;
  /** Awaited between committing a mutation and answering it (after 'mutation' is emitted). */
  hold?(m: Mutation): Promise<void>;
  quotas?: Partial<Quotas>;
  /** Compute requests allowed per window before 429 overLimit with Retry-After. */
  rateLimit?: { limit: number; windowMs: number; retryAfterSeconds?: number };
  /** Largest page Nova and Neutron give (Nova's max_limit is 1000; small values make clients follow links). */
  maxLimit?: number;
  flavors?: FlavorSpec[];
  images?: ImageSpec[];
  networks?: NetworkSpec[];
  availabilityZones?: string[];
}

export const DEFAULT_DOMAINS: DomainSpec[] = [
  { id: 'default', name: 'Default' },
  { id: 'b2f0c6a1d3e44f6f9a1b2c3d4e5f6a7b', name: 'Engineering' },
];
export const DEFAULT_PROJECTS: ProjectSpec[] = [
  { id: 'a6944d763bf64ee6a275f1263fae0352', name: 'demo', domainId: 'default' },
  { id: '5b50efd009b540559104ee3c03bbb2b7', name: 'admin', domainId: 'default' },
  // The same project name in another domain: a name needs its domain to be found.
  { id: '231c62fb0fbd485b995e8b060c3f0d98', name: 'demo', domainId: 'b2f0c6a1d3e44f6f9a1b2c3d4e5f6a7b' },
];
/** Users (and credentials) of the Keystone samples, so the sample requests authenticate as they are. */
export const DEFAULT_USERS: UserSpec[] = [
  {
    id: '423f19a4ac1e4f48bbb4180756e6eb6c',
    name: 'admin',
    domainId: 'default',
    password: 'devstacker',
    admin: true,
  },
  { id: 'ee4dfb6e5540447cb3741905149d9b6e', name: 'operator', domainId: 'default', password: 'devstacker' },
  {
    id: 'fd786d56402c4d1691372e7dee0d00b5',
    name: 'demo',
    domainId: 'default',
    password: 'secret',
    projects: ['a6944d763bf64ee6a275f1263fae0352'],
    defaultProjectId: 'a6944d763bf64ee6a275f1263fae0352',
  },
  {
    id: '0c1e5f3a9b8d4e7fa6b5c4d3e2f1a0b9',
    name: 'demo',
    domainId: 'b2f0c6a1d3e44f6f9a1b2c3d4e5f6a7b',
    password: 'other-secret',
    projects: ['231c62fb0fbd485b995e8b060c3f0d98'],
  },
];
export const DEFAULT_APP_CREDENTIALS: AppCredentialSpec[] = [
  {
    id: '423f19a4ac1e4f48bbb4180756e6eb6c',
    name: 'monitoring',
    secret: 'rEaqvJka48mpv',
    userId: '423f19a4ac1e4f48bbb4180756e6eb6c',
    projectId: '5b50efd009b540559104ee3c03bbb2b7',
  },
  {
    id: '7e2b4c6d8f0a4b1c9d3e5f7a9b1c3d5e',
    name: 'docker-machine',
    secret: 'app-cred-secret',
    userId: 'fd786d56402c4d1691372e7dee0d00b5',
    projectId: 'a6944d763bf64ee6a275f1263fae0352',
  },
];
/** devstack's flavors (ids as it makes them), enough for several pages at a small maxLimit. */
export const DEFAULT_FLAVORS: FlavorSpec[] = [
  { id: '1', name: 'm1.tiny', ram: 512, vcpus: 1, disk: 1 },
  { id: '2', name: 'm1.small', ram: 2048, vcpus: 1, disk: 20 },
  { id: '3', name: 'm1.medium', ram: 4096, vcpus: 2, disk: 40 },
  { id: '4', name: 'm1.large', ram: 8192, vcpus: 4, disk: 80 },
  { id: '42', name: 'm1.nano', ram: 128, vcpus: 1, disk: 1 },
  { id: '5', name: 'm1.xlarge', ram: 16384, vcpus: 8, disk: 160 },
  { id: '84', name: 'm1.micro', ram: 192, vcpus: 1, disk: 1 },
  { id: 'c1', name: 'cirros256', ram: 256, vcpus: 1, disk: 1 },
  { id: 'd1', name: 'ds512M', ram: 512, vcpus: 1, disk: 5 },
];
export const DEFAULT_IMAGES: ImageSpec[] = [
  {
    id: '70a599e0-31e7-49b7-b260-868f441e862b',
    name: 'cirros-0.6.2-x86_64-disk',
    minDisk: 0,
    sizeBytes: 21430272,
  },
  { id: '3c4b8a9e-2f1d-4e6a-9b7c-5d8e0f1a2b3c', name: 'Ubuntu 24.04', minDisk: 3, sizeBytes: 614_465_536 },
  { id: 'b1e2d3c4-5a6b-4c7d-8e9f-0a1b2c3d4e5f', name: 'debian-12', minDisk: 2, sizeBytes: 402_653_184 },
  { id: 'e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8', name: 'still-uploading', status: 'queued', sizeBytes: 0 },
];
export const DEFAULT_NETWORKS: NetworkSpec[] = [
  { id: '3a7b5c9d-1e2f-4a6b-8c0d-2e4f6a8b0c1d', name: 'private', cidr: '10.0.0.0/24', ipv6: true },
  { id: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a', name: 'public', external: true, cidr: '172.24.4.0/24' },
];
const DEFAULT_QUOTAS: Quotas = {
  instances: 10,
  cores: 20,
  ram: 51200,
  key_pairs: 100,
  server_groups: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
  port: 500,
  volumes: 10,
  gigabytes: 1000,
};

type Resolved = Required<
  Omit<
    FakeOpenStackOptions,
    'buildResult' | 'onCreate' | 'onAction' | 'hold' | 'rateLimit' | 'addresses' | 'floatingAddresses' | 'tls'
  >
> &
  Pick<
    FakeOpenStackOptions,
    'buildResult' | 'onCreate' | 'onAction' | 'hold' | 'rateLimit' | 'addresses' | 'floatingAddresses' | 'tls'
  > & { quotas: Quotas };

/** A response as sent, kept so a test can check every body against the samples. */
export interface Sent {
  /** Operation name, e.g. 'nova:server-get' (see shapes.ts for the sample of each). */
  op: string;
  status: number;
  body: unknown;
  admin: boolean;
}

export class FakeOpenStack extends EventEmitter {
  readonly opts: Resolved;
  readonly identity: Identity;
  readonly tokens = new Map<string, Token>();
  readonly servers = new Map<string, ServerState>();
  readonly keypairs: KeypairState[] = [];
  readonly networks = new Map<string, NetworkState>();
  readonly ports = new Map<string, PortState>();
  readonly floatingIps = new Map<string, FloatingIpState>();
  readonly securityGroups = new Map<string, SecurityGroupState>();
  readonly volumes = new Map<string, VolumeState>();
  readonly serverGroups = new Map<string, ServerGroupState>();
  readonly requests: RequestRecord[] = [];
  readonly sent: Sent[] = [];
  /** Servers deleted so far, by id: what was made with them (for a test's after-the-fact checks). */
  readonly deletedServers = new Map<string, ServerInfo>();
  throttled = 0;
  /** The PEM file of the CA that signed the server certificate, with `tls`. */
  caPath = '';
  origin = '';
  private server: Server | undefined;
  private failures: { method: string; path: RegExp; error: ApiError }[] = [];
  private nextAddress = { fixed: 0, floating: 0 };
  private readonly window: RateWindow;
  private keypairId = 1;

  constructor(opts: FakeOpenStackOptions = {}) {
    super();
    this.window = new RateWindow(opts.rateLimit);
    this.opts = {
      domains: DEFAULT_DOMAINS,
      users: DEFAULT_USERS,
      projects: DEFAULT_PROJECTS,
      applicationCredentials: DEFAULT_APP_CREDENTIALS,
      regions: ['RegionOne', 'RegionTwo'],
      interfaces: ['public', 'internal', 'admin'],
      services: ['identity', 'compute', 'network', 'image', 'volumev3'],
      identityPath: '/identity',
      tokenTtlMs: 3_600_000,
      pollsToActive: 2,
      actionPolls: 1,
      deletePolls: 0,
      holdMs: 0,
      maxLimit: 1000,
      flavors: DEFAULT_FLAVORS,
      images: DEFAULT_IMAGES,
      networks: DEFAULT_NETWORKS,
      availabilityZones: ['nova', 'us-west'],
      ...opts,
      quotas: { ...DEFAULT_QUOTAS, ...opts.quotas },
    };
    this.identity = {
      domains: this.opts.domains,
      users: this.opts.users,
      projects: this.opts.projects,
      applicationCredentials: this.opts.applicationCredentials,
    };
    for (const region of this.opts.regions) {
      for (const n of this.opts.networks) {
        const index = this.opts.networks.indexOf(n);
        const cidr = n.cidr ?? `10.${index}.0.0/24`;
        const subnets: NetworkState['subnets'] = [
          { id: uuidFor(`${region}/${n.id}/v4`), cidr, version: 4, gateway: nth(cidr, 1), next: 10 },
        ];
        if (n.ipv6) {
          const v6 = `2001:db8:${index + 1}::/64`;
          subnets.push({
            id: uuidFor(`${region}/${n.id}/v6`),
            cidr: v6,
            version: 6,
            gateway: `2001:db8:${index + 1}::1`,
            next: 10,
          });
        }
        // Each region is its own Neutron: the same network exists in both under the same id.
        this.networks.set(`${region}/${n.id}`, {
          id: n.id,
          region,
          name: n.name,
          projectId: n.projectId ?? this.opts.projects[0].id,
          external: !!n.external,
          shared: !!n.shared,
          subnets,
        });
      }
    }
  }

  /** Starts listening; the auth URL is what a user gives as --openstack-auth-url / OS_AUTH_URL. */
  async start(): Promise<{ authUrl: string; caPath?: string }> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err) => {
          if (!res.headersSent) {
            res.writeHead(500, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ computeFault: { code: 500, message: String(err) } }));
          }
        });
      });
    };
    if (this.opts.tls) {
      const { cert, key, caPath } = await serverTLS(this.opts.tls === true ? undefined : this.opts.tls);
      this.caPath = caPath;
      this.server = createHttps({ cert, key }, handler);
    } else {
      this.server = createHttp(handler);
    }
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const port = (this.server.address() as AddressInfo).port;
    this.origin = `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return { authUrl: this.authUrl, ...(this.caPath ? { caPath: this.caPath } : {}) };
  }

  get authUrl(): string {
    return `${this.origin}${this.opts.identityPath}/v3`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** The next request whose method and path (without query) match gets this error instead. */
  failNext(method: string, path: RegExp, error: ApiError): void {
    this.failures.push({ method, path, error });
  }

  /** Problems of the answers sent so far that a published sample documents (shapes.ts). */
  checkSamples(): string[] {
    return checkSent(this.sent);
  }

  /** Every token issued so far stops working: the next request with one gets 401, as after expiry. */
  expireTokens(): void {
    for (const t of this.tokens.values()) t.expiresAt = Date.now() - 1;
  }

  /** The endpoint URL of a service in the catalog. */
  endpoint(
    service: ServiceType,
    region = this.opts.regions[0],
    iface: Interface = 'public',
    projectId?: string,
  ): string {
    if (service === 'identity') return `${this.origin}${this.opts.identityPath}`;
    const base = `${this.origin}/${encodeURIComponent(region)}/${iface}`;
    if (service === 'compute') return `${base}/compute/v2.1`;
    if (service === 'network') return `${base}/network`;
    if (service === 'image') return `${base}/image`;
    return `${base}/volume/v3/${projectId ?? ''}`;
  }

  catalog(projectId?: string): unknown[] {
    const names: Record<ServiceType, string> = {
      identity: 'keystone',
      compute: 'nova',
      network: 'neutron',
      image: 'glance',
      volumev3: 'cinderv3',
    };
    return this.opts.services.map((type) => ({
      endpoints: this.opts.regions.flatMap((region) =>
        this.opts.interfaces.map((iface) => ({
          id: uuidFor(`endpoint/${type}/${region}/${iface}`).replace(/-/g, ''),
          interface: iface,
          region_id: region,
          url: this.endpoint(type, region, iface, projectId),
          region,
        })),
      ),
      id: uuidFor(`service/${type}`).replace(/-/g, ''),
      type,
      name: names[type],
    }));
  }

  /** Everything a machine could have made and left behind, by kind. */
  inventory(): {
    servers: string[];
    keypairs: string[];
    floatingIps: string[];
    securityGroups: string[];
    volumes: string[];
    serverGroups: string[];
  } {
    return {
      servers: [...this.servers.values()].map((s) => s.name),
      keypairs: this.keypairs.map((k) => k.name),
      floatingIps: [...this.floatingIps.values()].map((f) => f.address),
      securityGroups: [...this.securityGroups.values()]
        .filter((g) => g.name !== 'default')
        .map((g) => g.name),
      volumes: [...this.volumes.values()].map((v) => v.name || v.id),
      serverGroups: [...this.serverGroups.values()].map((g) => g.name),
    };
  }

  // --- state helpers used by the service modules ---

  /** A key pair the user made before (as with the dashboard), for --openstack-keypair-name. */
  addKeypair(name: string, publicKey: string, opts: { region?: string; userId?: string } = {}): KeypairState {
    const k: KeypairState = {
      region: opts.region ?? this.opts.regions[0],
      userId: opts.userId ?? this.opts.users[0].id,
      name,
      publicKey: publicKey.trim(),
      fingerprint: sshFingerprint(publicKey) ?? '',
      type: 'ssh',
      created: novaTime(Date.now()),
      id: this.keypairId++,
    };
    this.keypairs.push(k);
    return k;
  }

  newKeypairId(): number {
    return this.keypairId++;
  }

  /** A floating IP allocated before and not associated: the driver may reuse it. */
  addFloatingIp(opts: { region?: string; projectId?: string; pool?: string } = {}): FloatingIpState {
    const region = opts.region ?? this.opts.regions[0];
    const net = [...this.networks.values()].find(
      (n) => n.region === region && n.external && (!opts.pool || n.name === opts.pool),
    )!;
    return this.allocateFloatingIp(region, opts.projectId ?? this.opts.projects[0].id, net, {});
  }

  /** A volume the user made before, for boot from an existing volume. */
  addVolume(opts: {
    name: string;
    size: number;
    region?: string;
    projectId?: string;
    imageId?: string;
  }): VolumeState {
    const v: VolumeState = {
      id: randomUUID(),
      region: opts.region ?? this.opts.regions[0],
      projectId: opts.projectId ?? this.opts.projects[0].id,
      name: opts.name,
      size: opts.size,
      status: 'available',
      volumeType: 'lvmdriver-1',
      imageId: opts.imageId ?? null,
      bootable: !!opts.imageId,
      attachedTo: null,
      device: null,
      created: novaTime(Date.now()),
    };
    this.volumes.set(v.id, v);
    return v;
  }

  /** A security group the user made before: never this machine's to delete. */
  addSecurityGroup(name: string, opts: { region?: string; projectId?: string } = {}): SecurityGroupState {
    return this.makeSecurityGroup(
      opts.region ?? this.opts.regions[0],
      opts.projectId ?? this.opts.projects[0].id,
      name,
      'made by hand',
    );
  }

  makeSecurityGroup(
    region: string,
    projectId: string,
    name: string,
    description: string,
  ): SecurityGroupState {
    const id = randomUUID();
    const now = neutronTime(Date.now());
    const egress = (ethertype: 'IPv4' | 'IPv6') => ({
      id: randomUUID(),
      security_group_id: id,
      direction: 'egress' as const,
      ethertype,
      protocol: null,
      port_range_min: null,
      port_range_max: null,
      remote_ip_prefix: null,
      remote_group_id: null,
      description: '',
      project_id: projectId,
      created_at: now,
    });
    const g: SecurityGroupState = {
      id,
      region,
      projectId,
      name,
      description,
      rules: [egress('IPv4'), egress('IPv6')],
      created: now,
    };
    this.securityGroups.set(id, g);
    return g;
  }

  /** Each project has a group named default in each region, made on first use as Neutron does. */
  defaultSecurityGroup(region: string, projectId: string): SecurityGroupState {
    const found = [...this.securityGroups.values()].find(
      (g) => g.region === region && g.projectId === projectId && g.name === 'default',
    );
    if (found) return found;
    const g = this.makeSecurityGroup(region, projectId, 'default', 'Default security group');
    for (const ethertype of ['IPv4', 'IPv6'] as const) {
      g.rules.push({
        ...g.rules[0],
        id: randomUUID(),
        direction: 'ingress',
        ethertype,
        remote_group_id: g.id,
      });
    }
    return g;
  }

  address(source: AddressSource | undefined, req: AddressRequest, fallback: () => string): string {
    if (typeof source === 'function') return source(req);
    if (source?.length) return source[this.nextAddress[req.kind]++ % source.length];
    return fallback();
  }

  allocateFloatingIp(
    region: string,
    projectId: string,
    net: NetworkState,
    opts: { address?: string; description?: string },
  ): FloatingIpState {
    const address =
      opts.address ??
      this.address(this.opts.floatingAddresses, { kind: 'floating', region, network: net.name }, () => {
        // TEST-NET-1's upper half: never routed, so never dialled by mistake.
        const used = new Set([...this.floatingIps.values()].map((f) => f.address));
        for (let i = 128; i < 255; i++) if (!used.has(`192.0.2.${i}`)) return `192.0.2.${i}`;
        throw new Error('no floating addresses left');
      });
    const now = neutronTime(Date.now());
    const f: FloatingIpState = {
      id: randomUUID(),
      region,
      projectId,
      networkId: net.id,
      address,
      portId: null,
      fixedIp: null,
      description: opts.description ?? '',
      created: now,
      updated: now,
      revision: 0,
    };
    this.floatingIps.set(f.id, f);
    return f;
  }

  /** A port on a network for a server, with the fixed address(es) it gets from the subnets. */
  makePort(
    server: { id: string; name: string; region: string; projectId: string },
    net: NetworkState,
    securityGroups: string[],
    fixedIp?: string,
  ): PortState {
    const fixedIps = net.subnets.map((s) => {
      if (s.version === 6)
        return { subnet_id: s.id, ip_address: s.cidr.replace('::/64', `::${(s.next++).toString(16)}`) };
      const ip =
        fixedIp ??
        this.address(
          this.opts.addresses,
          {
            kind: 'fixed',
            region: server.region,
            network: net.name,
            serverId: server.id,
            serverName: server.name,
          },
          // TEST-NET-1's lower half.
          () => `192.0.2.${(s.next++ % 118) + 10}`,
        );
      return { subnet_id: s.id, ip_address: ip };
    });
    const port: PortState = {
      id: randomUUID(),
      region: server.region,
      projectId: server.projectId,
      networkId: net.id,
      deviceId: server.id,
      deviceOwner: 'compute:nova',
      mac: `fa:16:3e:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`,
      fixedIps,
      securityGroups,
      status: 'DOWN',
      name: '',
      created: neutronTime(Date.now()),
    };
    this.ports.set(port.id, port);
    return port;
  }

  /** Removes a port; a floating IP on it stays allocated, unassociated (Neutron does the same). */
  deletePort(id: string): void {
    this.ports.delete(id);
    for (const f of this.floatingIps.values()) {
      if (f.portId === id) {
        f.portId = null;
        f.fixedIp = null;
        f.updated = neutronTime(Date.now());
        f.revision++;
      }
    }
  }

  quotaUsage(region: string, projectId: string) {
    const servers = [...this.servers.values()].filter(
      (s) => s.region === region && s.projectId === projectId,
    );
    const flavor = (id: string) => this.opts.flavors.find((f) => f.id === id)!;
    return {
      instances: servers.length,
      cores: servers.reduce((n, s) => n + flavor(s.flavorId).vcpus, 0),
      ram: servers.reduce((n, s) => n + flavor(s.flavorId).ram, 0),
    };
  }

  emitCreated(kind: string, id: string, name?: string): void {
    this.emit('created', { kind, id, name });
  }

  portJson(p: PortState) {
    return portBody(p);
  }

  // --- HTTP ---

  private async handle(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const record: RequestRecord = {
      at: Date.now(),
      method,
      url: req.url ?? '/',
      service: 'unknown',
      status: 0,
    };
    this.requests.push(record);
    try {
      const reply = await this.route(req, url, method, text, record);
      return await this.reply(res, record, reply);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return this.reply(res, record, { status: err.status, body: err.body, headers: err.headers });
    }
  }

  private async reply(res: ServerResponse, record: RequestRecord, reply: Reply): Promise<void> {
    record.status = reply.status;
    if (reply.op && reply.body !== undefined) {
      this.sent.push({
        op: reply.op,
        status: reply.status,
        body: JSON.parse(JSON.stringify(reply.body)),
        admin: !!reply.admin,
      });
    }
    if (reply.mutation && reply.status < 400 && record.method !== 'GET') {
      const m: Mutation = {
        method: record.method,
        path: record.url.split('?')[0],
        service: record.service,
        status: reply.status,
        ...reply.mutation,
      };
      this.emit('mutation', m);
      await this.opts.hold?.(m);
      if (this.opts.holdMs > 0) await new Promise((r) => setTimeout(r, this.opts.holdMs));
    }
    const headers: Record<string, string> = {
      'x-openstack-request-id': `req-${randomUUID()}`,
      ...reply.headers,
    };
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers);
      res.end();
      return;
    }
    if (typeof reply.body === 'string') {
      res.writeHead(reply.status, { 'content-type': 'text/plain; charset=UTF-8', ...headers });
      res.end(reply.body);
      return;
    }
    res.writeHead(reply.status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(reply.body));
  }

  private async route(
    req: IncomingMessage,
    url: URL,
    method: string,
    text: string,
    record: RequestRecord,
  ): Promise<Reply> {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const idPath = this.opts.identityPath;
    let body: unknown;
    if (text) {
      try {
        body = JSON.parse(text);
        record.body = body;
      } catch {
        body = SYNTAX_ERROR;
      }
    }
    const f = this.failures.findIndex((x) => x.method === method && x.path.test(path));
    if (f >= 0) {
      const [x] = this.failures.splice(f, 1);
      throw x.error;
    }

    // Keystone
    if (path === (idPath || '/') || path === `${idPath}/v3` || path.startsWith(`${idPath}/v3/`)) {
      record.service = 'identity';
      return this.keystone(req, method, path.slice(idPath.length) || '/', body, url);
    }

    // A service endpoint: /<region>/<interface>/<service>/...
    const m = /^\/([^/]+)\/(public|internal|admin)\/(compute|network|image|volume)(\/.*)?$/.exec(path);
    if (!m) throw novaError(404, 'The resource could not be found.');
    const region = decodeURIComponent(m[1]);
    const iface = m[2] as Interface;
    const service = m[3] as 'compute' | 'network' | 'image' | 'volume';
    record.service = service;
    record.region = region;
    record.interface = iface;
    const type: ServiceType = service === 'volume' ? 'volumev3' : service;
    if (
      !this.opts.regions.includes(region) ||
      !this.opts.interfaces.includes(iface) ||
      !this.opts.services.includes(type)
    ) {
      throw novaError(404, 'The resource could not be found.');
    }
    const rest = m[4] ?? '/';
    // Version documents need no token (keystonemiddleware lets them through).
    const unversioned = rest === '/' || (service === 'compute' && rest === '/v2.1' && method === 'GET');
    let token: Token | undefined;
    if (!unversioned) {
      const id = req.headers['x-auth-token'];
      token = typeof id === 'string' ? this.tokens.get(id) : undefined;
      if (!token || token.expiresAt <= Date.now() || token.revoked) {
        throw unauthorized(`${this.origin}${idPath}`);
      }
    }
    if (body === SYNTAX_ERROR) {
      if (service === 'network') {
        throw new ApiError(400, {
          NeutronError: { type: 'HTTPBadRequest', message: 'Malformed request body', detail: '' },
        });
      }
      throw novaError(400, 'Malformed request body');
    }
    const ctx: Ctx = {
      os: this,
      method,
      path: rest,
      query: url.searchParams,
      body,
      token: token!,
      region,
      iface,
      base: `${this.origin}/${m[1]}/${iface}/${service}`,
      admin: !!token && !!this.identity.users.find((u) => u.id === token.userId)?.admin,
      microversion: '2.1',
    };
    if (service === 'compute') {
      const asked = microversionAsked(req);
      if (asked) record.microversion = asked;
      const mv = asked === 'latest' ? MAX_MICROVERSION : (asked ?? '2.1');
      if (!/^2\.\d+$/.test(mv)) throw novaError(400, `Invalid API version request: ${mv}`);
      if (cmpVersion(mv, MAX_MICROVERSION) > 0 || cmpVersion(mv, '2.1') < 0) {
        throw novaError(
          406,
          `Version ${mv} is not supported by the API. Minimum is 2.1 and maximum is ${MAX_MICROVERSION}.`,
        );
      }
      ctx.microversion = mv;
      if (!unversioned && this.window.over()) {
        this.throttled++;
        const after = String(this.opts.rateLimit?.retryAfterSeconds ?? 1);
        throw novaError(429, 'This request was rate-limited.', { 'retry-after': after });
      }
      const reply = await nova(ctx);
      reply.headers = {
        'openstack-api-version': `compute ${mv}`,
        'x-openstack-nova-api-version': mv,
        vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version',
        ...reply.headers,
      };
      return reply;
    }
    if (!unversioned && !token!.projectId) {
      if (service === 'network') {
        throw new ApiError(403, {
          NeutronError: { type: 'HTTPForbidden', message: 'Token is not scoped to a project.', detail: '' },
        });
      }
    }
    if (service === 'network') return neutron(ctx);
    if (service === 'image') return glance(ctx);
    return cinder(ctx);
  }

  private keystone(req: IncomingMessage, method: string, path: string, body: unknown, url: URL): Reply {
    const v3 = `${this.origin}${this.opts.identityPath}/v3/`;
    const version = {
      id: 'v3.14',
      status: 'stable',
      updated: '2020-04-07T00:00:00Z',
      links: [{ rel: 'self', href: v3 }],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
    };
    if (method === 'GET' && path === '/') {
      return { status: 300, body: { versions: { values: [version] } }, headers: { location: v3 } };
    }
    if (method === 'GET' && path === '/v3') return { status: 200, body: { version } };
    if (path === '/v3/auth/tokens') {
      if (method === 'POST') {
        if (body === SYNTAX_ERROR) throw keystoneError(400, 'The request body could not be parsed as JSON.');
        const now = Date.now();
        const a = authenticate(this.identity, body, this.tokens, now);
        const t: Token = {
          id: newTokenId(),
          ...a,
          issuedAt: now,
          expiresAt: now + this.opts.tokenTtlMs,
          auditId: auditId(),
        };
        this.tokens.set(t.id, t);
        const nocatalog = url.searchParams.has('nocatalog');
        const b = tokenBody(this.identity, t, this.catalog(t.projectId));
        if (nocatalog) delete (b.token as Record<string, unknown>).catalog;
        return {
          status: 201,
          body: b,
          headers: { 'x-subject-token': t.id, vary: 'X-Auth-Token' },
          op: 'keystone:token',
        };
      }
      // Validate (GET) or revoke (DELETE) the token in X-Subject-Token, with a valid X-Auth-Token.
      const caller = this.tokens.get(String(req.headers['x-auth-token'] ?? ''));
      if (!caller || caller.expiresAt <= Date.now() || caller.revoked) {
        throw keystoneError(401, 'The request you have made requires authentication.');
      }
      const subject = this.tokens.get(String(req.headers['x-subject-token'] ?? ''));
      if (!subject || subject.expiresAt <= Date.now() || subject.revoked) {
        throw keystoneError(404, 'Failed to validate token');
      }
      if (method === 'GET') {
        return {
          status: 200,
          body: tokenBody(this.identity, subject, this.catalog(subject.projectId)),
          headers: { 'x-subject-token': subject.id },
          op: 'keystone:token',
        };
      }
      if (method === 'DELETE') {
        subject.revoked = true;
        return { status: 204 };
      }
      throw keystoneError(405, 'The method is not allowed for the requested URL.');
    }
    if (method === 'GET' && (path === '/v3/auth/projects' || path === '/v3/auth/catalog')) {
      const caller = this.tokens.get(String(req.headers['x-auth-token'] ?? ''));
      if (!caller || caller.expiresAt <= Date.now() || caller.revoked) {
        throw keystoneError(401, 'The request you have made requires authentication.');
      }
      if (path === '/v3/auth/catalog') {
        if (!caller.projectId && !caller.domainId && !caller.system) {
          throw keystoneError(403, 'A project-scoped token is required to produce a service catalog.');
        }
        return {
          status: 200,
          body: { catalog: this.catalog(caller.projectId), links: { self: `${v3}auth/catalog` } },
        };
      }
      const user = this.identity.users.find((u) => u.id === caller.userId)!;
      const projects = this.identity.projects.filter((p) => !user.projects || user.projects.includes(p.id));
      return {
        status: 200,
        body: {
          projects: projects.map((p) => ({
            id: p.id,
            name: p.name,
            domain_id: p.domainId,
            enabled: true,
            is_domain: false,
            parent_id: p.domainId,
            description: '',
            links: { self: `${v3}projects/${p.id}` },
          })),
          links: { self: `${v3}auth/projects`, previous: null, next: null },
        },
      };
    }
    throw keystoneError(404, 'The resource could not be found.');
  }
}

const SYNTAX_ERROR = Symbol('unparsable body');

function microversionAsked(req: IncomingMessage): string | undefined {
  const std = req.headers['openstack-api-version'];
  if (typeof std === 'string') {
    const m = /(?:^|,)\s*compute\s+(\S+)/i.exec(std);
    if (m) return m[1];
  }
  const legacy = req.headers['x-openstack-nova-api-version'];
  return typeof legacy === 'string' ? legacy.trim() : undefined;
}

function cmpVersion(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}

/** A stable UUID from a label, so catalog ids and subnet ids stay the same across runs. */
export function uuidFor(label: string): string {
  const h = createHash('sha256').update(label).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The n-th address of an IPv4 CIDR. */
function nth(cidr: string, n: number): string {
  const [ip] = cidr.split('/');
  const parts = ip.split('.').map(Number);
  parts[3] += n;
  return parts.join('.');
}

/** Nova's timestamps: seconds and a Z. */
export function novaTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Neutron's timestamps: seconds and a Z. */
export const neutronTime = novaTime;

/** The MD5 colon-hex fingerprint Nova computes, or null when the line is no OpenSSH public key. */
export function sshFingerprint(line: string): string | null {
  const m =
    /^(ssh-rsa|ssh-ed25519|ssh-dss|ecdsa-sha2-nistp(?:256|384|521))\s+([A-Za-z0-9+/]+={0,2})(\s.*)?$/.exec(
      line.trim(),
    );
  if (!m) return null;
  const blob = Buffer.from(m[2], 'base64');
  // The blob starts with its own type name, length-prefixed.
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (len !== m[1].length || blob.subarray(4, 4 + len).toString() !== m[1] || blob.length < 4 + len + 16)
    return null;
  return createHash('md5').update(blob).digest('hex').match(/../g)!.join(':');
}

const tlsCache = new Map<string, Promise<{ cert: Buffer; key: Buffer; caPath: string }>>();

/**
 * The server certificate for 127.0.0.1, signed by the given CA or one of the fake's own; made once
 * per process and CA (RSA keys take seconds on a busy machine), removed when the process ends.
 */
function serverTLS(ca?: { certPath: string; keyPath: string }) {
  const cacheKey = ca?.certPath ?? '';
  let made = tlsCache.get(cacheKey);
  if (!made) {
    made = (async () => {
      sweepKilledDirs('fake-openstack-');
      const dir = await mkdtemp(join(tmpdir(), 'fake-openstack-'));
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
        org: 'fake-openstack',
        hosts: ['127.0.0.1', 'localhost'],
      });
      const [cert, key] = await Promise.all([readFile(certPath), readFile(keyPath)]);
      return { cert, key, caPath: ca.certPath };
    })();
    tlsCache.set(cacheKey, made);
  }
  return made;
}
