import { MachineError } from '../../errors.js';
import { type APIResponse, CloudConnection } from '../cloud/connection.js';
import { CloudAPIError, isGone } from '../cloud/errors.js';
import { BearerToken, type TokenSource as RenewableToken } from '../cloud/reauth.js';
import type { DriverContext } from '../driver.js';
import { type LROOptions, OperationFailedError, waitForOperation } from './lro.js';

/**
 * Azure Resource Manager over the cloud layer's connection: a bearer token from the token source
 * (renewed once after a 401, as an expired or revoked token answers: cloud/reauth.ts), the api-version each
 * resource provider needs, errors as ARM writes them ({"error": {code, message, details}}) in one
 * line, and long-running operations followed to their end (lro.ts).
 */

/** The api-versions this driver speaks, per resource provider (the specs in api-specs/azure). */
export const API_VERSION = {
  compute: '2024-03-01',
  /** Managed disks version apart from the rest of Microsoft.Compute. */
  disks: '2024-03-02',
  network: '2024-01-01',
  resources: '2024-03-01',
  subscriptions: '2022-12-01',
} as const;
export type Provider = keyof typeof API_VERSION;

/** What the token source gives (src/drivers/azure/auth/). */
export interface TokenSource extends RenewableToken {
  /** "service principal 1234…" for lines a user reads. */
  readonly describe: string;
  /** What to do when a token just renewed is refused too ("run az login again"). */
  readonly hint: string;
}

export const PROVIDER = 'Azure';

/** ARM's words for "not now, this resource is busy": asked again, within BUSY_MS. */
const BUSY = /^(AnotherOperationInProgress|OperationPreempted|NicReservedForAnotherVm|RetryableError)$/;
const BUSY_MS = 5 * 60_000;

export class ARM {
  readonly conn: CloudConnection;
  readonly subscription: string;
  readonly lro: LROOptions;

  constructor(o: {
    endpoint: string;
    subscription: string;
    tokens: TokenSource;
    ctx?: Pick<DriverContext, 'debug' | 'signal'>;
    lro?: Partial<LROOptions>;
  }) {
    this.subscription = o.subscription;
    const bearer = BearerToken.of(o.tokens);
    this.conn = new CloudConnection({
      provider: PROVIDER,
      endpoint: o.endpoint.replace(/\/+$/, ''),
      auth: () => bearer.headers(),
      reauthenticate: { renew: (refused) => bearer.renew(refused), hint: () => o.tokens.hint },
      parseError: armError,
      debug: o.ctx?.debug,
      signal: o.ctx?.signal,
    });
    this.lro = {
      defaultIntervalMs: 5000,
      timeoutMs: 15 * 60_000,
      signal: o.ctx?.signal,
      ...o.lro,
    };
  }

  /** /subscriptions/<id> + path, with the provider's api-version. */
  path(provider: Provider, sub: string, query = ''): string {
    const base = `/subscriptions/${encodeURIComponent(this.subscription)}${sub}`;
    return `${base}?${query ? `${query}&` : ''}api-version=${API_VERSION[provider]}`;
  }

  /** One request, with the token. */
  send<T>(method: string, path: string, body?: unknown): Promise<APIResponse<T>> {
    return this.conn.request<T>(method, path, body);
  }

  async get<T>(path: string): Promise<T> {
    return (await this.send<T>('GET', path)).body;
  }

  /** The resource, or undefined when ARM says it does not exist. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  }

  /** Every item of a list, following nextLink (bounded against a looping API). */
  async list<T>(path: string): Promise<T[]> {
    const out: T[] = [];
    let next: string | undefined = path;
    for (let n = 0; next && n < 100; n++) {
      const page: { value?: T[]; nextLink?: string | null } | T[] = await this.get(this.sameOrigin(next));
      // A few lists (image versions, publishers) are a bare array, without paging.
      if (Array.isArray(page)) return [...out, ...page];
      out.push(...(page.value ?? []));
      next = page.nextLink ?? undefined;
    }
    return out;
  }

  /**
   * A create or update, followed to its end; the resource as ARM has it then. Repeated while
   * another operation holds the resource (another machine of a fleet making the same network).
   */
  async put<T>(path: string, body: unknown, what: string): Promise<T> {
    await this.untilFree(what, async () => {
      const first = await this.send<T>('PUT', path, body);
      await waitForOperation(this, first, what, path);
    });
    return this.get<T>(path);
  }

  /** A delete, followed to its end; a resource already gone counts as deleted. */
  async delete(path: string, what: string): Promise<void> {
    await this.untilFree(what, async () => {
      let first: APIResponse<unknown>;
      try {
        first = await this.send('DELETE', path);
      } catch (err) {
        if (isGone(err)) return;
        throw err;
      }
      await waitForOperation(this, first, what);
    });
  }

  /**
   * `op`, again while ARM says the resource is busy: another operation on it is running (ARM
   * names it: "use uri: https://...", which is followed to its end first), a newer one preempted
   * this one, or a deleted VM still holds its NIC. Bounded.
   */
  async untilFree<T>(what: string, op: () => Promise<T>, boundMs = BUSY_MS): Promise<T> {
    const started = Date.now();
    for (;;) {
      try {
        return await op();
      } catch (err) {
        const code = err instanceof CloudAPIError || err instanceof OperationFailedError ? err.code : '';
        if (!BUSY.test(code) || Date.now() - started > boundMs || this.lro.signal?.aborted) throw err;
        const uri =
          err instanceof CloudAPIError
            ? /use uri:\s*(https?:\/\/\S+?)\.?(?:\s|$)/.exec(err.apiMessage)?.[1]
            : undefined;
        this.conn.stats.retries++;
        if (uri)
          await waitForOperation(
            this,
            { status: 202, headers: { 'azure-asyncoperation': uri }, body: undefined },
            `the operation in progress on ${what}`,
          ).catch(() => {});
        else await new Promise((r) => setTimeout(r, Math.min(2000, this.lro.defaultIntervalMs)));
      }
    }
  }

  /** An action (start, powerOff, register, ...), followed to its end. */
  async action(path: string, what: string): Promise<void> {
    const first = await this.send('POST', path);
    await waitForOperation(this, first, what);
  }

  /**
   * A URL ARM gave (a nextLink, an operation to poll) as a path of this connection: only on the
   * endpoint's own origin, so that the token never goes anywhere else.
   */
  sameOrigin(url: string): string {
    if (url.startsWith('/')) return url;
    const u = new URL(url);
    const base = new URL(this.conn.endpoint);
    if (u.origin !== base.origin)
      throw new MachineError(
        `Azure answered with a URL on another host (${u.origin}, not ${base.origin}); it is not followed`,
      );
    return `${u.pathname}${u.search}`;
  }
}

/** ARM's error body in one line: the code, the message, and the first inner detail when it adds one. */
export function armError(status: number, body: unknown): { code: string; message: string } {
  const e = (body && typeof body === 'object' ? (body as { error?: unknown }).error : undefined) as
    | { code?: unknown; message?: unknown; details?: unknown }
    | undefined;
  const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
  let message =
    typeof e?.message === 'string'
      ? oneLine(e.message)
      : typeof body === 'string' && body.trim()
        ? oneLine(body).slice(0, 200)
        : 'no message';
  const details = Array.isArray(e?.details) ? (e.details as { code?: unknown; message?: unknown }[]) : [];
  const d = details.find((x) => typeof x?.message === 'string');
  if (d && !message.includes(String(d.message)))
    message = `${message} (${d.code}: ${oneLine(String(d.message))})`;
  return { code: typeof e?.code === 'string' ? e.code : `HTTP${status}`, message };
}
