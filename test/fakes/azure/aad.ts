import { createHash, randomBytes, randomUUID, verify, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateServerCert } from '../../../src/cert/server.js';
import { makeTestCA } from '../../helpers/test-ca.js';

/**
 * A stateful Azure AD (Microsoft identity platform v2.0) on https://127.0.0.1 for the azure
 * driver's credential tests, written from Microsoft's protocol documentation: the token endpoint
 * (client credentials with a secret or a signed client assertion, the device code grant, the
 * refresh token grant), the device authorization endpoint, and OpenID discovery. It refuses what
 * Azure AD refuses, with Azure AD's error body ({error, error_description "AADSTS<n>: ...",
 * error_codes, timestamp, trace_id, correlation_id}). The test plays the user who answers a
 * device code (approve, deny). The Resource Manager fake accepts exactly the tokens this one
 * issued (acceptToken). Its certificate is signed by a CA of its own: trust `caPath`
 * (NODE_EXTRA_CA_CERTS).
 */

/** The Azure CLI's public client: the Azure SDKs' default for a device-code sign-in. */
export const AZURE_CLI_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

export interface FakeAADOptions {
  /** Lifetime of an access token (Azure AD: 3599 s or more). Short, to test renewal. */
  tokenLifetimeSec?: number;
  /** Lifetime of a device code (Azure AD: 900 s). */
  deviceCodeLifetimeSec?: number;
  /** Seconds the client must wait between polls of a device code (Azure AD: 5). */
  interval?: number;
  /** Answer slow_down to a poll that comes sooner than `interval` after the last one. */
  enforceInterval?: boolean;
}

export interface AppRegistration {
  clientId: string;
  /** The only tenant it signs in to; every tenant when absent (a multi-tenant app). */
  tenant?: string;
  secret?: string;
  /** The PEM certificate whose key may sign client assertions. */
  certificatePem?: string;
  /** Public clients (no secret) may use the device code grant; confidential ones may not. */
  publicClient?: boolean;
}

export interface IssuedToken {
  tenant: string;
  clientId: string;
  scope: string;
  grant: string;
  expiresAt: number;
}

interface DeviceCode {
  deviceCode: string;
  userCode: string;
  tenant: string;
  clientId: string;
  scope: string;
  expiresAt: number;
  state: 'pending' | 'approved' | 'denied' | 'redeemed';
  lastPoll: number;
}

interface Refresh {
  tenant: string;
  clientId: string;
  valid: boolean;
}

type Form = Record<string, string>;

class Refused extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly aadsts: number,
    readonly text: string,
  ) {
    super(text);
  }
}

export class FakeAzureAD {
  readonly opts: Required<FakeAADOptions>;
  readonly tenants = new Set<string>();
  readonly apps: AppRegistration[] = [];
  readonly tokens = new Map<string, IssuedToken>();
  readonly refreshTokens = new Map<string, Refresh>();
  readonly deviceCodes = new Map<string, DeviceCode>();
  /** Requests as "METHOD /path" (with the grant type for token requests). */
  readonly calls: string[] = [];
  caPath = '';
  url = '';
  private dir = '';
  private server: Server | undefined;
  private failures: { status: number; retryAfter?: number }[] = [];
  private slowDowns = 0;

  constructor(opts: FakeAADOptions = {}) {
    this.opts = {
      tokenLifetimeSec: opts.tokenLifetimeSec ?? 3599,
      deviceCodeLifetimeSec: opts.deviceCodeLifetimeSec ?? 900,
      interval: opts.interval ?? 5,
      enforceInterval: opts.enforceInterval ?? false,
    };
  }

  /** Listen on 127.0.0.1 with a certificate of a new test CA; `url` is the authority host. */
  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'fake-aad-'));
    await makeTestCA(this.dir, 'ca');
    this.caPath = join(this.dir, 'ca', 'ca.pem');
    await generateServerCert({
      caCertPath: this.caPath,
      caKeyPath: join(this.dir, 'ca', 'ca-key.pem'),
      certPath: join(this.dir, 'server.pem'),
      keyPath: join(this.dir, 'server-key.pem'),
      org: 'fake-aad',
      hosts: ['127.0.0.1', 'localhost'],
    });
    const [cert, key] = await Promise.all([
      readFile(join(this.dir, 'server.pem')),
      readFile(join(this.dir, 'server-key.pem')),
    ]);
    this.server = createServer({ cert, key }, (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        body += c;
      });
      req.on('end', () => this.handle(req, res, body));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise((r) => this.server!.close(r));
      this.server = undefined;
    }
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  addTenant(id: string): void {
    this.tenants.add(id);
  }

  registerApp(app: AppRegistration): void {
    this.apps.push(app);
  }

  /** The user signs in at the verification page and enters this code. */
  approve(userCode: string): void {
    this.answer(userCode, 'approved');
  }

  /** The user declines the sign-in. */
  deny(userCode: string): void {
    this.answer(userCode, 'denied');
  }

  /** The user codes handed out and not yet answered, oldest first. */
  pendingUserCodes(): string[] {
    return [...this.deviceCodes.values()].filter((d) => d.state === 'pending').map((d) => d.userCode);
  }

  /** What a token was issued for; undefined for a token this fake never issued. */
  issued(token: string): IssuedToken | undefined {
    return this.tokens.get(token);
  }

  /** Whether Resource Manager should take this bearer token: issued here and not expired. */
  acceptToken(token: string): boolean {
    const t = this.tokens.get(token);
    return !!t && t.expiresAt > Date.now();
  }

  /** Every access token issued so far stops being taken (a revoked session, a clock past them). */
  expireAccessTokens(): void {
    for (const t of this.tokens.values()) t.expiresAt = 0;
  }

  /** Every refresh token stops working (inactivity, a password change, a revoked session). */
  revokeRefreshTokens(): void {
    for (const r of this.refreshTokens.values()) r.valid = false;
  }

  /** The next `count` requests get this status (429 with Retry-After, or a 5xx) before any work. */
  failNext(count: number, status: number, retryAfter?: number): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, retryAfter });
  }

  /** The next `count` polls of a pending device code are told slow_down. */
  slowDownNext(count: number): void {
    this.slowDowns += count;
  }

  count(what: string): number {
    return this.calls.filter((c) => c.includes(what)).length;
  }

  private answer(userCode: string, state: 'approved' | 'denied'): void {
    const d = [...this.deviceCodes.values()].find((x) => x.userCode === userCode);
    if (!d) throw new Error(`fake Azure AD: no device code with user code ${userCode}`);
    if (d.state !== 'pending') throw new Error(`fake Azure AD: user code ${userCode} is already ${d.state}`);
    d.state = state;
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'https://fake');
    const m =
      /^\/([^/]+)\/(oauth2\/v2\.0\/(token|devicecode)|v2\.0\/\.well-known\/openid-configuration)$/.exec(
        url.pathname,
      );
    let label = `${req.method} ${url.pathname}`;
    const form = parseForm(req, body);
    if (m?.[3] === 'token' && form.grant_type) label += ` ${form.grant_type}`;
    this.calls.push(label);
    const failure = this.failures.shift();
    if (failure) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (failure.retryAfter !== undefined) headers['retry-after'] = String(failure.retryAfter);
      res.writeHead(failure.status, headers);
      res.end(
        JSON.stringify(errorBody('temporarily_unavailable', 0, 'The service is temporarily unavailable.')),
      );
      return;
    }
    try {
      if (!m)
        throw new Refused(404, 'invalid_request', 900561, `The endpoint ${url.pathname} does not exist.`);
      const tenant = decodeURIComponent(m[1]);
      if (!this.tenants.has(tenant)) {
        throw new Refused(
          400,
          'invalid_request',
          90002,
          `Tenant '${tenant}' not found. Check the tenant ID and the cloud you are signing in to.`,
        );
      }
      if (m[2].endsWith('openid-configuration')) {
        if (req.method !== 'GET') throw new Refused(405, 'invalid_request', 900561, 'Use GET.');
        json(res, 200, this.discovery(tenant));
        return;
      }
      if (req.method !== 'POST') {
        throw new Refused(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
      }
      if (!/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) {
        throw new Refused(
          400,
          'invalid_request',
          900144,
          "The request body must contain the following parameter: 'grant_type'.",
        );
      }
      json(
        res,
        200,
        m[3] === 'devicecode'
          ? this.deviceAuthorization(tenant, form)
          : this.token(tenant, form, `${this.url}${m[1]}/oauth2/v2.0/token`),
      );
    } catch (err) {
      // A bug of the fake's is a 500 the test sees, not a crash of the test process.
      if (!(err instanceof Refused)) {
        json(res, 500, errorBody('server_error', 0, `fake Azure AD failed: ${String(err)}`));
        return;
      }
      json(res, err.status, errorBody(err.error, err.aadsts, err.text));
    }
  }

  private discovery(tenant: string): Record<string, unknown> {
    const base = `${this.url}${tenant}`;
    return {
      issuer: `${base}/v2.0`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      jwks_uri: `${this.url}${tenant}/discovery/v2.0/keys`,
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      tenant_region_scope: 'EU',
    };
  }

  private app(tenant: string, clientId: string | undefined): AppRegistration {
    if (!clientId) {
      throw new Refused(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'client_id'.",
      );
    }
    const app = this.apps.find(
      (a) => a.clientId === clientId && (a.tenant === undefined || a.tenant === tenant),
    );
    if (!app) {
      throw new Refused(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'. The application may not be installed in this tenant, or the request went to the wrong tenant.`,
      );
    }
    return app;
  }

  private deviceAuthorization(tenant: string, form: Form): Record<string, unknown> {
    this.app(tenant, form.client_id);
    if (!form.scope) {
      throw new Refused(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'scope'.",
      );
    }
    const userCode = randomUserCode();
    const d: DeviceCode = {
      deviceCode: randomBytes(48).toString('base64url'),
      userCode,
      tenant,
      clientId: form.client_id,
      scope: form.scope,
      expiresAt: Date.now() + this.opts.deviceCodeLifetimeSec * 1000,
      state: 'pending',
      lastPoll: 0,
    };
    this.deviceCodes.set(d.deviceCode, d);
    const page = 'https://microsoft.com/devicelogin';
    return {
      user_code: userCode,
      device_code: d.deviceCode,
      verification_uri: page,
      expires_in: this.opts.deviceCodeLifetimeSec,
      interval: this.opts.interval,
      message: `To sign in, use a web browser to open the page ${page} and enter the code ${userCode} to authenticate.`,
    };
  }

  private token(tenant: string, form: Form, endpoint: string): Record<string, unknown> {
    switch (form.grant_type) {
      case 'client_credentials':
        return this.clientCredentials(tenant, form, endpoint);
      case 'urn:ietf:params:oauth:grant-type:device_code':
        return this.deviceCodeGrant(tenant, form);
      case 'refresh_token':
        return this.refreshGrant(tenant, form);
      case undefined:
      case '':
        throw new Refused(
          400,
          'invalid_request',
          900144,
          "The request body must contain the following parameter: 'grant_type'.",
        );
      default:
        throw new Refused(
          400,
          'unsupported_grant_type',
          70003,
          `The app requested an unsupported grant type '${form.grant_type}'.`,
        );
    }
  }

  private clientCredentials(tenant: string, form: Form, endpoint: string): Record<string, unknown> {
    const app = this.app(tenant, form.client_id);
    if (form.client_secret !== undefined) {
      if (!app.secret || form.client_secret !== app.secret) {
        throw new Refused(
          401,
          'invalid_client',
          7000215,
          `Invalid client secret provided. Send the secret's value, not its ID, for a secret added to app '${app.clientId}'.`,
        );
      }
    } else if (form.client_assertion !== undefined) {
      if (form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
        throw new Refused(400, 'invalid_request', 50027, 'The client_assertion_type is not jwt-bearer.');
      }
      verifyAssertion(form.client_assertion, app, endpoint);
    } else {
      throw new Refused(
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    }
    const scope = form.scope ?? '';
    if (!scope.endsWith('/.default') || scope.includes(' ')) {
      throw new Refused(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`,
      );
    }
    return this.mint(tenant, app.clientId, scope, 'client_credentials', false);
  }

  private deviceCodeGrant(tenant: string, form: Form): Record<string, unknown> {
    const d = this.deviceCodes.get(form.device_code ?? '');
    if (!d || d.tenant !== tenant || d.clientId !== form.client_id) {
      throw new Refused(
        400,
        'invalid_grant',
        70000,
        "The provided value for the input parameter 'device_code' is not valid.",
      );
    }
    const app = this.app(tenant, form.client_id);
    const now = Date.now();
    const early = this.opts.enforceInterval && now - d.lastPoll < this.opts.interval * 1000 - 100;
    d.lastPoll = now;
    if (d.expiresAt <= now && d.state !== 'redeemed') {
      throw new Refused(400, 'expired_token', 70019, 'Verification code expired.');
    }
    switch (d.state) {
      case 'pending':
        if (early || this.slowDowns > 0) {
          this.slowDowns = Math.max(0, this.slowDowns - 1);
          throw new Refused(400, 'slow_down', 70016, 'Polling too fast: slow down.');
        }
        throw new Refused(
          400,
          'authorization_pending',
          70016,
          'OAuth 2.0 device flow error. Authorization is pending. Continue polling.',
        );
      case 'denied':
        throw new Refused(400, 'authorization_declined', 70000, 'The user declined the sign-in request.');
      case 'redeemed':
        throw new Refused(
          400,
          'invalid_grant',
          70000,
          "The provided value for the input parameter 'device_code' is not valid.",
        );
    }
    if (!app.publicClient) {
      throw new Refused(
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    }
    d.state = 'redeemed';
    return this.mint(
      tenant,
      d.clientId,
      d.scope,
      'device_code',
      d.scope.split(' ').includes('offline_access'),
    );
  }

  private refreshGrant(tenant: string, form: Form): Record<string, unknown> {
    const r = this.refreshTokens.get(form.refresh_token ?? '');
    if (!r || r.tenant !== tenant || r.clientId !== form.client_id) {
      throw new Refused(
        400,
        'invalid_grant',
        9002313,
        'Invalid request. The refresh token is malformed or not valid.',
      );
    }
    if (!r.valid) {
      throw new Refused(
        400,
        'invalid_grant',
        700082,
        'The refresh token has expired due to inactivity. The token was issued a while ago and was inactive for too long.',
      );
    }
    const app = this.app(tenant, form.client_id);
    return this.mint(tenant, app.clientId, form.scope ?? '', 'refresh_token', true);
  }

  private mint(tenant: string, clientId: string, scope: string, grant: string, refresh: boolean) {
    const accessToken = `eyJ0eXAiOiJKV1Qi.${randomBytes(32).toString('base64url')}`;
    const resourceScope = scope
      .split(' ')
      .filter((s) => s && !['offline_access', 'openid', 'profile'].includes(s))
      .join(' ');
    this.tokens.set(accessToken, {
      tenant,
      clientId,
      scope: resourceScope,
      grant,
      expiresAt: Date.now() + this.opts.tokenLifetimeSec * 1000,
    });
    const out: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: resourceScope,
      expires_in: this.opts.tokenLifetimeSec,
      ext_expires_in: this.opts.tokenLifetimeSec,
      access_token: accessToken,
    };
    if (refresh) {
      const rt = `0.A${randomBytes(48).toString('base64url')}`;
      this.refreshTokens.set(rt, { tenant, clientId, valid: true });
      out.refresh_token = rt;
    }
    return out;
  }
}

function parseForm(req: IncomingMessage, body: string): Form {
  if (!/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) return {};
  return Object.fromEntries(new URLSearchParams(body));
}

/** Azure AD's user codes: nine letters and digits, easy to type. */
function randomUserCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(9)].map((b) => alphabet[b % alphabet.length]).join('');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function errorBody(error: string, aadsts: number, text: string): Record<string, unknown> {
  const trace = randomUUID();
  const correlation = randomUUID();
  const timestamp = `${new Date().toISOString().slice(0, 19).replace('T', ' ')}Z`;
  return {
    error,
    error_description: `AADSTS${aadsts}: ${text}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${correlation}\r\nTimestamp: ${timestamp}`,
    error_codes: [aadsts],
    timestamp,
    trace_id: trace,
    correlation_id: correlation,
  };
}

/**
 * A client assertion as Azure AD checks it: RS256, signed by the key of a certificate the app
 * has (named by its x5t#S256 or x5t thumbprint), for this token endpoint, from the app itself,
 * and within its time.
 */
function verifyAssertion(jwt: string, app: AppRegistration, endpoint: string): void {
  const parts = jwt.split('.');
  const bad = (n: number, text: string) => new Refused(401, 'invalid_client', n, text);
  if (parts.length !== 3) throw bad(50027, 'JWT token is invalid or malformed.');
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw bad(50027, 'JWT token is invalid or malformed.');
  }
  if (header.alg !== 'RS256')
    throw bad(5002738, `The JWT algorithm '${String(header.alg)}' is not supported.`);
  if (!app.certificatePem) {
    throw bad(
      700027,
      `Client assertion failed signature validation: app '${app.clientId}' has no certificate.`,
    );
  }
  const cert = new X509Certificate(app.certificatePem);
  const s256 = createHash('sha256').update(cert.raw).digest('base64url');
  const s1 = createHash('sha1').update(cert.raw).digest('base64url');
  if (header['x5t#S256'] !== s256 && header.x5t !== s1) {
    throw bad(
      700027,
      `Client assertion failed signature validation: the certificate with identifier ${String(header['x5t#S256'] ?? header.x5t)} is not registered on application '${app.clientId}'.`,
    );
  }
  const ok = verify(
    'RSA-SHA256',
    Buffer.from(`${parts[0]}.${parts[1]}`),
    cert.publicKey,
    Buffer.from(parts[2], 'base64url'),
  );
  if (!ok) throw bad(700027, 'Client assertion failed signature validation.');
  if (claims.aud !== endpoint) {
    throw bad(700212, `The audience claim '${String(claims.aud)}' is not the token endpoint '${endpoint}'.`);
  }
  if (claims.iss !== app.clientId || claims.sub !== app.clientId) {
    throw bad(700021, 'The client assertion issuer and subject must be the application id.');
  }
  const now = Date.now() / 1000;
  const exp = Number(claims.exp);
  const nbf = Number(claims.nbf ?? 0);
  if (!Number.isFinite(exp) || exp < now - 300 || nbf > now + 300) {
    throw bad(700024, 'Client assertion is not within its valid time range.');
  }
  if (typeof claims.jti !== 'string' || !claims.jti) throw bad(50027, "The assertion has no 'jti' claim.");
}
