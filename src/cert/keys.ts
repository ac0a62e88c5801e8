import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

type KeyPair = { privateKey: KeyObject; publicKey: KeyObject };

/**
 * Key generations at once. Each holds a thread of libuv's pool (4 threads) for 0.2 to 0.6 s: a
 * fleet's twenty keys would hold them all, and every file read and write of the process would
 * wait behind them. Two keep both cores busy and leave threads for the files.
 */
const KEYS_AT_ONCE = 2;
let making = 0;
const queued: (() => void)[] = [];

async function generateRSA(): Promise<KeyPair> {
  while (making >= KEYS_AT_ONCE) await new Promise<void>((r) => queued.push(r));
  making++;
  try {
    return await generate('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  } finally {
    making--;
    queued.shift()?.();
  }
}

/** Keys begun ahead of their use, oldest first; each one is handed out once. */
const ahead: Promise<KeyPair>[] = [];

/**
 * Begin an RSA key for a later newRSAKey(), so that it is made while this process waits for
 * something else (a machine's server key while the machine boots). Keys cost 0.2 to 0.6 s of CPU.
 */
export function prepareRSAKey(): void {
  const key = generateRSA();
  key.catch(() => {}); // a failure shows when the key is taken
  ahead.push(key);
}

/** A new RSA 2048 key (generated off the main thread, so two can be made at once). */
export async function newRSAKey(): Promise<KeyPair> {
  return ahead.shift() ?? generateRSA();
}

/** PEM "RSA PRIVATE KEY" (PKCS#1), the form the original writes. */
export function privateKeyPEM(key: KeyObject): string {
  return key.export({ type: 'pkcs1', format: 'pem' }).toString();
}

export function loadPrivateKey(pem: string | Buffer): { privateKey: KeyObject; publicKey: KeyObject } {
  const privateKey = createPrivateKey(pem);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
