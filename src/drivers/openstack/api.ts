import { MachineError } from '../../errors.js';
import { CloudConnection } from '../cloud/connection.js';
import { isGone } from '../cloud/errors.js';
import { Renewal } from '../cloud/reauth.js';
import type { DriverContext } from '../driver.js';
import {
  type CatalogService,
  endpointFor,
  missingEndpoint,
  type Session,
  type TLS,
} from './auth/keystone.js';
import { parseOpenStackError } from './errors.js';

/**
 * The services a machine uses, at the catalog's endpoints for its region and interface, each
 * request carrying the session's token (never logged: the connection redacts *token* headers).
 */
export type Service = 'compute' | 'network' | 'image' | 'volume';

const TYPES: Record<Service, string[]> = {
  compute: ['compute'],
  network: ['network'],
  image: ['image'],
  volume: ['volumev3', 'block-storage', 'volume'],
};

/** Neutron and Glance catalog URLs often leave out the API version the paths below need. */
function withVersion(service: Service, url: string): string {
  if (service === 'network') return /\/v2\.0$/.test(url) ? url : `${url}/v2.0`;
  if (service === 'image') return /\/v2(\.\d+)?$/.test(url) ? url : `${url}/v2`;
  return url;
}

const CREDENTIALS_HINT =
  'check the OpenStack credentials (--openstack-username and --openstack-password, or the application credential) and that they may use the project (--openstack-tenant-name or --openstack-tenant-id)';

export class OpenStackAPI {
  private readonly conns = new Map<Service, CloudConnection>();
  /** One new token for the requests of every service that were refused with the same one. */
  private readonly renewal = new Renewal(
    () => this.session.token,
    async () => {
      if (this.renew) this.session = await this.renew();
    },
  );
  constructor(
    public session: Session,
    private readonly iface: string,
    private readonly region: string,
    private readonly tls: TLS,
    private readonly ctx?: Pick<DriverContext, 'debug' | 'signal'>,
    /** A new token from the same credentials, for one that expired while the command ran. */
    private readonly renew?: () => Promise<Session>,
  ) {}

  get catalog(): CatalogService[] {
    return this.session.catalog;
  }

  has(service: Service): boolean {
    return !!endpointFor(this.catalog, TYPES[service], this.iface, this.region);
  }

  conn(service: Service): CloudConnection {
    const had = this.conns.get(service);
    if (had) return had;
    const url = endpointFor(this.catalog, TYPES[service], this.iface, this.region);
    if (!url) throw missingEndpoint(this.catalog, TYPES[service], this.iface, this.region);
    const c = new CloudConnection({
      provider: 'OpenStack',
      endpoint: withVersion(service, url),
      auth: () => ({ 'x-auth-token': this.session.token }),
      parseError: parseOpenStackError,
      debug: this.ctx?.debug,
      signal: this.ctx?.signal,
      tls: this.tls,
      ...(this.renew
        ? {
            reauthenticate: {
              renew: (refused) => this.renewal.after(refused['x-auth-token']),
              hint: () => CREDENTIALS_HINT,
            },
          }
        : {}),
    });
    this.conns.set(service, c);
    return c;
  }

  /** Requests sent by every connection, for the bench. */
  get requests(): number {
    let n = 0;
    for (const c of this.conns.values()) n += c.stats.requests;
    return n;
  }
}

/** GET of one object a flag names: a 404 is the one line `missing` says, not the API's error. */
export async function getNamed<T>(c: CloudConnection, path: string, missing: string): Promise<T> {
  return c.get<T>(path).catch((err) => {
    if (isGone(err)) throw new MachineError(missing);
    throw err;
  });
}

/** Every item of a list that pages with limit/marker and a *_links rel=next (Nova, Neutron, Glance). */
export async function listAll<T>(c: CloudConnection, path: string, key: string): Promise<T[]> {
  const out: T[] = [];
  let next: string | undefined = path;
  for (let page = 0; next && page < 100; page++) {
    const body = (await c.get<Record<string, unknown>>(next)) ?? {};
    const items = body[key];
    if (Array.isArray(items)) out.push(...(items as T[]));
    next = undefined;
    const links = body[`${key}_links`];
    const glanceNext = typeof body.next === 'string' ? body.next : undefined;
    if (Array.isArray(links)) {
      const n = links.find((l) => l && (l as { rel?: string }).rel === 'next') as
        | { href?: string }
        | undefined;
      if (n?.href) next = relativeTo(c, n.href);
    } else if (glanceNext) next = relativeTo(c, glanceNext);
  }
  return out;
}

/** A next link as a path under the connection's endpoint (links name the service's own host). */
function relativeTo(c: CloudConnection, href: string): string {
  let u: URL;
  try {
    u = new URL(href, 'http://x');
  } catch {
    return href;
  }
  const base = new URL(c.endpoint).pathname.replace(/\/+$/, '');
  const p = u.pathname.startsWith(base) ? u.pathname.slice(base.length) : u.pathname;
  return `${p.replace(/^\//, '')}${u.search}`;
}

export interface Flavor {
  id: string;
  name: string;
  disk?: number;
}
export interface Image {
  id: string;
  name: string;
  status?: string;
}
export interface Network {
  id: string;
  name: string;
  'router:external'?: boolean;
}
export interface Volume {
  id: string;
  name: string | null;
  status: string;
}
export interface SecurityGroup {
  id: string;
  name: string;
}
export interface Address {
  addr: string;
  version: number;
  'OS-EXT-IPS:type'?: string;
}
export interface Server {
  id: string;
  name: string;
  status: string;
  metadata?: Record<string, string>;
  addresses?: Record<string, Address[]>;
  fault?: { message?: string; details?: string };
  accessIPv4?: string;
  accessIPv6?: string;
  'OS-EXT-STS:task_state'?: string | null;
}
export interface FloatingIP {
  id: string;
  floating_ip_address: string;
  port_id?: string | null;
  description?: string;
  floating_network_id?: string;
}
export interface Port {
  id: string;
  device_id?: string;
  network_id?: string;
  security_groups?: string[];
}

export function q(params: Record<string, string>): string {
  const s = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '')).toString();
  return s ? `?${s}` : '';
}

export async function server(c: CloudConnection, id: string): Promise<Server> {
  const b = await c.get<{ server?: Server }>(`servers/${encodeURIComponent(id)}`);
  if (!b?.server) throw new MachineError(`OpenStack answered GET servers/${id} without a server`);
  return b.server;
}

export async function action(c: CloudConnection, id: string, body: Record<string, unknown>): Promise<void> {
  await c.request('POST', `servers/${encodeURIComponent(id)}/action`, body);
}
