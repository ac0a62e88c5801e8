import { execFile } from 'node:child_process';
import { addSecret } from '../../../debug.js';
import type { TokenResult } from './aad.js';

/**
 * A token from the Azure CLI's signed-in account ("az login"), for Resource Manager in one
 * tenant. Undefined when az is not installed, not signed in, or cannot give one: the caller goes
 * on to the next way of signing in. Its output holds a token: it is never logged.
 */
export async function azCliToken(o: {
  resource: string;
  tenantId: string;
  env: NodeJS.ProcessEnv;
  debug?(line: string): void;
  signal?: AbortSignal;
  timeoutMs?: number;
}): Promise<TokenResult | undefined> {
  const args = [
    'account',
    'get-access-token',
    '--resource',
    o.resource,
    '--tenant',
    o.tenantId,
    '-o',
    'json',
  ];
  o.debug?.(`azure: running az ${args.join(' ')}`);
  const out = await new Promise<{ code: number | string; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'az',
      args,
      { env: o.env, timeout: o.timeoutMs ?? 60_000, signal: o.signal, maxBuffer: 1 << 20, windowsHide: true },
      (err, stdout, stderr) =>
        resolve({
          code: err ? ((err as NodeJS.ErrnoException).code ?? 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });
  if (out.code !== 0) {
    const why = out.code === 'ENOENT' ? 'az is not on the PATH' : firstLine(out.stderr) || `exit ${out.code}`;
    o.debug?.(`azure: no token from the Azure CLI: ${why}`);
    return undefined;
  }
  let v: { accessToken?: unknown; expires_on?: unknown; expiresOn?: unknown };
  try {
    v = JSON.parse(out.stdout);
  } catch {
    o.debug?.('azure: the Azure CLI printed something other than JSON');
    return undefined;
  }
  if (typeof v.accessToken !== 'string' || !v.accessToken) return undefined;
  addSecret(v.accessToken);
  return { accessToken: v.accessToken, expiresAt: expiry(v) };
}

/**
 * expires_on (seconds since the epoch, az 2.54 and later) or expiresOn ("2026-12-06 10:20:30.000000",
 * in local time, earlier versions). A token of unknown life is used for five minutes.
 */
function expiry(v: { expires_on?: unknown; expiresOn?: unknown }): number {
  const epoch = Number(v.expires_on);
  if (Number.isFinite(epoch) && epoch > 0) return epoch * 1000;
  if (typeof v.expiresOn === 'string') {
    const t = Date.parse(v.expiresOn.replace(' ', 'T'));
    if (Number.isFinite(t)) return t;
  }
  return Date.now() + 5 * 60_000;
}

function firstLine(s: string): string {
  return (s.split(/\r?\n/).find((l) => l.trim()) ?? '').trim().slice(0, 200);
}
