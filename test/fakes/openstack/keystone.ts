import { randomBytes } from 'node:crypto';
import { type ApiError, keystoneError } from './errors.js';
import type { Identity, Token } from './types.js';

/**
 * Keystone v3's POST /v3/auth/tokens, as the identity API reference and its samples
 * (../shared/reference/api-specs/openstack/keystone/api-ref/source/v3/samples/admin/auth-*)
 * describe: password (user by id, or by name with its domain by id or name), application
 * credential (by id, or by name with its user), token; scope a project (by id, or by name with
 * its domain), a domain, the system, or none. Keystone checks the body's shape first (400), then
 * the credentials (401, always the same message: it never says which part was wrong).
 */

type Obj = Record<string, unknown>;

const NEEDS_AUTH = 'The request you have made requires authentication.';

function obj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(field: string, message: string): ApiError {
  return keystoneError(400, `Invalid input for field '${field}': ${message}`);
}

/** Keystone's JSON schema for these objects has additionalProperties false at each level. */
function only(field: string, o: Obj, allowed: string[]): void {
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  if (extra.length) {
    throw invalid(
      field,
      `Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} ${extra.length > 1 ? 'were' : 'was'} unexpected)`,
    );
  }
}

function findDomain(id: Identity, ref: unknown, field: string) {
  if (!obj(ref)) throw invalid(field, `${JSON.stringify(ref)} is not of type 'object'`);
  only(field, ref, ['id', 'name']);
  if (typeof ref.id === 'string') return id.domains.find((d) => d.id === ref.id);
  if (typeof ref.name === 'string') return id.domains.find((d) => d.name === ref.name);
  throw keystoneError(400, `Expecting to find id or name in ${field.split('/').at(-1)}.`);
}

function findUser(id: Identity, ref: unknown, field: string, withPassword: boolean) {
  if (!obj(ref)) throw invalid(field, `${JSON.stringify(ref)} is not of type 'object'`);
  only(field, ref, withPassword ? ['id', 'name', 'domain', 'password'] : ['id', 'name', 'domain']);
  if (typeof ref.id === 'string') return id.users.find((u) => u.id === ref.id);
  if (typeof ref.name !== 'string') throw keystoneError(400, 'Expecting to find id or name in user.');
  if (ref.domain === undefined) throw keystoneError(400, 'Expecting to find domain in user.');
  const domain = findDomain(id, ref.domain, `${field}/domain`);
  return domain && id.users.find((u) => u.name === ref.name && u.domainId === domain.id);
}

export interface Authenticated {
  userId: string;
  methods: string[];
  projectId?: string;
  domainId?: string;
  system?: boolean;
  appCredentialId?: string;
}

/** Who a POST /v3/auth/tokens body proves to be, and the scope granted; throws Keystone's errors. */
export function authenticate(
  id: Identity,
  body: unknown,
  tokens: Map<string, Token>,
  now: number,
): Authenticated {
  if (!obj(body) || !obj(body.auth)) throw invalid('auth', "'auth' is a required property");
  const auth = body.auth;
  only('auth', auth, ['identity', 'scope']);
  const ident = auth.identity;
  if (!obj(ident)) throw invalid('auth', "'identity' is a required property");
  if (!Array.isArray(ident.methods) || ident.methods.some((m) => typeof m !== 'string')) {
    throw invalid('identity', "'methods' is a required property");
  }
  const methods = ident.methods as string[];
  for (const m of methods) {
    if (!['password', 'token', 'application_credential'].includes(m)) {
      throw keystoneError(401, 'Attempted to authenticate with an unsupported method.');
    }
    if (!obj(ident[m])) throw keystoneError(400, `Expecting to find ${m} in identity.`);
  }
  if (methods.length !== 1) throw keystoneError(401, NEEDS_AUTH);
  const method = methods[0];
  let result: Authenticated;
  if (method === 'password') {
    const pw = ident.password as Obj;
    only('identity/password', pw, ['user']);
    const user = findUser(id, pw.user, 'identity/password/user', true);
    const given = (pw.user as Obj).password;
    if (typeof given !== 'string') throw keystoneError(400, 'Expecting to find password in user.');
    if (!user || user.password !== given || user.enabled === false) throw keystoneError(401, NEEDS_AUTH);
    result = { userId: user.id, methods };
  } else if (method === 'application_credential') {
    const ac = ident.application_credential as Obj;
    only('identity/application_credential', ac, ['id', 'name', 'secret', 'user']);
    if (typeof ac.secret !== 'string')
      throw invalid('identity/application_credential', "'secret' is a required property");
    let cred: Identity['applicationCredentials'][number] | undefined;
    if (typeof ac.id === 'string') cred = id.applicationCredentials.find((c) => c.id === ac.id);
    else if (typeof ac.name === 'string') {
      if (ac.user === undefined) {
        throw keystoneError(400, 'Could not find user for application credential: a name needs its user.');
      }
      const user = findUser(id, ac.user, 'identity/application_credential/user', false);
      cred = user && id.applicationCredentials.find((c) => c.name === ac.name && c.userId === user.id);
    } else throw keystoneError(400, 'Expecting to find id or name in application_credential.');
    if (!cred || cred.secret !== ac.secret) throw keystoneError(401, NEEDS_AUTH);
    if (cred.expiresAt !== undefined && cred.expiresAt <= now) throw keystoneError(401, NEEDS_AUTH);
    // The credential carries its scope: asking for another one is refused.
    if (auth.scope !== undefined) throw keystoneError(401, 'Application credentials cannot request a scope.');
    return { userId: cred.userId, methods, projectId: cred.projectId, appCredentialId: cred.id };
  } else {
    const t = ident.token as Obj;
    only('identity/token', t, ['id']);
    const old = typeof t.id === 'string' ? tokens.get(t.id) : undefined;
    if (!old || old.expiresAt <= now || old.revoked) throw keystoneError(404, `Failed to validate token`);
    if (old.appCredentialId) throw keystoneError(401, NEEDS_AUTH);
    result = { userId: old.userId, methods: ['token'], projectId: old.projectId, domainId: old.domainId };
    if (auth.scope === undefined) return result;
  }
  const user = id.users.find((u) => u.id === result.userId)!;
  const scope = auth.scope;
  if (scope === undefined || scope === 'unscoped') {
    // Without a scope Keystone scopes to the user's default project, if there is one.
    if (scope === undefined && user.defaultProjectId && hasRole(id, user.id, user.defaultProjectId)) {
      return { ...result, projectId: user.defaultProjectId, domainId: undefined };
    }
    return { ...result, projectId: undefined, domainId: undefined };
  }
  if (!obj(scope))
    throw invalid('scope', `${JSON.stringify(scope)} is not valid under any of the given schemas`);
  only('scope', scope, ['project', 'domain', 'system', 'OS-TRUST:trust']);
  if (Object.keys(scope).length !== 1) throw invalid('scope', 'exactly one scope is expected');
  if (obj(scope.project)) {
    const p = scope.project;
    only('scope/project', p, ['id', 'name', 'domain']);
    let project: Identity['projects'][number] | undefined;
    if (typeof p.id === 'string') project = id.projects.find((x) => x.id === p.id);
    else if (typeof p.name === 'string') {
      if (p.domain === undefined) throw keystoneError(400, 'Expecting to find domain in project.');
      const domain = findDomain(id, p.domain, 'scope/project/domain');
      project = domain && id.projects.find((x) => x.name === p.name && x.domainId === domain.id);
    } else throw keystoneError(400, 'Expecting to find id or name in project.');
    if (!project || !hasRole(id, user.id, project.id)) throw keystoneError(401, NEEDS_AUTH);
    return { ...result, projectId: project.id, domainId: undefined };
  }
  if (obj(scope.domain)) {
    const domain = findDomain(id, scope.domain, 'scope/domain');
    if (!domain) throw keystoneError(401, NEEDS_AUTH);
    return { ...result, projectId: undefined, domainId: domain.id };
  }
  if (obj(scope.system)) {
    if (!user.admin) throw keystoneError(401, NEEDS_AUTH);
    return { ...result, projectId: undefined, domainId: undefined, system: true };
  }
  throw invalid('scope', `${JSON.stringify(scope)} is not valid under any of the given schemas`);
}

export function hasRole(id: Identity, userId: string, projectId: string): boolean {
  const user = id.users.find((u) => u.id === userId);
  return !!user && (user.projects === undefined || user.projects.includes(projectId));
}

export function newTokenId(): string {
  // Fernet tokens are ~180 url-safe characters; clients must not assume a shorter length.
  return `gAAAAA${randomBytes(132).toString('base64url')}`;
}

export function auditId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

/** Keystone's timestamps: ISO 8601 with microseconds and a Z. */
export function ksTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The token body of a 201 (or a GET /v3/auth/tokens), with the catalog for scoped tokens. */
export function tokenBody(id: Identity, t: Token, catalog: unknown[]): Obj {
  const user = id.users.find((u) => u.id === t.userId)!;
  const dom = (did: string) => {
    const d = id.domains.find((x) => x.id === did)!;
    return { id: d.id, name: d.name };
  };
  const token: Obj = {
    methods: t.methods,
    user: {
      domain: dom(user.domainId),
      id: user.id,
      name: user.name,
      password_expires_at: user.passwordExpiresAt ?? null,
    },
    audit_ids: [t.auditId],
    expires_at: ksTime(t.expiresAt),
    issued_at: ksTime(t.issuedAt),
  };
  const roles = [{ id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', name: 'member' }];
  if (user.admin) roles.push({ id: '51cc68287d524c759f47c811e6463340', name: 'admin' });
  if (t.projectId) {
    const p = id.projects.find((x) => x.id === t.projectId)!;
    token.project = { domain: dom(p.domainId), id: p.id, name: p.name };
    token.is_domain = false;
  } else if (t.domainId) {
    token.domain = dom(t.domainId);
  } else if (t.system) {
    token.system = { all: true };
  }
  if (t.projectId || t.domainId || t.system) {
    token.roles = roles;
    token.catalog = catalog;
  }
  if (t.appCredentialId) {
    const c = id.applicationCredentials.find((x) => x.id === t.appCredentialId)!;
    token.application_credential = { id: c.id, name: c.name, restricted: c.restricted ?? true };
  }
  return { token };
}
