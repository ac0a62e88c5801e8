import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, fsError, MachineError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic.js';
import type { HostConfig } from '../store/host.js';

/**
 * The docker client reads ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH, the machine's
 * folder. The original copied them there only while provisioning, so `env` for a `none` machine
 * pointed docker at files that did not exist. We copy them at create, and again whenever one is
 * missing (machines made by the original). Each copy replaces its file in one rename, so a kill
 * never leaves a truncated file that the check for a missing one would take for whole; the key
 * stays 0600.
 */
export async function ensureClientCertCopies(
  config: HostConfig,
  opts: { overwrite?: boolean } = {},
): Promise<void> {
  const auth = config.HostOptions.AuthOptions;
  const dir = auth.StorePath;
  const copies: [string, string, string, number][] = [
    ['ca.pem', auth.CaCertPath, join(dir, 'ca.pem'), 0o644],
    ['key.pem', auth.ClientKeyPath, join(dir, 'key.pem'), 0o600],
    ['cert.pem', auth.ClientCertPath, join(dir, 'cert.pem'), 0o644],
  ];
  for (const [label, from, to, mode] of copies) {
    if (!opts.overwrite && (await exists(to))) continue;
    try {
      const data = await readFile(from).catch((err) => Promise.reject(fsError('reading', from, err)));
      await writeFileAtomic(to, data, mode);
    } catch (err) {
      throw new MachineError(`Copying ${label} to machine dir failed: ${errorMessage(err)}`, { cause: err });
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
