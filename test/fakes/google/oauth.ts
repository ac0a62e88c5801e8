import { createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * Google's OAuth 2.0 token endpoint on 127.0.0.1, for the google driver's credential tests,
 * written from Google's OAuth 2.0 documentation for server-to-server and installed applications.
 *
 * POST /token takes a form (application/x-www-form-urlencoded) with either grant:
 * - urn:ietf:params:oauth:grant-type:jwt-bearer: `assertion` is an RS256 JWT signed by one of the
 *   fake's service accounts (see `writeServiceAccountKey`); the signature is checked against that
 *   account's public key, and iss, aud (this endpoint's URL), iat, exp (at most an hour after
 *   iat, not past) and scope as Google checks them;
 * - refresh_token: client_id, client_secret and refresh_token of the configured user (see
 *   `writeAuthorizedUser`).
 * It answers {access_token, expires_in, token_type} with opaque tokens, or Google's error shape
 * {"error": "invalid_grant", "error_description": "..."} (400; 401 for invalid_client).
 *
 * It also serves the GCE metadata server's token path
 * (GET /computeMetadata/v1/instance/service-accounts/default/token, Metadata-Flavor: Google), so
 * that the metadata-server source can be tested with GCE_METADATA_HOST pointing here.
 *
 * `acceptToken(token)` is what the Compute fake asks: was this token minted here, and is it still
 * good. Every request is recorded in `requests` for assertions.
 */

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const COMPUTE_SCOPE = 'https://www.googleapis.com/auth/compute';
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

export interface FakeOAuthOptions {
  /** Lifetime of the tokens it issues, in seconds (Google: 3599). Settable later too. */
  expiresIn?: number;
  /** The user of the refresh_token grant (generated when absent). */
  user?: { clientId: string; clientSecret: string; refreshToken: string };
  /** Scopes a service account may ask for; any other is invalid_scope. Default: compute, cloud-platform. */
  knownScopes?: string[];
  /** Serve HTTPS with this certificate (as Google's endpoint is), for tests of the trust store. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface FakeServiceAccount {
  email: string;
  projectId: string;
  keyId: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

export interface IssuedToken {
  /** 'service_account:EMAIL', 'authorized_user:CLIENT_ID' or 'metadata'. */
  source: string;
  scopes: string[];
  /** Epoch ms. */
  expiresAt: number;
  revoked: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The form fields of a POST (the test's own secrets: for assertions only). */
  form: Record<string, string>;
  status: number;
  /** The error code answered ('' on success). */
  error: string;
}

type Grant = { status: number; body: Record<string, unknown> };

export class FakeGoogleOAuth {
  url = '';
  expiresIn: number;
  readonly user: { clientId: string; clientSecret: string; refreshToken: string };
  readonly accounts = new Map<string, FakeServiceAccount>();
  readonly tokens = new Map<string, IssuedToken>();
  readonly requests: RecordedRequest[] = [];
  /** The metadata server's answers name this account and project. */
  metadataProject = 'fake-gce-project';
  private readonly knownScopes: Set<string>;
  private readonly tls: FakeOAuthOptions['tls'];
  private failures: { status: number; error: string; description: string }[] = [];
  private server: Server | undefined;
  private seq = 0;

  constructor(opts: FakeOAuthOptions = {}) {
    this.expiresIn = opts.expiresIn ?? 3599;
    this.user = opts.user ?? {
      clientId: `${randomBytes(6).toString('hex')}.apps.googleusercontent.com`,
      clientSecret: `fake-secret-${randomBytes(12).toString('hex')}`,
      refreshToken: `1//fake-refresh-${randomBytes(24).toString('hex')}`,
    };
    this.knownScopes = new Set(opts.knownScopes ?? [COMPUTE_SCOPE, CLOUD_PLATFORM_SCOPE]);
    this.tls = opts.tls;
  }

  /** This endpoint's token URL: what a key file's token_uri names and a JWT's aud must be. */
  get tokenUri(): string {
    return `${this.url}/token`;
  }

  /** host:port, as GCE_METADATA_HOST takes it. */
  get metadataHost(): string {
    return this.url.replace(/^https?:\/\//, '');
  }

  async start(): Promise<void> {
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.handle(req, res, Buffer.concat(chunks).toString('utf8'));
        } catch (err) {
          this.send(res, 500, { error: 'internal_failure', error_description: String(err) });
        }
      });
    };
    this.server = this.tls ? createHttpsServer(this.tls, listener) : createServer(listener);
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const scheme = this.tls ? 'https' : 'http';
    this.url = `${scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A new service account with its own RSA key (the first one made is the default for helpers). */
  addServiceAccount(name = `sa-${this.accounts.size + 1}`, projectId = 'fake-project'): FakeServiceAccount {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const account: FakeServiceAccount = {
      email: `${name}@${projectId}.iam.gserviceaccount.com`,
      projectId,
      keyId: randomBytes(20).toString('hex'),
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
    this.accounts.set(account.email, account);
    return account;
  }

  /** A service-account key JSON as the Cloud console downloads it, with token_uri = this endpoint. */
  serviceAccountKeyJSON(account?: FakeServiceAccount): string {
    const a = account ?? this.defaultAccount();
    return `${JSON.stringify(
      {
        type: 'service_account',
        project_id: a.projectId,
        private_key_id: a.keyId,
        private_key: a.privateKeyPem,
        client_email: a.email,
        client_id: String(100000000000000000000n + BigInt(this.accounts.size)),
        auth_uri: 'https://accounts.google.com/o/oauth2/auth',
        token_uri: this.tokenUri,
        auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
        client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(a.email)}`,
        universe_domain: 'googleapis.com',
      },
      null,
      2,
    )}\n`;
  }

  /** Writes that key JSON to `path` (mode 0600); returns the account. */
  async writeServiceAccountKey(path: string, account?: FakeServiceAccount): Promise<FakeServiceAccount> {
    const a = account ?? this.defaultAccount();
    await writeFile(path, this.serviceAccountKeyJSON(a), { mode: 0o600 });
    return a;
  }

  /**
   * The authorized_user JSON gcloud writes for application-default credentials. With
   * `tokenUri: false` it has no token_uri field, as gcloud's own files have none (the client then
   * uses Google's endpoint, which a test must never reach: use it only to check the default).
   */
  authorizedUserJSON(o: { tokenUri?: boolean } = {}): string {
    const doc: Record<string, string> = {
      account: '',
      client_id: this.user.clientId,
      client_secret: this.user.clientSecret,
      quota_project_id: 'fake-quota-project',
      refresh_token: this.user.refreshToken,
      type: 'authorized_user',
      universe_domain: 'googleapis.com',
    };
    if (o.tokenUri !== false) doc.token_uri = this.tokenUri;
    return `${JSON.stringify(doc, null, 2)}\n`;
  }

  async writeAuthorizedUser(path: string, o: { tokenUri?: boolean } = {}): Promise<void> {
    await writeFile(path, this.authorizedUserJSON(o), { mode: 0o600 });
  }

  /** What was issued under this token, or undefined if it never was. (Bound: pass it as is.) */
  readonly issued = (token: string): IssuedToken | undefined => this.tokens.get(token);

  /**
   * Whether a Compute API may accept this bearer token: minted here, not expired, not revoked.
   * Bound, so that it can be handed over as it is: `new FakeGCE({acceptToken: oauth.acceptToken})`.
   */
  readonly acceptToken = (token: string): boolean => {
    const t = this.tokens.get(token);
    return !!t && !t.revoked && t.expiresAt > Date.now();
  };

  /** The token stops being accepted (as after a password change or a key deletion). */
  revoke(token: string): void {
    const t = this.tokens.get(token);
    if (t) t.revoked = true;
  }

  /** The next token request gets this answer instead (e.g. 503 backendError to test retries). */
  failNext(status: number, error: string, description: string): void {
    this.failures.push({ status, error, description });
  }

  /** Token requests answered so far (successes and refusals), metadata ones included. */
  tokenRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path === '/token' || r.path.endsWith('/token'));
  }

  private defaultAccount(): FakeServiceAccount {
    return this.accounts.values().next().value ?? this.addServiceAccount();
  }

  private handle(req: IncomingMessage, res: ServerResponse, text: string): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const rec: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      headers: req.headers,
      form: {},
      status: 0,
      error: '',
    };
    this.requests.push(rec);
    const answer = (g: Grant) => {
      rec.status = g.status;
      rec.error = typeof g.body.error === 'string' ? g.body.error : '';
      this.send(res, g.status, g.body);
    };
    if (url.pathname.startsWith('/computeMetadata/')) {
      this.metadata(req, res, url, rec);
      return;
    }
    if (url.pathname !== '/token') {
      answer({ status: 404, body: { error: 'not_found', error_description: `no ${url.pathname} here` } });
      return;
    }
    if (req.method !== 'POST') {
      answer({ status: 405, body: { error: 'invalid_request', error_description: 'Use POST.' } });
      return;
    }
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]
      .trim();
    if (type !== 'application/x-www-form-urlencoded') {
      answer(oauthError(400, 'invalid_request', 'Invalid Content-Type; expected a form.'));
      return;
    }
    rec.form = Object.fromEntries(new URLSearchParams(text));
    const failure = this.failures.shift();
    if (failure) {
      answer(oauthError(failure.status, failure.error, failure.description));
      return;
    }
    const grant = rec.form.grant_type;
    if (grant === JWT_BEARER) answer(this.jwtGrant(rec.form));
    else if (grant === 'refresh_token') answer(this.refreshGrant(rec.form));
    else if (!grant) answer(oauthError(400, 'unsupported_grant_type', 'Invalid grant_type: '));
    else answer(oauthError(400, 'unsupported_grant_type', `Invalid grant_type: ${grant}`));
  }

  private jwtGrant(form: Record<string, string>): Grant {
    const parts = (form.assertion ?? '').split('.');
    if (parts.length !== 3) return oauthError(400, 'invalid_request', 'Invalid assertion format');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return oauthError(400, 'invalid_request', 'Invalid assertion format');
    }
    if (header.alg !== 'RS256') return oauthError(400, 'invalid_grant', 'Invalid JWT Signature.');
    const account = typeof claims.iss === 'string' ? this.accounts.get(claims.iss) : undefined;
    if (!account) return oauthError(400, 'invalid_grant', 'Invalid grant: account not found');
    if (header.kid !== undefined && header.kid !== account.keyId)
      return oauthError(400, 'invalid_grant', 'Invalid JWT Signature.');
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    const ok = verify(
      'RSA-SHA256',
      signed,
      createPublicKey(account.publicKeyPem),
      Buffer.from(parts[2], 'base64url'),
    );
    if (!ok) return oauthError(400, 'invalid_grant', 'Invalid JWT Signature.');
    if (claims.aud !== this.tokenUri)
      return oauthError(400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
    const now = Math.floor(Date.now() / 1000);
    const iat = claims.iat;
    const exp = claims.exp;
    // Google allows some clock skew; a token for longer than an hour is refused.
    if (
      typeof iat !== 'number' ||
      typeof exp !== 'number' ||
      exp <= iat ||
      exp - iat > 3600 ||
      iat > now + 300 ||
      exp < now - 300
    ) {
      return oauthError(
        400,
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
    if (scopes.length === 0 || scopes.some((s) => !this.knownScopes.has(s)))
      return oauthError(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    return this.mint(`service_account:${account.email}`, scopes);
  }

  private refreshGrant(form: Record<string, string>): Grant {
    if (form.client_id !== this.user.clientId)
      return oauthError(401, 'invalid_client', 'The OAuth client was not found.');
    if (form.client_secret !== this.user.clientSecret)
      return oauthError(401, 'invalid_client', 'Unauthorized');
    if (!form.refresh_token)
      return oauthError(400, 'invalid_request', 'Missing required parameter: refresh_token');
    if (form.refresh_token !== this.user.refreshToken)
      return oauthError(400, 'invalid_grant', 'Token has been expired or revoked.');
    const grant = this.mint(`authorized_user:${form.client_id}`, [CLOUD_PLATFORM_SCOPE]);
    grant.body.scope = CLOUD_PLATFORM_SCOPE;
    return grant;
  }

  private metadata(req: IncomingMessage, res: ServerResponse, url: URL, rec: RecordedRequest): void {
    const done = (status: number, body: string | Record<string, unknown>) => {
      rec.status = status;
      if (typeof body === 'string') {
        res.writeHead(status, { 'content-type': 'application/text', 'metadata-flavor': 'Google' });
        res.end(body);
      } else {
        this.send(res, status, body, { 'metadata-flavor': 'Google' });
      }
    };
    // The real server refuses a request without the header, to stop forwarded requests (SSRF).
    if (req.headers['metadata-flavor'] !== 'Google' || req.headers['x-forwarded-for']) {
      rec.error = 'forbidden';
      done(403, 'Missing Metadata-Flavor:Google header.');
      return;
    }
    if (url.pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
      const g = this.mint('metadata', [CLOUD_PLATFORM_SCOPE]);
      done(g.status, g.body);
    } else if (url.pathname === '/computeMetadata/v1/project/project-id') {
      done(200, this.metadataProject);
    } else {
      rec.error = 'not_found';
      done(404, 'Not Found');
    }
  }

  private mint(source: string, scopes: string[]): Grant {
    const token = `ya29.fake-${++this.seq}-${randomBytes(18).toString('base64url')}`;
    this.tokens.set(token, {
      source,
      scopes,
      expiresAt: Date.now() + this.expiresIn * 1000,
      revoked: false,
    });
    return { status: 200, body: { access_token: token, expires_in: this.expiresIn, token_type: 'Bearer' } };
  }

  private send(
    res: ServerResponse,
    status: number,
    body: Record<string, unknown>,
    extra: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-cache, no-store, max-age=0, must-revalidate',
      ...extra,
    });
    res.end(text);
  }
}

function oauthError(status: number, error: string, description: string): Grant {
  return { status, body: { error, error_description: description } };
}
