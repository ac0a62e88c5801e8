import { addSecret } from '../../../debug.js';
import { MachineError } from '../../../errors.js';
import { CloudConnection } from '../../cloud/connection.js';
import { CloudAPIError } from '../../cloud/errors.js';
import type { AzureCloud } from './clouds.js';

/**
 * Azure AD's (the Microsoft identity platform's) v2.0 endpoints under {authority}/{tenant}/oauth2/v2.0:
 * token and devicecode, form-encoded in, JSON out, errors as {error, error_description "AADSTS<n>:
 * ...", error_codes}. Every token and refresh token that comes back is registered with the debug
 * log's redaction, and no request body (which carries the secret or the assertion) is ever logged.
 */
export interface AADContext {
  cloud: AzureCloud;
  tenantId: string;
  env: NodeJS.ProcessEnv;
  debug?(line: string): void;
  signal?: AbortSignal;
}

export interface TokenResult {
  accessToken: string;
  /** When the token stops working, in ms since the epoch. */
  expiresAt: number;
  refreshToken?: string;
}

/** Azure AD said no: the OAuth error ("invalid_client"), the AADSTS number, its first line. */
export class AADRefusal extends MachineError {
  readonly error: string;
  readonly aadsts: number;
  readonly description: string;
  constructor(error: string, description: string, status: number) {
    const line = firstLine(description);
    super(`Azure AD: ${error}: ${line} (HTTP ${status})`);
    this.error = error;
    this.description = line;
    this.aadsts = Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0);
  }
}

function firstLine(s: string): string {
  // Azure AD appends "\r\nTrace ID: ...\r\nCorrelation ID: ...\r\nTimestamp: ..." to the text.
  return s
    .split(/\r?\n/)[0]
    .replace(/[\x00-\x1f\x7f]/g, ' ')
    .trim();
}

function connection(c: AADContext): CloudConnection {
  return new CloudConnection({
    provider: 'Azure AD',
    endpoint: c.cloud.authorityHost,
    auth: () => ({}),
    parseError(status, body) {
      const b = (body && typeof body === 'object' ? body : {}) as {
        error?: unknown;
        error_description?: unknown;
      };
      return {
        code: typeof b.error === 'string' ? b.error : `http_${status}`,
        message:
          typeof b.error_description === 'string'
            ? b.error_description
            : typeof body === 'string'
              ? body.slice(0, 200)
              : 'no description',
      };
    },
    debug: c.debug,
    signal: c.signal,
    env: c.env,
    timeoutMs: 30_000,
    retry: { maxAttempts: 4 },
  });
}

/** POST a form to {authority}/{tenant}/oauth2/v2.0/{what}; an Azure AD error becomes an AADRefusal. */
export async function postForm<T>(
  c: AADContext,
  what: 'token' | 'devicecode',
  form: Record<string, string>,
): Promise<T> {
  const path = `${encodeURIComponent(c.tenantId)}/oauth2/v2.0/${what}`;
  try {
    const res = await connection(c).request<T>('POST', path, undefined, {
      raw: { contentType: 'application/x-www-form-urlencoded', text: new URLSearchParams(form).toString() },
      // Asking again for a token, or for a device code's state, changes nothing at Azure AD.
      idempotent: true,
    });
    return res.body;
  } catch (err) {
    if (err instanceof CloudAPIError) throw new AADRefusal(err.code, err.apiMessage, err.status);
    throw err;
  }
}

/** The token endpoint's answer to one grant, checked for what the callers need. */
export async function requestToken(c: AADContext, form: Record<string, string>): Promise<TokenResult> {
  const body = await postForm<Record<string, unknown>>(c, 'token', form);
  const accessToken = body?.access_token;
  // v1 endpoints sent expires_in as a string; either is read.
  const expiresIn = Number(body?.expires_in);
  if (typeof accessToken !== 'string' || accessToken === '' || !Number.isFinite(expiresIn)) {
    throw new MachineError(
      `Azure AD at ${c.cloud.authorityHost} answered the token request without access_token and expires_in; check --azure-authority-host`,
    );
  }
  addSecret(accessToken);
  const refreshToken =
    typeof body.refresh_token === 'string' && body.refresh_token ? body.refresh_token : undefined;
  addSecret(refreshToken);
  return { accessToken, expiresAt: Date.now() + expiresIn * 1000, refreshToken };
}

/** Who was signing in, for the first words of an error line. */
export interface Signer {
  /** "service principal 0000... (client secret)", "device-code login (app 0000...)". */
  who: string;
  clientId: string;
  /** The certificate file, for the certificate path's advice. */
  certificatePath?: string;
}

/**
 * Azure AD's refusal as one line: who signed in, to which tenant, what Azure AD said (its AADSTS
 * number), and what to do. Never a secret: the line is built from the names, not from the request.
 */
export function explainRefusal(
  r: AADRefusal,
  s: Signer,
  c: Pick<AADContext, 'cloud' | 'tenantId'>,
): MachineError {
  const t = c.tenantId;
  const line = (what: string) =>
    new MachineError(`${s.who}: ${what} (tenant ${t}, ${c.cloud.authorityHost.replace(/\/$/, '')})`, {
      cause: r,
    });
  switch (r.aadsts) {
    case 700016:
      return line(
        `Azure AD has no application ${s.clientId} in this tenant (AADSTS700016); check --azure-client-id (AZURE_CLIENT_ID) and --azure-tenant-id (AZURE_TENANT_ID)`,
      );
    case 7000215:
      return line(
        `the client secret was refused (AADSTS7000215); give the secret's value, not its ID, with --azure-client-secret (AZURE_CLIENT_SECRET), or make a new one with "az ad sp credential reset"`,
      );
    case 7000222:
      return line(
        `the client secret has expired (AADSTS7000222); make a new one with "az ad sp credential reset" and give it with --azure-client-secret`,
      );
    case 90002:
    case 900023:
      return line(
        `Azure AD has no such tenant in ${c.cloud.name} (AADSTS${r.aadsts}); check --azure-tenant-id (AZURE_TENANT_ID) and --azure-environment`,
      );
    case 700027:
    case 700030:
      return line(
        `the certificate${s.certificatePath ? ` in ${s.certificatePath}` : ''} is not one the application has (AADSTS${r.aadsts}); upload it to the app registration ("az ad app credential reset --cert") or give the one it has`,
      );
    case 700024:
      return line(
        `the signed assertion is outside its valid time (AADSTS700024); check this computer's clock`,
      );
    case 7000218:
      return line(
        `application ${s.clientId} is not a public client, so it cannot sign in with a device code (AADSTS7000218); allow public client flows in its registration, or give its secret with --azure-client-secret`,
      );
    case 500011:
      return line(
        `the tenant does not know Resource Manager at ${c.cloud.resourceManager} (AADSTS500011); check --azure-resource-manager-endpoint and --azure-environment`,
      );
    case 1002012:
    case 70011:
      return line(`Azure AD refused the scope (AADSTS${r.aadsts}); check --azure-resource-manager-endpoint`);
    default:
      return line(`Azure AD refused the sign-in: ${r.description || r.error}`);
  }
}
