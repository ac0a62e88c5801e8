import type { IncomingHttpHeaders } from 'node:http';
import { errorMessage, MachineError } from '../../errors.js';
import { CloudAPIError, CloudUnreachableError, CredentialsRefusedError } from './errors.js';
import {
  backoffMs,
  DEFAULT_RETRY,
  isIdempotent,
  isTransientStatus,
  type RetryPolicy,
  retryHintMs,
} from './retry.js';

/**
 * One provider's API connection (Libcloud's Connection): the endpoint, the credentials as
 * headers, JSON in and out, retries on throttling and transient errors, and the provider's error
 * bodies made into one line. Drivers speak only in the provider's operations above it.
 */
export interface ConnectionOptions {
  /** The provider's name as users know it, for error lines ("DigitalOcean"). */
  provider: string;
  /** Base URL; paths are appended to it. */
  endpoint: string;
  /**
   * Headers that authenticate a request; their values never reach a log line. Called for every
   * attempt with the request as it will be sent, so that a signature (AWS SigV4) covers it.
   * Asynchronous where the credentials are got on first use (an access token).
   */
  auth(req: SignableRequest): Record<string, string> | Promise<Record<string, string>>;
  /** The body of an answer as the provider writes it (default JSON; EC2 answers in XML). */
  parseBody?(text: string): unknown;
  /** The Accept header (default application/json). */
  accept?: string;
  /** The provider's error body as a code and a message (and a request id where it gives one). */
  parseError(
    status: number,
    body: unknown,
  ): { code: string; message: string; requestId?: string; gone?: boolean };
  /** Provider-specific throttling that is not HTTP 429 (EC2's RequestLimitExceeded in a 503). */
  isThrottled?(status: number, body: unknown): boolean;
  debug?(line: string): void;
  retry?: Partial<RetryPolicy>;
  /** Bound of one request, connection to last byte. */
  timeoutMs?: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /**
   * A private cloud's own trust (OpenStack's --openstack-cacert): these CAs are trusted besides
   * the usual ones; `insecure` checks no certificate at all, as the user asked.
   */
  tls?: { ca?: string[]; insecure?: boolean };
  /**
   * Credentials that can expire while a command runs (reauth.ts): on a 401, new ones, and the
   * request is sent once more with them. A 401 is a refusal before anything was done, so even a
   * POST is safe to repeat. Renewed credentials refused again end the request with the hint.
   */
  reauthenticate?: Reauthentication;
  /** For tests of the backoff: what waits between attempts. */
  sleep?(ms: number): Promise<void>;
}

export interface Reauthentication {
  /**
   * New credentials in place of `refused` (the headers auth() gave the refused request): one
   * renewal for all the requests refused with the same ones (a Renewal does that).
   */
  renew(refused: Record<string, string>): Promise<void>;
  /** What the user can do when renewed credentials are refused too ("run `az login` again"). */
  hint(): string;
}

/** A request as it goes out: what a signing provider signs. */
export interface SignableRequest {
  method: string;
  url: URL;
  /** The headers already set (host excluded); the signature's headers are added to them. */
  headers: Record<string, string>;
  payload: string | undefined;
}

/** How one request differs from the JSON default. */
export interface RequestOptions {
  /** A body already encoded (a form, for query APIs), sent as is with its content type. */
  raw?: { contentType: string; text: string };
  /**
   * The operation is safe to repeat although its method is not (a query API's Describe* sent
   * by POST, or a create carrying the provider's idempotency token).
   */
  idempotent?: boolean;
}

export interface APIResponse<T> {
  status: number;
  headers: IncomingHttpHeaders;
  body: T;
}

/** What a connection did, for the bench and for tests: requests sent, and those that were retried. */
export interface ConnectionStats {
  requests: number;
  retries: number;
  throttled: number;
  waitedMs: number;
}

// The same mark as src/debug.ts's, so a debug line reads alike whoever redacted it.
const REDACTED = '<REDACTED>';

export class CloudConnection {
  readonly stats: ConnectionStats = { requests: 0, retries: 0, throttled: 0, waitedMs: 0 };
  private readonly opts: ConnectionOptions;
  private readonly policy: RetryPolicy;
  private readonly base: URL;

  constructor(opts: ConnectionOptions) {
    this.opts = opts;
    this.policy = { ...DEFAULT_RETRY, ...opts.retry };
    try {
      this.base = new URL(opts.endpoint);
    } catch {
      throw new MachineError(
        `${opts.provider} API endpoint "${opts.endpoint}" is not a URL; give it as https://HOST[:PORT][/PATH]`,
      );
    }
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') {
      throw new MachineError(
        `${opts.provider} API endpoint "${opts.endpoint}" must start with https:// or http://`,
      );
    }
  }

  get endpoint(): string {
    return this.base.href;
  }

  async get<T>(path: string): Promise<T> {
    return (await this.request<T>('GET', path)).body;
  }
  async post<T>(path: string, body: unknown): Promise<T> {
    return (await this.request<T>('POST', path, body)).body;
  }
  async delete(path: string): Promise<void> {
    await this.request('DELETE', path);
  }

  /** One operation: attempts until an answer that is not throttled or transient, within the policy. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    ro: RequestOptions = {},
  ): Promise<APIResponse<T>> {
    const url = this.urlFor(path);
    const payload = ro.raw ? ro.raw.text : body === undefined ? undefined : JSON.stringify(body);
    const contentType = ro.raw ? ro.raw.contentType : 'application/json';
    const safe = ro.idempotent || isIdempotent(method);
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      // Outside the try below: credentials that cannot be had are their own error, not the API's.
      const { headers, credentials } = await this.headersFor(method, url, payload, contentType);
      let res: RawResponse;
      try {
        res = await this.send(method, url, headers, payload);
      } catch (err) {
        // A request that never got an answer may still have been acted on: only safe ones repeat.
        // A certificate that is not trusted stays so: asking again only delays the answer.
        const untrusted = isCertificateError(err);
        if (!safe || untrusted || attempt >= this.policy.maxAttempts || this.opts.signal?.aborted) {
          const hint = untrusted
            ? " (the server's certificate is not trusted here: add its CA to the system's or to NODE_EXTRA_CA_CERTS)"
            : '';
          throw new CloudUnreachableError(
            `${this.opts.provider} API at ${url.origin} could not be reached: ${errorMessage(err)}${hint}`,
          );
        }
        await this.pause(attempt, undefined, `${method} ${url.pathname}: ${errorMessage(err)}`);
        continue;
      }
      const parsed = this.opts.parseBody ? this.opts.parseBody(res.text) : parseJSON(res.text);
      if (res.status >= 200 && res.status < 300)
        return { status: res.status, headers: res.headers, body: parsed as T };
      if (res.status === 401 && this.opts.reauthenticate && !reauthenticated) {
        reauthenticated = true;
        this.opts.debug?.(`${method} ${url.pathname}: HTTP 401; authenticating again`);
        await this.opts.reauthenticate.renew(credentials);
        attempt--;
        continue;
      }
      const throttled = res.status === 429 || !!this.opts.isThrottled?.(res.status, parsed);
      const transient = isTransientStatus(res.status, safe ? 'GET' : method);
      if ((throttled || transient) && attempt < this.policy.maxAttempts) {
        if (throttled) this.stats.throttled++;
        await this.pause(
          attempt,
          retryHintMs(res.headers, Date.now(), throttled),
          `${method} ${url.pathname}: HTTP ${res.status}`,
        );
        continue;
      }
      const e = this.opts.parseError(res.status, parsed ?? res.text);
      if (reauthenticated && res.status === 401 && this.opts.reauthenticate)
        throw new CredentialsRefusedError(
          this.opts.provider,
          e,
          `${method} ${url.pathname}`,
          this.opts.reauthenticate.hint(),
        );
      throw new CloudAPIError(this.opts.provider, res.status, e.code, e.message, e.requestId, e.gone);
    }
  }

  private urlFor(path: string): URL {
    const base = this.base.href.endsWith('/') ? this.base.href : `${this.base.href}/`;
    return new URL(path.replace(/^\//, ''), base);
  }

  private async pause(attempt: number, hintMs: number | undefined, why: string): Promise<void> {
    const ms = backoffMs(this.policy, attempt, hintMs);
    this.stats.retries++;
    this.stats.waitedMs += ms;
    this.opts.debug?.(`${why}; retrying in ${ms} ms (attempt ${attempt + 1} of ${this.policy.maxAttempts})`);
    await (this.opts.sleep ?? sleep)(ms);
    if (this.opts.signal?.aborted) throw new MachineError('interrupted before it finished');
  }

  /** A request's headers, and apart the credentials among them (auth()'s). */
  private async headersFor(
    method: string,
    url: URL,
    payload: string | undefined,
    contentType: string,
  ): Promise<{ headers: Record<string, string>; credentials: Record<string, string> }> {
    const headers: Record<string, string> = {
      accept: this.opts.accept ?? 'application/json',
      'user-agent': 'docker-machine',
    };
    if (payload !== undefined) {
      headers['content-type'] = contentType;
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const credentials = await this.opts.auth({ method, url, headers: { ...headers }, payload });
    return { headers: { ...headers, ...credentials }, credentials };
  }

  private async send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    payload: string | undefined,
  ): Promise<RawResponse> {
    this.stats.requests++;
    const started = Date.now();
    this.opts.debug?.(`${method} ${url.href} ${redactHeaders(headers)}`);
    const res = await transport(method, url, headers, payload, {
      timeoutMs: this.opts.timeoutMs ?? 60_000,
      signal: this.opts.signal,
      env: this.opts.env ?? process.env,
      tls: this.opts.tls,
    });
    this.opts.debug?.(`${method} ${url.pathname} -> ${res.status} in ${Date.now() - started} ms`);
    return res;
  }
}

/** Header list for a debug line: credentials shown as <REDACTED>, whatever the provider calls them. */
export function redactHeaders(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([k, v]) => `${k}=${/authorization|token|secret|key|signature|cookie/i.test(k) ? REDACTED : v}`)
    .join(' ');
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

let httpsAgent: { ca: string[]; insecure: boolean; agent: import('node:http').Agent } | undefined;

async function transport(
  method: string,
  url: URL,
  headers: Record<string, string>,
  payload: string | undefined,
  o: {
    timeoutMs: number;
    signal?: AbortSignal;
    env: NodeJS.ProcessEnv;
    tls?: { ca?: string[]; insecure?: boolean };
  },
): Promise<RawResponse> {
  const { proxyFor, ConnectProxyAgent } = await import('./proxy.js');
  const proxy = proxyFor(url, o.env);
  const https = url.protocol === 'https:';
  const mod = https ? await import('node:https') : await import('node:http');
  const reqOpts: import('node:https').RequestOptions = {
    method,
    headers,
    timeout: o.timeoutMs,
    signal: o.signal,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || (https ? 443 : 80),
    path: `${url.pathname}${url.search}`,
  };
  if (https) {
    const { trustedCAs } = await import('./trust.js');
    const ca = o.tls?.ca?.length ? withExtra(trustedCAs(o.env), o.tls.ca) : trustedCAs(o.env);
    const insecure = o.tls?.insecure === true;
    const tlsOpts = insecure ? { rejectUnauthorized: false } : { ca };
    if (proxy) {
      reqOpts.agent = new ConnectProxyAgent(proxy, { ...tlsOpts, keepAlive: false });
    } else {
      // One agent per trust store: its TLS context is built once, and a create's calls share a
      // connection (free sockets do not keep the process alive).
      if (httpsAgent?.ca !== ca || httpsAgent.insecure !== insecure)
        httpsAgent = { ca, insecure, agent: new mod.Agent({ ...tlsOpts, keepAlive: true }) };
      reqOpts.agent = httpsAgent.agent;
    }
  } else if (proxy) {
    // Plain HTTP through a proxy: to the proxy, with the absolute URL on the request line.
    reqOpts.host = proxy.hostname.replace(/^\[|\]$/g, '');
    reqOpts.port = proxy.port || 80;
    reqOpts.path = url.href;
  }
  return new Promise((resolve, reject) => {
    const req = mod.request(reqOpts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${Math.round(o.timeoutMs / 1000)} s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

// The same array for the same extra CAs, so that the agent above is reused across a create's calls.
const withExtraCache = new Map<string, string[]>();
function withExtra(base: string[], extra: string[]): string[] {
  const key = extra.join('\n');
  let all = withExtraCache.get(key);
  if (!all || all.length !== base.length + extra.length) {
    all = [...base, ...extra];
    withExtraCache.set(key, all);
  }
  return all;
}

function parseJSON(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Node's codes for a TLS peer certificate that failed verification (OpenSSL's X509_V_ERR names). */
function isCertificateError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code);
}
