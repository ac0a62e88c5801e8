import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { MachineError } from '../errors.js';

/**
 * The sealed container of an export file (docs/export.md): a fixed 42-byte header, then the
 * payload encrypted with AES-256-GCM, then GCM's 16-byte tag. The key comes from the passphrase
 * through scrypt with the header's salt and cost; the whole header is the cipher's additional
 * data, so a changed cost, salt or nonce fails the tag as a changed payload does.
 *
 *   0  8  magic "DMEXPORT"
 *   8  1  format version (1)
 *   9  1  key derivation (1: scrypt)
 *  10  1  scrypt log2(N)
 *  11  1  scrypt r
 *  12  1  scrypt p
 *  13  1  salt length (16)
 *  14 16  salt
 *  30 12  GCM nonce
 *  42  …  ciphertext
 *  end-16  GCM tag
 */
export const MAGIC = Buffer.from('DMEXPORT', 'ascii');
export const FORMAT_VERSION = 1;
const KDF_SCRYPT = 1;
const SALT_LEN = 16;
const NONCE_LEN = 12;
const TAG_LEN = 16;
export const HEADER_LEN = MAGIC.length + 6 + SALT_LEN + NONCE_LEN;

/** scrypt's cost: N = 2^17, r = 8, p = 1 (128 MiB, about a second), as OWASP recommends. */
export interface ScryptCost {
  log2N: number;
  r: number;
  p: number;
}
export const DEFAULT_COST: ScryptCost = { log2N: 17, r: 8, p: 1 };

/**
 * What a file may ask of the reader: a file is input, and its cost is what decrypting it takes in
 * memory and time. Lower costs than ours are accepted (the writer chose them for their own file).
 */
const LIMITS = { log2N: [10, 20], r: [1, 16], p: [1, 4] } as const;

/** A sealed file that cannot be opened; `reason` is the part after "cannot decrypt FILE: ". */
export class SealError extends MachineError {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

export const TAMPERED = 'wrong passphrase or the file was changed';

function checkPassphrase(passphrase: string): Buffer {
  if (passphrase === '') throw new MachineError('the passphrase is empty');
  // The same passphrase typed on two systems may reach us in two Unicode forms.
  return Buffer.from(passphrase.normalize('NFC'), 'utf8');
}

function deriveKey(passphrase: Buffer, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const N = 2 ** cost.log2N;
  return new Promise((resolve, reject) =>
    scrypt(
      passphrase,
      salt,
      32,
      { N, r: cost.r, p: cost.p, maxmem: 128 * N * cost.r * cost.p + 32 * 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

export async function seal(
  plaintext: Buffer,
  passphrase: string,
  cost: ScryptCost = DEFAULT_COST,
): Promise<Buffer> {
  const pass = checkPassphrase(passphrase);
  const salt = randomBytes(SALT_LEN);
  const nonce = randomBytes(NONCE_LEN);
  const header = Buffer.concat([
    MAGIC,
    Buffer.from([FORMAT_VERSION, KDF_SCRYPT, cost.log2N, cost.r, cost.p, SALT_LEN]),
    salt,
    nonce,
  ]);
  const key = await deriveKey(pass, salt, cost);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LEN });
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

/** The header's fields, checked before any key is derived. */
export function readHeader(data: Buffer): { cost: ScryptCost; salt: Buffer; nonce: Buffer } {
  if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SealError(`not a docker-machine export (it does not start with "DMEXPORT"), or ${TAMPERED}`);
  }
  if (data.length < HEADER_LEN + TAG_LEN) throw new SealError(`the file is cut short, or ${TAMPERED}`);
  const version = data[8];
  if (version !== FORMAT_VERSION) {
    throw new SealError(
      `export format ${version} is not one this version reads (it reads ${FORMAT_VERSION}): import it with a newer docker-machine, or ${TAMPERED}`,
    );
  }
  const [kdf, log2N, r, p, saltLen] = data.subarray(9, 14);
  const cost = { log2N, r, p };
  const within = (v: number, [lo, hi]: readonly [number, number]) => v >= lo && v <= hi;
  if (
    kdf !== KDF_SCRYPT ||
    saltLen !== SALT_LEN ||
    !within(log2N, LIMITS.log2N) ||
    !within(r, LIMITS.r) ||
    !within(p, LIMITS.p)
  ) {
    throw new SealError(`its key derivation header is not one this version reads, or ${TAMPERED}`);
  }
  const salt = data.subarray(14, 14 + SALT_LEN);
  const nonce = data.subarray(14 + SALT_LEN, HEADER_LEN);
  return { cost, salt, nonce };
}

export async function open(data: Buffer, passphrase: string): Promise<Buffer> {
  const pass = checkPassphrase(passphrase);
  const { cost, salt, nonce } = readHeader(data);
  const key = await deriveKey(pass, salt, cost);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LEN });
  decipher.setAAD(data.subarray(0, HEADER_LEN));
  decipher.setAuthTag(data.subarray(data.length - TAG_LEN));
  try {
    // Nothing decrypted is used before final() has checked the tag.
    return Buffer.concat([
      decipher.update(data.subarray(HEADER_LEN, data.length - TAG_LEN)),
      decipher.final(),
    ]);
  } catch {
    throw new SealError(TAMPERED);
  }
}
