import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

/** A new RSA 2048 key (generated off the main thread, so two can be made at once). */
export async function newRSAKey(): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return generate('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
}

/** PEM "RSA PRIVATE KEY" (PKCS#1), the form the original writes. */
export function privateKeyPEM(key: KeyObject): string {
  return key.export({ type: 'pkcs1', format: 'pem' }).toString();
}

export function loadPrivateKey(pem: string | Buffer): { privateKey: KeyObject; publicKey: KeyObject } {
  const privateKey = createPrivateKey(pem);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
