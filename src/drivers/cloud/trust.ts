import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/**
 * The certificates a cloud API's answer is checked against: Node's bundled roots, the system's
 * CA store (where a company or a private cloud installs its own CA), and NODE_EXTRA_CA_CERTS.
 * Node adds NODE_EXTRA_CA_CERTS only to its default store, which an explicit `ca` replaces: so
 * it is read here too. No pinning: any of these may sign the provider's certificate.
 */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Alpine, Arch
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL
  '/etc/ssl/ca-bundle.pem', // SUSE
  '/etc/ssl/cert.pem', // macOS, BSD
];

let cached: { key: string; ca: string[] } | undefined;

export function trustedCAs(env: NodeJS.ProcessEnv = process.env): string[] {
  const extra = env.NODE_EXTRA_CA_CERTS ?? '';
  if (cached?.key === extra) return cached.ca;
  const ca = [...rootCertificates];
  for (const file of SYSTEM_BUNDLES) {
    const pem = readIfThere(file);
    if (pem) {
      ca.push(pem);
      break;
    }
  }
  if (extra) {
    const pem = readIfThere(extra);
    if (pem) ca.push(pem);
  }
  cached = { key: extra, ca };
  return ca;
}

function readIfThere(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
