import { join } from 'node:path';
import { bootstrapCertificates } from '../cert/bootstrap.js';
import { errorMessage, MachineError } from '../errors.js';
import type { AuthOptions } from '../store/host.js';
import type { ApiContext } from './context.js';

/**
 * Create the CA and client certificate when missing or expired. Concurrent creates on a new store
 * would race to make two CAs, so the bootstrap runs under a store-wide lock.
 */
export async function ensureCertificates(
  ctx: ApiContext,
  auth: AuthOptions,
  opts: { renewWithinMs?: number } = {},
): Promise<void> {
  try {
    await ctx.store.withStoreLock(
      'certs',
      () =>
        bootstrapCertificates(
          {
            CertDir: auth.CertDir || join(ctx.store.root, 'certs'),
            CaCertPath: auth.CaCertPath,
            CaPrivateKeyPath: auth.CaPrivateKeyPath,
            ClientCertPath: auth.ClientCertPath,
            ClientKeyPath: auth.ClientKeyPath,
          },
          (message) => ctx.events({ kind: 'info', message }),
          { renewWithinMs: opts.renewWithinMs },
        ),
      {
        doing: "checking or making the store's CA and client certificates",
        log: (message) => ctx.events({ kind: 'info', message }),
      },
    );
  } catch (err) {
    throw new MachineError(`Error generating certificates: ${errorMessage(err)}`, { cause: err });
  }
}
