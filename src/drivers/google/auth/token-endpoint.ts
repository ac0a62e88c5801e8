import { addSecret } from '../../../debug.js';
import { MachineError } from '../../../errors.js';
import { CloudConnection } from '../../cloud/connection.js';
import { CloudAPIError, CloudUnreachableError } from '../../cloud/errors.js';

/** An access token and how long it is good for. */
export interface Minted {
  token: string;
  expiresInS: number;
}

export interface CallOptions {
  /** The credential as the user knows it ("the service-account key /path"), for error lines. */
  source: string;
  /** What to do when the endpoint refuses the credential (one clause). */
  hint: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  debug?(line: string): void;
}

// Google's endpoint answers in well under a second; these bound a dead one.
const TOKEN_TIMEOUT_MS = 30_000;
const TOKEN_RETRY = { maxAttempts: 4, maxDelayMs: 5_000 };

/**
 * One OAuth 2.0 token request (a form POST) to `tokenUri`, through the cloud layer's connection:
 * its trust store, proxy and retries. A token request is safe to repeat, so a lost answer or a
 * 503 is asked again. The endpoint's refusal ({error, error_description}) becomes one line naming
 * the credential's source, never its contents.
 */
export async function exchange(
  tokenUri: string,
  form: Record<string, string>,
  o: CallOptions,
): Promise<Minted> {
  const url = new URL(tokenUri);
  const path = `${url.pathname.split('/').pop() ?? ''}${url.search}`;
  const conn = new CloudConnection({
    provider: 'Google OAuth',
    endpoint: new URL('.', url).href,
    auth: () => ({}),
    parseError: oauthError,
    retry: TOKEN_RETRY,
    timeoutMs: TOKEN_TIMEOUT_MS,
    signal: o.signal,
    env: o.env,
    debug: o.debug,
  });
  const text = new URLSearchParams(form).toString();
  try {
    const res = await conn.request<unknown>('POST', path, undefined, {
      raw: { contentType: 'application/x-www-form-urlencoded', text },
      idempotent: true,
    });
    return minted(res.body, `${o.source}: the token endpoint ${tokenUri}`);
  } catch (err) {
    throw refused(err, o, `the token endpoint ${tokenUri}`);
  }
}

/**
 * A token from the GCE metadata server at `host` (the VM's service account). Never through a
 * proxy: the address is the VM's own link-local one.
 */
export async function metadataToken(host: string, o: CallOptions): Promise<Minted> {
  const conn = new CloudConnection({
    provider: 'GCE metadata server',
    endpoint: `http://${host}/computeMetadata/v1/`,
    auth: () => ({ 'metadata-flavor': 'Google' }),
    parseError: (status, body) => ({
      code: `HTTP ${status}`,
      message: typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body ?? '').slice(0, 200),
    }),
    retry: { maxAttempts: 3, maxDelayMs: 2_000 },
    timeoutMs: 10_000,
    signal: o.signal,
    env: { ...o.env, HTTP_PROXY: '', http_proxy: '' },
    debug: o.debug,
  });
  try {
    const res = await conn.request<unknown>('GET', 'instance/service-accounts/default/token');
    return minted(res.body, `${o.source} at ${host}`);
  } catch (err) {
    throw refused(err, o, `the GCE metadata server at ${host}`);
  }
}

function oauthError(status: number, body: unknown): { code: string; message: string } {
  const b = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const code = typeof b.error === 'string' ? b.error : `http_${status}`;
  const message =
    typeof b.error_description === 'string'
      ? b.error_description
      : typeof body === 'string'
        ? body.replace(/\s+/g, ' ').slice(0, 200)
        : 'no description';
  return { code, message };
}

function minted(body: unknown, where: string): Minted {
  const b = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  if (typeof b.access_token !== 'string' || b.access_token === '') {
    throw new MachineError(`${where} answered without an access_token`);
  }
  addSecret(b.access_token);
  const expires = Number(b.expires_in);
  // An answer without a lifetime is taken as Google's usual hour; a 401 later drops it anyway.
  return { token: b.access_token, expiresInS: Number.isFinite(expires) && expires > 0 ? expires : 3600 };
}

function refused(err: unknown, o: CallOptions, endpoint: string): unknown {
  if (err instanceof CloudAPIError) {
    const what = `${err.code}: ${err.apiMessage.trim()} (HTTP ${err.status})`;
    const hint = err.status >= 500 ? 'try again later' : o.hint;
    return new MachineError(`Google refused ${o.source} at ${endpoint}: ${what}; ${hint}`, { cause: err });
  }
  if (err instanceof CloudUnreachableError) {
    return new MachineError(`cannot get a Google access token for ${o.source}: ${err.message}`, {
      cause: err,
    });
  }
  return err;
}
