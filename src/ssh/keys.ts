import { createHash, createPublicKey } from 'node:crypto';
import { newRSAKey } from '../cert/keys.js';
import { writeFileAtomic } from '../store/atomic.js';

/**
 * A machine's SSH key pair as the original makes it (spec §7.9): RSA 2048, the private key as PEM
 * "RSA PRIVATE KEY" (PKCS#1), the public key as an authorized_keys line. Both files 0600.
 */
export async function generateSSHKeyPair(privatePath: string): Promise<{ publicLine: string }> {
  const { privateKey } = await newRSAKey();
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const publicLine = `${sshRsaPublicKey(pem)}\n`;
  await writeFileAtomic(privatePath, pem, 0o600);
  await writeFileAtomic(`${privatePath}.pub`, publicLine, 0o600);
  return { publicLine };
}

/** `ssh-rsa AAAA...`: the wire format of RFC 4253 (string "ssh-rsa", mpint e, mpint n). */
export function sshRsaPublicKey(privatePem: string): string {
  const jwk = createPublicKey(privatePem).export({ format: 'jwk' });
  if (jwk.kty !== 'RSA' || !jwk.e || !jwk.n) throw new Error('not an RSA key');
  const blob = Buffer.concat([
    sshString(Buffer.from('ssh-rsa')),
    sshString(mpint(Buffer.from(jwk.e, 'base64url'))),
    sshString(mpint(Buffer.from(jwk.n, 'base64url'))),
  ]);
  return `ssh-rsa ${blob.toString('base64')}`;
}

/** OpenSSH's SHA256 fingerprint of a public key line: base64 without padding. */
export function fingerprint(publicLine: string): string {
  const blob = Buffer.from(publicLine.trim().split(/\s+/)[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** Unsigned big-endian bytes as an SSH mpint: a leading zero when the high bit is set. */
function mpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return v[0] & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v;
}
