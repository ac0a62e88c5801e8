import { randomUUID } from 'node:crypto';
import { CloudConnection } from '../cloud/connection.js';
import { isGone } from '../cloud/errors.js';
import { BearerToken, type TokenSource as RenewableToken } from '../cloud/reauth.js';
import type { DriverContext } from '../driver.js';

/** The parts of Compute Engine v1's resources this driver reads (the discovery document's schemas). */
export interface Operation {
  kind?: string;
  name: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  operationType?: string;
  targetLink?: string;
  targetId?: string;
  zone?: string;
  region?: string;
  selfLink?: string;
  progress?: number;
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
  error?: { errors?: { code?: string; message?: string; location?: string }[] };
  warnings?: { code?: string; message?: string }[];
}
export interface Deprecation {
  state?: 'ACTIVE' | 'DEPRECATED' | 'OBSOLETE' | 'DELETED';
  replacement?: string;
}
export interface Project {
  name: string;
  quotas?: Quota[];
}
export interface Quota {
  metric: string;
  limit: number;
  usage: number;
}
export interface Zone {
  name: string;
  region?: string;
  status?: 'UP' | 'DOWN';
  deprecated?: Deprecation;
}
export interface Region {
  name: string;
  quotas?: Quota[];
}
export interface MachineType {
  name: string;
  guestCpus?: number;
  isSharedCpu?: boolean;
  deprecated?: Deprecation;
}
export interface Image {
  name: string;
  selfLink?: string;
  family?: string;
  status?: string;
  diskSizeGb?: string;
  deprecated?: Deprecation;
}
export interface Address {
  name: string;
  address: string;
  status?: 'RESERVED' | 'RESERVING' | 'IN_USE';
  addressType?: string;
  users?: string[];
}
export interface Network {
  name: string;
  selfLink?: string;
  autoCreateSubnetworks?: boolean;
}
export interface Metadata {
  fingerprint?: string;
  items?: { key: string; value?: string }[];
}
export interface Tags {
  fingerprint?: string;
  items?: string[];
}
export interface AccessConfig {
  type?: string;
  name?: string;
  natIP?: string;
}
export interface Instance {
  id?: string;
  name: string;
  status?: string;
  machineType?: string;
  tags?: Tags;
  metadata?: Metadata;
  labels?: Record<string, string>;
  networkInterfaces?: {
    network?: string;
    subnetwork?: string;
    networkIP?: string;
    accessConfigs?: AccessConfig[];
  }[];
  disks?: { source?: string; boot?: boolean; autoDelete?: boolean }[];
}
export interface Disk {
  name: string;
  status?: string;
  users?: string[];
}
export interface FirewallAllowed {
  IPProtocol: string;
  ports?: string[];
}
export interface Firewall {
  name: string;
  network?: string;
  direction?: string;
  sourceRanges?: string[];
  sourceTags?: string[];
  targetTags?: string[];
  allowed?: FirewallAllowed[];
  description?: string;
}

/** Where an access token comes from: renewed when Compute Engine says the one it had is no good. */
export interface TokenSource extends RenewableToken {
  /** What to do when a token just renewed is refused too (credentials.ts's sources say). */
  readonly hint?: string;
}

const PROVIDER = 'Google Compute Engine';

/** The last words of a second 401 when the token source has none of its own. */
const CREDENTIALS_HINT =
  'check the Google credentials (the key in GOOGLE_APPLICATION_CREDENTIALS or --google-auth-encoded-json is not deleted or disabled), or run `gcloud auth application-default login` again';

/**
 * Compute Engine's JSON API under <endpoint>/compute/v1/: a Bearer access token, errors as
 * {error: {code, message, errors: [{domain, reason, message}]}}. A 401 (the token expired or was
 * revoked) renews the token once for the requests that carried it (cloud/reauth.ts).
 */
export class ComputeAPI {
  readonly conn: CloudConnection;
  readonly project: string;

  constructor(o: {
    endpoint: string;
    project: string;
    tokens: TokenSource;
    ctx?: Pick<DriverContext, 'debug' | 'signal'>;
  }) {
    this.project = o.project;
    const base = o.endpoint.endsWith('/') ? o.endpoint : `${o.endpoint}/`;
    const bearer = BearerToken.of(o.tokens);
    this.conn = new CloudConnection({
      provider: PROVIDER,
      endpoint: `${base}compute/v1/`,
      auth: () => bearer.headers(),
      reauthenticate: {
        renew: (refused) => bearer.renew(refused),
        hint: () => o.tokens.hint ?? CREDENTIALS_HINT,
      },
      parseError: parseGoogleError,
      debug: o.ctx?.debug,
      signal: o.ctx?.signal,
    });
  }

  /** `projects/<project>/<rest>`. */
  p(rest: string): string {
    return `projects/${encodeURIComponent(this.project)}/${rest}`;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    // A change carries a requestId: when an answer is lost and the request is sent again,
    // Compute Engine answers with the first operation instead of acting twice.
    if (method !== 'GET') path = `${path}${path.includes('?') ? '&' : '?'}requestId=${randomUUID()}`;
    return (await this.conn.request<T>(method, path, body)).body;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  /** The resource, or undefined when Compute Engine says it does not exist. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  }

  /** Every item of a list, page by page (nextPageToken), bounded against a looping API. */
  async list<T>(path: string, filter = ''): Promise<T[]> {
    const out: T[] = [];
    let token = '';
    for (let n = 0; n < 100; n++) {
      const q = new URLSearchParams({ maxResults: '500' });
      if (filter) q.set('filter', filter);
      if (token) q.set('pageToken', token);
      const page = await this.get<{ items?: T[]; nextPageToken?: string }>(`${path}?${q}`);
      out.push(...(page.items ?? []));
      token = page.nextPageToken ?? '';
      if (!token) break;
    }
    return out;
  }
}

/** Google's error body as one line's parts: the first error's reason, and its message. */
export function parseGoogleError(
  status: number,
  body: unknown,
): { code: string; message: string; gone?: boolean } {
  const e = (body && typeof body === 'object' ? (body as { error?: unknown }).error : undefined) as
    | {
        code?: unknown;
        message?: unknown;
        status?: unknown;
        errors?: { reason?: unknown; message?: unknown }[];
      }
    | string
    | undefined;
  if (typeof e === 'string') {
    // The token endpoint's shape ({error, error_description}) when a proxy hands it back.
    const d = (body as { error_description?: unknown }).error_description;
    return { code: e, message: typeof d === 'string' ? d : e };
  }
  const first = Array.isArray(e?.errors) ? e.errors[0] : undefined;
  const reason =
    typeof first?.reason === 'string'
      ? first.reason
      : typeof e?.status === 'string'
        ? e.status
        : `http_${status}`;
  const message =
    typeof e?.message === 'string'
      ? e.message
      : typeof first?.message === 'string'
        ? first.message
        : typeof body === 'string'
          ? body.replace(/\s+/g, ' ').slice(0, 200)
          : 'no message';
  return { code: reason, message: message.replace(/\s*\n\s*/g, ' ') };
}

/** The last part of a resource URL: "…/zones/us-central1-a" → "us-central1-a". */
export function lastSegment(url: string | undefined): string {
  return (url ?? '').replace(/\/+$/, '').split('/').pop() ?? '';
}
