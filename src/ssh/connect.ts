import type { SSHClient, SSHTarget } from './client.js';
import { externalClient } from './external.js';

/**
 * The client the original would pick: the system ssh when it is on PATH, the built-in one with
 * --native-ssh or when there is no ssh binary.
 */
export async function connectSSH(
  target: SSHTarget,
  opts: { native: boolean; connectTimeoutMs?: number },
): Promise<SSHClient> {
  if (opts.native || !(await hasSSHBinary())) {
    const { nativeClient } = await import('./native.js');
    return nativeClient(target, opts);
  }
  return externalClient(target, opts);
}

async function hasSSHBinary(): Promise<boolean> {
  const { existsSync } = await import('node:fs');
  const { delimiter, join } = await import('node:path');
  return (process.env.PATH ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, 'ssh')));
}
