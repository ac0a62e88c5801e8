import { mkdir, readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { errorMessage, MachineError } from '../../../errors.js';
import { writeFileAtomic } from '../../../store/atomic.js';
import { CloudUnreachableError } from '../../cloud/errors.js';
import { ConnectProxyAgent, proxyFor } from '../../cloud/proxy.js';
import { backoffMs, DEFAULT_RETRY } from '../../cloud/retry.js';
import { trustedCAs } from '../../cloud/trust.js';
import type { AzureCloud } from './clouds.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A tenant is a GUID or a verified domain ("contoso.onmicrosoft.com"): it becomes a URL path segment. */
const TENANT = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$/;

export function checkSubscriptionId(id: string): string {
  const v = id.trim();
  if (!GUID.test(v)) {
    throw new MachineError(
      `azure subscription id "${id}" is not a subscription id (a GUID such as 00000000-0000-0000-0000-000000000000); give --azure-subscription-id (AZURE_SUBSCRIPTION_ID) from "az account list"`,
    );
  }
  return v.toLowerCase();
}

export function checkTenantId(id: string): string {
  const v = id.trim();
  if (!TENANT.test(v)) {
    throw new MachineError(
      `azure tenant "${id}" is not a tenant id (a GUID) or domain; give --azure-tenant-id (AZURE_TENANT_ID) from "az account show --query tenantId"`,
    );
  }
  return v;
}

export interface DiscoverOptions {
  /** Where the answer is kept as <subscription>.tenantid, as the original kept it. */
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  debug?(line: string): void;
}

/**
 * The tenant (Azure AD directory) a subscription belongs to, without any credential: Resource
 * Manager answers an unauthenticated GET of the subscription with 401 and a WWW-Authenticate
 * header whose authorization_uri ends in the tenant, as the original found it. The answer is
 * kept in cacheDir, so later commands ask nothing.
 */
export async function discoverTenant(
  cloud: AzureCloud,
  subscriptionId: string,
  o: DiscoverOptions = {},
): Promise<string> {
  const sub = checkSubscriptionId(subscriptionId);
  const file = o.cacheDir ? join(o.cacheDir, `${sub}.tenantid`) : undefined;
  if (file) {
    const kept = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (kept && TENANT.test(kept)) {
      o.debug?.(`azure: tenant of subscription ${sub} is ${kept} (from ${file})`);
      return kept;
    }
  }
  const url = new URL(`subscriptions/${sub}?api-version=2022-12-01`, cloud.resourceManager);
  const res = await getWithRetries(url, o);
  const challenge = headerValue(res.headers, 'www-authenticate');
  const uri = /authorization_uri="([^"]+)"/i.exec(challenge)?.[1];
  const tenant = uri ? lastSegment(uri) : '';
  if (res.status !== 401 || !tenant || !TENANT.test(tenant)) {
    const code = armErrorCode(res.text);
    throw new MachineError(
      res.status === 404 || code === 'SubscriptionNotFound'
        ? `azure subscription ${sub} was not found at ${cloud.resourceManager} (${cloud.name}); check --azure-subscription-id ("az account list") and --azure-environment`
        : `could not find the tenant of azure subscription ${sub}: Resource Manager at ${cloud.resourceManager} answered HTTP ${res.status}${code ? ` ${code}` : ''} without naming it; give --azure-tenant-id (AZURE_TENANT_ID)`,
    );
  }
  o.debug?.(`azure: tenant of subscription ${sub} is ${tenant} (from Resource Manager's 401)`);
  if (file && o.cacheDir) {
    await mkdir(o.cacheDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, tenant, 0o600);
  }
  return tenant;
}

function lastSegment(uri: string): string {
  try {
    return new URL(uri).pathname.split('/').filter(Boolean).pop() ?? '';
  } catch {
    return '';
  }
}

function headerValue(h: IncomingHttpHeaders, name: string): string {
  const v = h[name];
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
}

function armErrorCode(text: string): string {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } })?.error?.code;
    return typeof code === 'string' ? code.replace(/[^\w.-]/g, '') : '';
  } catch {
    return '';
  }
}

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A few attempts for a lost connection or a throttled or unavailable Resource Manager. */
async function getWithRetries(url: URL, o: DiscoverOptions): Promise<Raw> {
  const attempts = 4;
  for (let attempt = 1; ; attempt++) {
    let res: Raw | undefined;
    let failure = '';
    try {
      res = await get(url, o);
      o.debug?.(`GET ${url.href} -> ${res.status}`);
    } catch (err) {
      failure = errorMessage(err);
    }
    const again = !res || res.status === 429 || res.status >= 500;
    if (!again && res) return res;
    // A certificate that is not trusted stays untrusted: asking again would only delay the line.
    const untrusted = !res && /certificate|self[- ]signed/i.test(failure);
    if (attempt >= attempts || untrusted || o.signal?.aborted) {
      if (res) return res;
      throw new CloudUnreachableError(
        `Azure Resource Manager at ${url.origin} could not be reached: ${failure}`,
      );
    }
    await new Promise((r) => setTimeout(r, backoffMs(DEFAULT_RETRY, attempt)));
  }
}

let direct: { ca: string[]; agent: Agent } | undefined;

async function get(url: URL, o: DiscoverOptions): Promise<Raw> {
  const env = o.env ?? process.env;
  const ca = trustedCAs(env);
  const proxy = proxyFor(url, env);
  let agent: Agent;
  if (proxy) {
    agent = new ConnectProxyAgent(proxy, { ca });
  } else {
    // A TLS context of the whole trust store takes about 100 ms to build: once per store, not per connection.
    if (direct?.ca !== ca) direct = { ca, agent: new Agent({ secureContext: createSecureContext({ ca }) }) };
    agent = direct.agent;
  }
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        agent,
        timeout: 30_000,
        signal: o.signal,
        headers: { accept: 'application/json', 'user-agent': 'docker-machine' },
      },
      (res) => {
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
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end();
  });
}
