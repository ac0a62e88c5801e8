import { copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, MachineError } from '../errors.js';
import type { HostConfig } from '../store/host.js';

/**
 * The docker client reads ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH, the machine's
 * folder. The original copied them there only while provisioning, so `env` for a `none` machine
 * pointed docker at files that did not exist. We copy them at create, and again whenever one is
 * missing (machines made by the original).
 */
export async function ensureClientCertCopies(
  config: HostConfig,
  opts: { overwrite?: boolean } = {},
): Promise<void> {
  const auth = config.HostOptions.AuthOptions;
  const dir = auth.StorePath;
  const copies: [string, string, string][] = [
    ['ca.pem', auth.CaCertPath, join(dir, 'ca.pem')],
    ['cert.pem', auth.ClientCertPath, join(dir, 'cert.pem')],
    ['key.pem', auth.ClientKeyPath, join(dir, 'key.pem')],
  ];
  for (const [label, from, to] of copies) {
    if (!opts.overwrite && (await exists(to))) continue;
    try {
      await copyFile(from, to);
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
