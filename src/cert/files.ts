import { writeFileAtomic } from '../store/atomic.js';

/** Certificates are public (0644); keys are secrets (0600). The key is written after the cert. */
export async function writeCertAndKey(
  certPath: string,
  cert: string,
  keyPath: string,
  key: string,
): Promise<void> {
  await writeFileAtomic(certPath, cert, 0o644);
  await writeFileAtomic(keyPath, key, 0o600);
}
