import { addSecret, debug as logDebug } from '../../../debug.js';
import { MachineError } from '../../../errors.js';
import {
  type AADContext,
  AADRefusal,
  explainRefusal,
  requestToken,
  type Signer,
  type TokenResult,
} from './aad.js';
import { azCliToken } from './az-cli.js';
import type { AzureCloud } from './clouds.js';
import { deviceCodeLogin } from './device-code.js';
import { loadClientCertificate, withCertificate, withSecret } from './service-principal.js';
import { checkTenantId, discoverTenant } from './tenant.js';
import { type CachedLogin, cacheFile, forgetLogin, readLogin, writeLogin } from './token-cache.js';

/**
 * The azure driver's sign-in to Azure AD for Resource Manager, in this order:
 *
 * 1. a service principal with a secret (--azure-client-id and --azure-client-secret, or
 *    AZURE_CLIENT_ID and AZURE_CLIENT_SECRET);
 * 2. a service principal with a certificate (AZURE_CLIENT_CERTIFICATE_PATH: a PEM with the
 *    certificate and its key);
 * 3. a device-code login an earlier command kept in <store>/credentials/azure/<tenant>.json;
 * 4. the Azure CLI's signed-in account (az account get-access-token), when az is on the PATH
 *    and no application of the user's own was named for the device code;
 * 5. a new device-code login (the original's default), kept for the next command.
 *
 * The tenant is --azure-tenant-id or AZURE_TENANT_ID, else the subscription's own, asked of
 * Resource Manager. Nothing here asks the instance metadata address (169.254.169.254): a VM's
 * managed identity is never used. Secrets and tokens are never printed, nor logged with --debug.
 */
export { type AzureCloud, azureCloud, DEFAULT_CLOUD } from './clouds.js';
export { checkSubscriptionId, checkTenantId, discoverTenant } from './tenant.js';

/**
 * The public client a device-code login signs in with unless --azure-client-id names another:
 * the Azure CLI's, the default of Microsoft's own SDKs. (The original's app,
 * 637ddaba-219b-43b8-bf19-8cea500cf273, may no longer exist.)
 */
export const DEVICE_CODE_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

export interface AzureTokenSource {
  /** A bearer token for Resource Manager, renewed a minute before it expires. */
  token(): Promise<string>;
  /** Forget the token in memory (after Resource Manager answered 401): the next token() renews it. */
  invalidate(): void;
  /** How it signed in, for a debug or progress line: never a secret. */
  readonly describe: string;
  /** What the user can do when Resource Manager refuses a token of this sign-in just renewed. */
  readonly hint: string;
  readonly tenantId: string;
}

export interface AzureAuthOptions {
  cloud: AzureCloud;
  subscriptionId: string;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  clientCertificatePath?: string;
  /** <store>/credentials/azure: the kept logins and the subscriptions' tenants. */
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  /** A line for the user (stderr): the device code and the page to enter it at. */
  notify(line: string): void;
  signal?: AbortSignal;
  debug?(line: string): void;
}

/** Signs in (one of the five ways above) and returns a source of Resource Manager tokens. */
export async function azureTokenSource(o: AzureAuthOptions): Promise<AzureTokenSource> {
  const env = o.env;
  const debug = o.debug ?? logDebug;
  const secret = o.clientSecret || env.AZURE_CLIENT_SECRET || '';
  addSecret(secret);
  const given = (o.clientId || env.AZURE_CLIENT_ID || '').trim();
  const clientId = given ? checkClientId(given) : '';
  const certPath = o.clientCertificatePath || env.AZURE_CLIENT_CERTIFICATE_PATH || '';
  if ((secret || certPath) && !clientId) {
    throw new MachineError(
      `a service principal's ${secret ? 'client secret' : 'certificate'} needs its application (client) id: give --azure-client-id (AZURE_CLIENT_ID)`,
    );
  }
  const tenantGiven = o.tenantId || env.AZURE_TENANT_ID;
  const tenantId = tenantGiven
    ? checkTenantId(tenantGiven)
    : await discoverTenant(o.cloud, o.subscriptionId, { cacheDir: o.cacheDir, env, signal: o.signal, debug });
  const c: AADContext = { cloud: o.cloud, tenantId, env, debug, signal: o.signal };

  let source: TokenSource;
  const inTenant = `and that the subscription is in tenant ${tenantId} (--azure-tenant-id)`;
  if (secret) {
    const signer = { who: `service principal ${clientId} (client secret)`, clientId };
    source = new TokenSource(
      signer.who,
      `check that the client secret of service principal ${clientId} is current ${inTenant}`,
      tenantId,
      explained(withSecret(c, clientId, secret), signer, c),
    );
  } else if (certPath) {
    const cert = await loadClientCertificate(certPath, env.AZURE_CLIENT_CERTIFICATE_PASSWORD);
    const signer = {
      who: `service principal ${clientId} (certificate ${certPath})`,
      clientId,
      certificatePath: certPath,
    };
    source = new TokenSource(
      signer.who,
      `check that ${certPath} is still a certificate of service principal ${clientId} ${inTenant}`,
      tenantId,
      explained(withCertificate(c, clientId, cert), signer, c),
    );
  } else {
    return interactive(o, c, clientId || DEVICE_CODE_CLIENT_ID, !clientId);
  }
  debug(`azure: signing in to tenant ${tenantId} as ${source.describe}`);
  // Now, so that a refused credential is one line before anything is made.
  await source.token();
  return source;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkClientId(id: string): string {
  if (!GUID.test(id)) {
    throw new MachineError(
      `azure client id "${id}" is not an application (client) id, a GUID such as 00000000-0000-0000-0000-000000000000; give the appId of the service principal (az ad sp list --display-name NAME)`,
    );
  }
  return id.toLowerCase();
}

function explained(
  acquire: () => Promise<TokenResult>,
  signer: Signer,
  c: AADContext,
): () => Promise<TokenResult> {
  return async () => {
    try {
      return await acquire();
    } catch (err) {
      throw err instanceof AADRefusal ? explainRefusal(err, signer, c) : err;
    }
  };
}

/**
 * Paths 3 to 5: a kept login, the Azure CLI, a new device-code login. An application of the
 * user's own (--azure-client-id without a secret) says which identity to sign in with: the Azure
 * CLI's account, another identity, is then not used.
 */
async function interactive(
  o: AzureAuthOptions,
  c: AADContext,
  clientId: string,
  tryAzureCLI: boolean,
): Promise<AzureTokenSource> {
  const debug = c.debug ?? (() => {});
  const scope = `${c.cloud.armScope} offline_access`;
  const want = { tenantId: c.tenantId, authorityHost: c.cloud.authorityHost, clientId };
  const file = cacheFile(o.cacheDir, c.tenantId);
  const signer = { who: `device-code login (app ${clientId})`, clientId };
  let login: CachedLogin | undefined = await readLogin(o.cacheDir, want);

  const keep = async (t: TokenResult): Promise<TokenResult> => {
    login = {
      ...want,
      accessToken: t.accessToken,
      expiresAt: t.expiresAt,
      refreshToken: t.refreshToken ?? login?.refreshToken ?? '',
      scope,
    };
    if (login.refreshToken) await writeLogin(o.cacheDir, login);
    return t;
  };
  /** The kept refresh token, for a new access token; undefined when Azure AD no longer takes it. */
  const refresh = async (): Promise<TokenResult | undefined> => {
    if (!login) return undefined;
    try {
      return await keep(
        await requestToken(c, {
          grant_type: 'refresh_token',
          client_id: clientId,
          refresh_token: login.refreshToken,
          scope,
        }),
      );
    } catch (err) {
      if (!(err instanceof AADRefusal && err.error === 'invalid_grant')) {
        throw err instanceof AADRefusal
          ? explainRefusal(err, { ...signer, who: `the login kept in ${file}` }, c)
          : err;
      }
      debug(`azure: the login kept in ${file} was refused (AADSTS${err.aadsts}); signing in again`);
      await forgetLogin(o.cacheDir, c.tenantId);
      login = undefined;
      return undefined;
    }
  };
  const device = explained(async () => keep(await deviceCodeLogin(c, clientId, o.notify)), signer, c);
  const renew = async () => (await refresh()) ?? device();
  const signInAgain = `sign in again (remove ${file} for a new device-code login) with an account that may use the subscription in tenant ${c.tenantId}`;

  if (login) {
    const fresh =
      login.scope === scope && login.accessToken && login.expiresAt - 60_000 > Date.now()
        ? login
        : await refresh();
    if (fresh) {
      debug(`azure: signed in to tenant ${c.tenantId} with the login kept in ${file}`);
      return new TokenSource(`device-code login kept in ${file}`, signInAgain, c.tenantId, renew, fresh);
    }
  }

  const az = () =>
    azCliToken({
      resource: c.cloud.resourceManager,
      tenantId: c.tenantId,
      env: c.env,
      debug,
      signal: c.signal,
    });
  const fromAz = tryAzureCLI ? await az() : undefined;
  if (fromAz) {
    debug(`azure: signed in to tenant ${c.tenantId} with the Azure CLI's account`);
    return new TokenSource(
      "the Azure CLI's account (az login)",
      `run "az login --tenant ${c.tenantId}" again`,
      c.tenantId,
      async () => {
        const t = await az();
        if (!t) {
          throw new MachineError(
            `the Azure CLI no longer gives a token for tenant ${c.tenantId}; run "az login --tenant ${c.tenantId}" and try again`,
          );
        }
        return t;
      },
      fromAz,
    );
  }

  debug(`azure: signing in to tenant ${c.tenantId} with a device code (app ${clientId})`);
  const source = new TokenSource(signer.who, signInAgain, c.tenantId, renew, await device());
  return source;
}

/** A token kept in memory until shortly before it expires; one renewal at a time. */
class TokenSource implements AzureTokenSource {
  readonly describe: string;
  readonly hint: string;
  readonly tenantId: string;
  private current: (TokenResult & { obtainedAt: number }) | undefined;
  private pending: Promise<string> | undefined;
  private readonly renew: () => Promise<TokenResult>;

  constructor(
    describe: string,
    hint: string,
    tenantId: string,
    renew: () => Promise<TokenResult>,
    first?: TokenResult,
  ) {
    this.describe = describe;
    this.hint = hint;
    this.tenantId = tenantId;
    this.renew = renew;
    if (first) this.current = { ...first, obtainedAt: Date.now() };
  }

  token(): Promise<string> {
    const t = this.current;
    // A minute early, or half its life for a token that lives less than two minutes.
    if (t && t.expiresAt - Math.min(60_000, (t.expiresAt - t.obtainedAt) / 2) > Date.now()) {
      return Promise.resolve(t.accessToken);
    }
    this.pending ??= this.renew()
      .then((n) => {
        this.current = { ...n, obtainedAt: Date.now() };
        return n.accessToken;
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
