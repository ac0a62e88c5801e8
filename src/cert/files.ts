import { writeFileAtomic } from '../store/atomic.js';
import { pauseAt } from '../test-pause.js';

/**
 * Certificates are public (0644); keys are secrets (0600). The key goes first and the certificate
 * last, each replacing its file in one rename: a pair exists once its certificate does, and a
 * kill in between leaves a key without its certificate, which bootstrap knows for a half pair.
 * `pausePoint` names the moment between the two for tests (test-pause.ts).
 */
export async function writeCertAndKey(
  certPath: string,
  cert: string,
  keyPath: string,
  key: string,
  pausePoint = 'cert-key-written',
): Promise<void> {
  await writeFileAtomic(keyPath, key, 0o600);
  await pauseAt(pausePoint);
  await writeFileAtomic(certPath, cert, 0o644);
}
