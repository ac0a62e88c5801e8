import { createHash } from 'node:crypto';

/**
 * The MD5 fingerprint DigitalOcean and Hetzner give SSH keys (`ssh-keygen -E md5` without its
 * `MD5:`): hex pairs of the digest of the key blob in an authorized_keys line.
 */
export function md5Fingerprint(publicLine: string): string {
  const blob = Buffer.from(publicLine.trim().split(/\s+/)[1] ?? '', 'base64');
  return (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
}
