import { MachineError } from '../../../errors.js';
import { CloudConnection } from '../../cloud/connection.js';
import { CloudAPIError } from '../../cloud/errors.js';
import type { DriverContext } from '../../driver.js';
import { parseOpenStackError } from '../errors.js';

/**
 * Keystone v3: a token for a password (user by id, or by name in a domain), an application
 * credential (by id, or by name with its user), or an existing token; scoped to a project by id,
 * or by name in a domain. Identity v2.0 (tenants) is not spoken: clouds turned it off years ago.
 */
export interface Credentials {
  authURL: string;
  userID: string;
  username: string;
  password: string;
  userDomainID: string;
  userDomainName: string;
  projectID: string;
  projectName: string;
  projectDomainID: string;
  projectDomainName: string;
  appCredID: string;
  appCredName: string;
  appCredSecret: string;
  token: string;
}

export interface CatalogEndpoint {
  interface: string;
  region: string;
  url: string;
}
export interface CatalogService {
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}
export interface Session {
  token: string;
  projectID: string;
  catalog: CatalogService[];
}

export interface TLS {
  ca?: string[];
  insecure?: boolean;
}

/** The v3 base of an auth URL: "…/v3" as given, or "/v3" added to a URL that names no version. */
export function v3URL(authURL: string): string {
  let u: URL;
  try {
    u = new URL(authURL);
  } catch {
    throw new MachineError(`--openstack-auth-url "${authURL}" is not a URL; give it as https://HOST:5000/v3`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new MachineError(`--openstack-auth-url "${authURL}" must start with https:// or http://`);
  const path = u.pathname.replace(/\/+$/, '');
  if (/\/v2(\.0)?$/.test(path))
    throw new MachineError(
      `--openstack-auth-url ${authURL} is Keystone v2.0, which this driver does not speak; give the v3 URL (${u.origin}${path.replace(/\/v2(\.0)?$/, '/v3')})`,
    );
  if (/\/v3$/.test(path)) return `${u.origin}${path}`;
  return `${u.origin}${path}/v3`;
}

function domain(id: string, name: string): Record<string, unknown> | undefined {
  if (id) return { id };
  if (name) return { name };
  return undefined;
}

/** The body of POST /v3/auth/tokens; one line naming what is missing when it cannot be made. */
export function authBody(c: Credentials): Record<string, unknown> {
  const user = (): Record<string, unknown> => {
    if (c.userID) return { id: c.userID };
    const d = domain(c.userDomainID, c.userDomainName);
    if (!d)
      throw new MachineError(
        `the user ${c.username} needs a domain: give --openstack-user-domain-name (or --openstack-domain-name, $OS_USER_DOMAIN_NAME), e.g. Default`,
      );
    return { name: c.username, domain: d };
  };
  let identity: Record<string, unknown>;
  if (c.appCredID || c.appCredName) {
    if (!c.appCredSecret)
      throw new MachineError(
        'an application credential needs its secret: give --openstack-application-credential-secret or $OS_APPLICATION_CREDENTIAL_SECRET',
      );
    if (!c.appCredID && !c.userID && !c.username)
      throw new MachineError(
        'an application credential given by name needs its user: give --openstack-username (with its domain) or --openstack-user-id, or give the credential by id',
      );
    identity = {
      methods: ['application_credential'],
      application_credential: c.appCredID
        ? { id: c.appCredID, secret: c.appCredSecret }
        : { name: c.appCredName, secret: c.appCredSecret, user: user() },
    };
    // Keystone refuses a scope with an application credential: it carries its own project.
    return { auth: { identity } };
  }
  if (c.token) {
    identity = { methods: ['token'], token: { id: c.token } };
  } else {
    if (!c.userID && !c.username)
      throw new MachineError(
        'Username must be specified either using the environment variable OS_USERNAME or the CLI option --openstack-username (or an application credential, a token or --openstack-cloud)',
      );
    if (!c.password)
      throw new MachineError(
        'Password must be specified either using the environment variable OS_PASSWORD or the CLI option --openstack-password',
      );
    identity = { methods: ['password'], password: { user: { ...user(), password: c.password } } };
  }
  let project: Record<string, unknown>;
  if (c.projectID) project = { id: c.projectID };
  else if (c.projectName) {
    const d = domain(c.projectDomainID, c.projectDomainName);
    if (!d)
      throw new MachineError(
        `the project ${c.projectName} needs a domain: give --openstack-tenant-domain-name (or --openstack-domain-name, $OS_PROJECT_DOMAIN_NAME), e.g. Default`,
      );
    project = { name: c.projectName, domain: d };
  } else
    throw new MachineError(
      'Tenant id or name must be provided either using one of the environment variables OS_TENANT_ID and OS_TENANT_NAME (or OS_PROJECT_ID and OS_PROJECT_NAME) or one of the CLI options --openstack-tenant-id and --openstack-tenant-name',
    );
  return { auth: { identity, scope: { project } } };
}

/** POST /v3/auth/tokens: the token (never logged) and the project's catalog. */
export async function authenticate(
  c: Credentials,
  tls: TLS,
  ctx?: Pick<DriverContext, 'debug' | 'signal'>,
): Promise<Session> {
  const base = v3URL(c.authURL);
  const body = authBody(c);
  const conn = new CloudConnection({
    provider: 'OpenStack Keystone',
    endpoint: base,
    auth: () => ({}),
    parseError: parseOpenStackError,
    debug: ctx?.debug,
    signal: ctx?.signal,
    tls,
    retry: { maxAttempts: 4 },
  });
  let res: Awaited<ReturnType<typeof conn.request<TokenBody>>>;
  try {
    res = await conn.request<TokenBody>('POST', 'auth/tokens', body, { idempotent: true });
  } catch (err) {
    if (err instanceof CloudAPIError && err.status === 401)
      throw new MachineError(
        `Keystone at ${base} refused the credentials (HTTP 401: ${err.apiMessage.trim() || 'Unauthorized'}); check the user, password or application credential, and the domain and project`,
      );
    if (err instanceof CloudAPIError && err.status === 404)
      throw new MachineError(
        `${base}/auth/tokens was not found (HTTP 404): --openstack-auth-url must be the Keystone v3 URL, e.g. https://HOST:5000/v3`,
      );
    throw err;
  }
  const h = res.headers['x-subject-token'];
  const token = (Array.isArray(h) ? h[0] : h) ?? '';
  if (!token)
    throw new MachineError(`Keystone at ${base} answered without a token (no X-Subject-Token header)`);
  const t = res.body?.token;
  if (!t?.catalog?.length)
    throw new MachineError(
      `Keystone at ${base} gave a token without a service catalog: the credentials are not scoped to a project; give --openstack-tenant-name or --openstack-tenant-id`,
    );
  return {
    token,
    projectID: t.project?.id ?? t.application_credential?.project_id ?? '',
    catalog: t.catalog.map((s) => ({
      type: s.type,
      name: s.name,
      endpoints: (s.endpoints ?? []).map((e) => ({
        interface: e.interface,
        region: e.region_id || e.region || '',
        url: e.url,
      })),
    })),
  };
}

interface TokenBody {
  token?: {
    project?: { id?: string };
    application_credential?: { project_id?: string };
    catalog?: {
      type: string;
      name?: string;
      endpoints?: { interface: string; region?: string; region_id?: string; url: string }[];
    }[];
  };
}

/**
 * The URL of a service from the catalog, by type (the first of several names a type has had),
 * interface and region. undefined when the catalog has none; errors name what it has instead.
 */
export function endpointFor(
  catalog: CatalogService[],
  types: string[],
  iface: string,
  region: string,
): string | undefined {
  for (const type of types) {
    const svc = catalog.find((s) => s.type === type);
    if (!svc) continue;
    const e = svc.endpoints.find((x) => x.interface === iface && (!region || x.region === region));
    if (e) return e.url.replace(/\/+$/, '');
  }
  return undefined;
}

/** The one line for a service the catalog lacks in this region and interface. */
export function missingEndpoint(
  catalog: CatalogService[],
  types: string[],
  iface: string,
  region: string,
): MachineError {
  const svc = catalog.filter((s) => types.includes(s.type));
  if (!svc.length)
    throw new MachineError(
      `the service catalog has no ${types[0]} service (it has ${catalog.map((s) => s.type).join(', ') || 'nothing'})`,
    );
  const offered = [
    ...new Set(svc.flatMap((s) => s.endpoints.map((e) => `${e.region || '(no region)'} ${e.interface}`))),
  ];
  return new MachineError(
    `the service catalog has no ${types[0]} endpoint for${region ? ` region ${region},` : ''} interface ${iface}; it has: ${offered.join(', ')} (choose with --openstack-region and --openstack-endpoint-type)`,
  );
}
