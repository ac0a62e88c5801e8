import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addSecret, debug as debugLog } from '../../../debug.js';
import { errnoText, fsError, MachineError } from '../../../errors.js';
import { DMI_PRODUCT_NAME, metadataHost } from './gce.js';
import { JWT_BEARER_GRANT, signedAssertion } from './jwt.js';
import { type CredentialFile, parseCredentialJSON } from './key-file.js';
import { type CallOptions, exchange, type Minted, metadataToken } from './token-endpoint.js';

/**
 * The google driver's credentials: where they are found, and access tokens from them.
 *
 * `googleTokenSource(options)` finds the first credential in this order (docs/drivers/google-credentials.md):
 *  1. `encodedJson` (--google-auth-encoded-json), else GOOGLE_AUTH_ENCODED_JSON: base64 of a key JSON;
 *  2. `keyFile` (a path the caller was given explicitly): a key JSON;
 *  3. GOOGLE_OAUTH_ACCESS_TOKEN: an access token used as it is, never refreshed;
 *  4. GOOGLE_APPLICATION_CREDENTIALS: a key JSON;
 *  5. gcloud's application-default credentials, $CLOUDSDK_CONFIG/application_default_credentials.json
 *     or ~/.config/gcloud/application_default_credentials.json;
 *  6. the GCE metadata server, only when GCE_METADATA_HOST names one or this process runs on a GCE
 *     VM (decided from the DMI product name, without a packet).
 * A key JSON is a service-account key (a signed JWT exchanged at its token_uri) or an
 * authorized_user file (its refresh token exchanged at its token_uri, else Google's).
 *
 * Finding a credential reads files only; the first `token()` makes the first request. Tokens are
 * kept in memory until a minute before they expire; `invalidate()` drops the current one (after a
 * 401) so that the next `token()` gets a new one. Keys, assertions, refresh tokens and access
 * tokens are never printed nor logged: each is registered with the debug log's redaction too.
 */
export interface GoogleTokenSource {
  /** A current access token for an Authorization: Bearer header. */
  token(): Promise<string>;
  /** Forget the current token: the API refused it. */
  invalidate(): void;
  /** Where the credential came from, for log and error lines ("the service-account key /k.json (sa@p.iam...)"). */
  readonly describe: string;
  /** The project of a service-account key (its project_id): a default for --google-project. */
  readonly projectId?: string;
  /** What the user can do when Google refuses a token of this source that was just renewed. */
  readonly hint: string;
}

export interface GoogleAuthOptions {
  /** --google-auth-encoded-json: base64 of a key JSON (raw JSON is taken too). */
  encodedJson?: string;
  /** A key JSON's path given explicitly to the driver. */
  keyFile?: string;
  env: NodeJS.ProcessEnv;
  /** The user's home, where gcloud keeps its configuration. */
  home: string;
  /** OAuth scopes a service account asks for (an authorized_user's and the VM's are fixed). */
  scopes: string[];
  signal?: AbortSignal;
  /** The driver's debug line (default: the process's debug log). */
  debug?(line: string): void;
  /** Tests: the clock, in ms. */
  now?(): number;
  /** Tests: the DMI product-name file that tells a GCE VM. */
  productFile?: string;
}

/** A token is renewed this long before it expires, so that a request never carries a dying one. */
const EARLY_RENEWAL_MS = 60_000;

const ENCODED_ENV = 'GOOGLE_AUTH_ENCODED_JSON';
const TOKEN_ENV = 'GOOGLE_OAUTH_ACCESS_TOKEN';
const KEY_ENV = 'GOOGLE_APPLICATION_CREDENTIALS';

export async function googleTokenSource(o: GoogleAuthOptions): Promise<GoogleTokenSource> {
  const log = o.debug ?? debugLog;
  const call: Omit<CallOptions, 'source' | 'hint'> = { env: o.env, signal: o.signal, debug: log };
  const now = o.now ?? Date.now;

  const encoded = o.encodedJson || o.env[ENCODED_ENV];
  if (encoded) {
    const where = o.encodedJson ? '--google-auth-encoded-json' : ENCODED_ENV;
    return chosen(
      fromCredential(parseCredentialJSON(decodeJSON(encoded, where), where), where, o, call, now),
      log,
    );
  }
  if (o.keyFile) {
    return chosen(
      fromFile(
        o.keyFile,
        `the key file ${o.keyFile}`,
        `the Google key file ${o.keyFile} cannot be read`,
        o,
        call,
        now,
      ),
      log,
    );
  }
  const envToken = o.env[TOKEN_ENV]?.trim();
  if (envToken) {
    addSecret(envToken);
    return chosen(new StaticToken(envToken, TOKEN_ENV), log);
  }
  const keyPath = o.env[KEY_ENV];
  if (keyPath) {
    return chosen(
      fromFile(
        keyPath,
        `${KEY_ENV} (${keyPath})`,
        `${KEY_ENV} names ${keyPath}, which cannot be read`,
        o,
        call,
        now,
      ),
      log,
    );
  }
  const adc = adcPath(o.env, o.home);
  const adcText = readIfPresent(adc);
  if (adcText !== undefined) {
    const where = `gcloud's application-default credentials ${adc}`;
    return chosen(fromCredential(parseCredentialJSON(adcText, where), where, o, call, now), log);
  }
  const host = metadataHost(o.env, o.productFile ?? DMI_PRODUCT_NAME);
  if (host) {
    const source = o.env.GCE_METADATA_HOST?.trim()
      ? `the GCE metadata server (GCE_METADATA_HOST=${host})`
      : "the GCE metadata server (this VM's service account)";
    const hint = 'give the VM a service account with the compute scope, or use a key file';
    return chosen(
      new CachedToken(source, undefined, hint, now, () => metadataToken(host, { ...call, source, hint })),
      log,
    );
  }
  throw new MachineError(
    `no Google credentials found: looked at --google-auth-encoded-json, ${ENCODED_ENV}, ${TOKEN_ENV}, ${KEY_ENV}, ${adc} and the GCE metadata server (not on GCE); run \`gcloud auth application-default login\`, or set ${KEY_ENV}=key.json (a service-account key)`,
  );
}

/** gcloud's application-default credentials file, where gcloud writes it. */
export function adcPath(env: NodeJS.ProcessEnv, home: string): string {
  if (env.CLOUDSDK_CONFIG) return join(env.CLOUDSDK_CONFIG, 'application_default_credentials.json');
  if (process.platform === 'win32' && env.APPDATA) {
    return join(env.APPDATA, 'gcloud', 'application_default_credentials.json');
  }
  return join(home, '.config', 'gcloud', 'application_default_credentials.json');
}

function chosen(s: GoogleTokenSource, log: (line: string) => void): GoogleTokenSource {
  log(`google: credentials from ${s.describe}`);
  return s;
}

function fromFile(
  path: string,
  where: string,
  unreadable: string,
  o: GoogleAuthOptions,
  call: Omit<CallOptions, 'source' | 'hint'>,
  now: () => number,
): GoogleTokenSource {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new MachineError(`${unreadable}: ${errnoText(err)}`, { cause: err });
  }
  return fromCredential(parseCredentialJSON(text, where), where, o, call, now);
}

function fromCredential(
  cred: CredentialFile,
  where: string,
  o: GoogleAuthOptions,
  call: Omit<CallOptions, 'source' | 'hint'>,
  now: () => number,
): GoogleTokenSource {
  if (cred.type === 'service_account') {
    addSecret(cred.privateKeyPem);
    const source = `the service-account key of ${cred.clientEmail} in ${where}`;
    const hint = `check that the key of ${cred.clientEmail} is not deleted or disabled and that this machine's clock is right`;
    return new CachedToken(source, cred.projectId, hint, now, () => {
      const assertion = signedAssertion(cred, o.scopes, Math.floor(now() / 1000));
      addSecret(assertion);
      return exchange(cred.tokenUri, { grant_type: JWT_BEARER_GRANT, assertion }, { ...call, source, hint });
    });
  }
  addSecret(cred.refreshToken);
  addSecret(cred.clientSecret);
  const source = `the user credentials in ${where}`;
  const hint = 'run `gcloud auth application-default login` again';
  return new CachedToken(source, undefined, hint, now, () =>
    exchange(
      cred.tokenUri,
      {
        grant_type: 'refresh_token',
        client_id: cred.clientId,
        client_secret: cred.clientSecret,
        refresh_token: cred.refreshToken,
      },
      { ...call, source, hint },
    ),
  );
}

/** A token minted on demand, kept until shortly before it expires; concurrent callers share one request. */
class CachedToken implements GoogleTokenSource {
  private current: { token: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    readonly describe: string,
    readonly projectId: string | undefined,
    readonly hint: string,
    private readonly now: () => number,
    private readonly mint: () => Promise<Minted>,
  ) {}

  token(): Promise<string> {
    if (this.current && this.now() < this.current.renewAt) return Promise.resolve(this.current.token);
    this.pending ??= this.mint()
      .then((m) => {
        this.current = { token: m.token, renewAt: this.now() + m.expiresInS * 1000 - EARLY_RENEWAL_MS };
        return m.token;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  invalidate(): void {
    this.current = undefined;
  }
}

/** GOOGLE_OAUTH_ACCESS_TOKEN: used as given; once refused, there is nothing to renew it from. */
class StaticToken implements GoogleTokenSource {
  readonly projectId = undefined;
  private refused = false;

  constructor(
    private readonly value: string,
    private readonly envName: string,
  ) {}

  get describe(): string {
    return this.envName;
  }

  get hint(): string {
    return `set ${this.envName} anew (gcloud auth print-access-token) or unset it to use a key file`;
  }

  token(): Promise<string> {
    if (this.refused) {
      return Promise.reject(
        new MachineError(
          `Google refused the access token in ${this.envName} (expired or revoked); set it anew (gcloud auth print-access-token) or unset it to use a key file`,
        ),
      );
    }
    return Promise.resolve(this.value);
  }

  invalidate(): void {
    this.refused = true;
  }
}

function decodeJSON(value: string, where: string): string {
  const t = value.trim();
  if (t.startsWith('{')) return t;
  const compact = t.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]+=*$/.test(compact)) {
    throw new MachineError(`${where} is not base64; give the key JSON encoded with base64 -w0 key.json`);
  }
  return Buffer.from(compact, 'base64').toString('utf8');
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return undefined;
    throw fsError("reading gcloud's application-default credentials", path, err);
  }
}
