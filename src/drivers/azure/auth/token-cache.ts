import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { addSecret } from '../../../debug.js';
import { writeFileAtomic } from '../../../store/atomic.js';

/**
 * A device-code sign-in kept for the next command, as the original kept it: one file per tenant,
 * <store>/credentials/azure/<tenant>.json, mode 0600 in a 0700 folder. It holds the refresh token
 * (a credential: never printed) and the last access token with its expiry.
 */
export interface CachedLogin {
  authorityHost: string;
  clientId: string;
  tenantId: string;
  accessToken: string;
  /** ms since the epoch. */
  expiresAt: number;
  refreshToken: string;
  /** The scope the access token was issued for. */
  scope: string;
}

export function cacheFile(cacheDir: string, tenantId: string): string {
  return join(cacheDir, `${tenantId}.json`);
}

/** The login kept for this tenant, Azure AD and client; undefined when there is none or it is unreadable. */
export async function readLogin(
  cacheDir: string,
  want: { tenantId: string; authorityHost: string; clientId: string },
): Promise<CachedLogin | undefined> {
  let v: Partial<CachedLogin>;
  try {
    v = JSON.parse(await readFile(cacheFile(cacheDir, want.tenantId), 'utf8'));
  } catch {
    return undefined;
  }
  if (
    typeof v?.refreshToken !== 'string' ||
    !v.refreshToken ||
    v.tenantId !== want.tenantId ||
    v.authorityHost !== want.authorityHost ||
    v.clientId !== want.clientId
  ) {
    return undefined;
  }
  addSecret(v.refreshToken);
  addSecret(v.accessToken);
  return {
    authorityHost: v.authorityHost,
    clientId: v.clientId,
    tenantId: v.tenantId,
    accessToken: typeof v.accessToken === 'string' ? v.accessToken : '',
    expiresAt: typeof v.expiresAt === 'number' ? v.expiresAt : 0,
    refreshToken: v.refreshToken,
    scope: typeof v.scope === 'string' ? v.scope : '',
  };
}

export async function writeLogin(cacheDir: string, login: CachedLogin): Promise<void> {
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing folder's mode as it was; this one holds credentials.
  await chmod(cacheDir, 0o700);
  await writeFileAtomic(cacheFile(cacheDir, login.tenantId), `${JSON.stringify(login, null, 2)}\n`, 0o600);
}

export async function forgetLogin(cacheDir: string, tenantId: string): Promise<void> {
  await rm(cacheFile(cacheDir, tenantId), { force: true });
}
