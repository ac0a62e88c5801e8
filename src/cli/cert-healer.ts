import type { CertHealer } from './cert-heal-hook.js';

/**
 * The healer of the entries that hold the whole CLI (main.ts, and main-standalone.ts, where the
 * light commands run too): reissuing needs SSH and provisioning, read only when a certificate
 * needs it. The light bundle does not import this; it hands the command line over instead.
 */
export const healByImport: CertHealer = async (ctx, name, swarm) => {
  const { healMachine } = await import('./cert-heal.js');
  await healMachine(ctx, name, swarm);
};
