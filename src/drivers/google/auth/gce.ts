import { readFileSync } from 'node:fs';

/** Where Linux shows the machine's product name; GCE's VMs say "Google Compute Engine". */
export const DMI_PRODUCT_NAME = '/sys/class/dmi/id/product_name';

/** The metadata server's address on every GCE VM. */
export const METADATA_IP = '169.254.169.254';

/**
 * Whether to ask the GCE metadata server for a token, and at which host, decided without a
 * packet: GCE_METADATA_HOST names one (what Google's own libraries honour; a test's fake), or
 * this process runs on a GCE VM (its DMI product name says Google). Anywhere else the answer is
 * undefined and nothing is dialled: a probe of 169.254.169.254 from a laptop or a CI runner waits
 * for a timeout, and on another cloud reaches that cloud's metadata service.
 */
export function metadataHost(env: NodeJS.ProcessEnv, productFile = DMI_PRODUCT_NAME): string | undefined {
  const given = env.GCE_METADATA_HOST?.trim();
  if (given) return given;
  return onGCE(productFile) ? METADATA_IP : undefined;
}

export function onGCE(productFile = DMI_PRODUCT_NAME): boolean {
  try {
    return readFileSync(productFile, 'utf8').includes('Google');
  } catch {
    return false;
  }
}
