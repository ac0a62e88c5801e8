import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HEADER_LEN, MAGIC, open, readHeader, SealError, seal, TAMPERED } from './format.js';

// A cheap cost keeps byte-by-byte tampering fast; the format is the same at every cost.
const cost = { log2N: 10, r: 8, p: 1 };
const plain = Buffer.from('{"machine":"m1","secret":"-----BEGIN RSA PRIVATE KEY-----"}');

describe('export file format', () => {
  test('opens what it sealed; the header holds magic, version, cost, salt and nonce', async () => {
    const sealed = await seal(plain, 'correct horse', cost);
    assert.deepEqual(await open(sealed, 'correct horse'), plain);
    assert.equal(HEADER_LEN, 42);
    assert.deepEqual(sealed.subarray(0, 8), MAGIC);
    assert.deepEqual([...sealed.subarray(8, 14)], [1, 1, 10, 8, 1, 16]);
    assert.equal(sealed.length, HEADER_LEN + plain.length + 16);
    // The plaintext is nowhere in the file.
    assert.equal(sealed.indexOf('PRIVATE KEY'), -1);
    const h = readHeader(sealed);
    assert.deepEqual(h.cost, cost);
    assert.deepEqual(h.salt, sealed.subarray(14, 30));
    assert.deepEqual(h.nonce, sealed.subarray(30, 42));
  });

  test('two seals of the same data differ in salt, nonce and ciphertext', async () => {
    const a = await seal(plain, 'correct horse', cost);
    const b = await seal(plain, 'correct horse', cost);
    assert.notDeepEqual(a.subarray(14, 42), b.subarray(14, 42));
    assert.notDeepEqual(a.subarray(HEADER_LEN), b.subarray(HEADER_LEN));
  });

  test('a wrong passphrase is refused', async () => {
    const sealed = await seal(plain, 'correct horse', cost);
    await assert.rejects(
      open(sealed, 'correct horsE'),
      (e: unknown) => e instanceof SealError && e.reason === TAMPERED,
    );
  });

  test('a flipped bit in any byte, header included, is refused', async () => {
    const sealed = await seal(plain, 'pw-for-flips', cost);
    for (let i = 0; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i] ^= 0x01;
      await assert.rejects(
        open(bad, 'pw-for-flips'),
        (e: unknown) => e instanceof SealError && e.reason.includes(TAMPERED),
        `byte ${i}`,
      );
    }
  });

  test('a file cut short at any length, or with bytes added, is refused', async () => {
    const sealed = await seal(plain, 'pw-for-cuts', cost);
    for (let n = 0; n < sealed.length; n++) {
      await assert.rejects(open(sealed.subarray(0, n), 'pw-for-cuts'), SealError, `length ${n}`);
    }
    await assert.rejects(open(Buffer.concat([sealed, Buffer.from([0])]), 'pw-for-cuts'), SealError);
  });

  test('a cost beyond the limits is refused before any key is derived', async () => {
    const sealed = await seal(plain, 'pw', cost);
    const huge = Buffer.from(sealed);
    huge[10] = 40; // 2^40 would ask for terabytes
    const started = Date.now();
    await assert.rejects(open(huge, 'pw'), /key derivation header/);
    assert.ok(Date.now() - started < 1000);
  });

  test('another format version is named', async () => {
    const sealed = await seal(plain, 'pw', cost);
    const v2 = Buffer.from(sealed);
    v2[8] = 2;
    await assert.rejects(open(v2, 'pw'), /export format 2 is not one this version reads \(it reads 1\)/);
  });

  test('an empty passphrase is refused; Unicode forms of one passphrase open the same file', async () => {
    await assert.rejects(seal(plain, '', cost), /passphrase is empty/);
    const sealed = await seal(plain, 'caf\u00e9 cr\u00e8me', cost);
    assert.deepEqual(await open(sealed, 'cafe\u0301 cre\u0300me'), plain);
  });
});
