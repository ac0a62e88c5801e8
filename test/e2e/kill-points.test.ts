import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempStore } from '../helpers/cli.js';
import { killAt } from '../helpers/kill-at.js';

// Real processes of the built CLI, killed with SIGKILL at named moments (DM_TEST_PAUSE_AT), then
// the next command run as a user would. No engine answers at this URL, which `create -d none`
// accepts with a warning.
const URL = 'tcp://127.0.0.1:1';

const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });
const certPublicKey = (cert: string) => openssl('x509', '-in', cert, '-noout', '-pubkey');
const keyPublicKey = (key: string) => openssl('pkey', '-in', key, '-pubout');

async function assertPair(certPath: string, keyPath: string) {
  assert.equal(
    certPublicKey(certPath),
    keyPublicKey(keyPath),
    `${certPath} is the certificate of ${keyPath}`,
  );
  assert.equal((await stat(keyPath)).mode & 0o777, 0o600, `${keyPath} is 0600`);
}

describe('a create killed while it makes the CA or the client certificate', () => {
  for (const point of ['ca-key-written', 'client-key-written']) {
    test(`killed at ${point}: the next create makes whole pairs and succeeds`, async () => {
      const s = await tempStore();
      try {
        await killAt(point, ['create', '-d', 'none', '--url', URL, 'first'], {
          env: { MACHINE_STORAGE_PATH: s.dir },
        });
        const certs = join(s.dir, 'certs');
        const left = (await readdir(certs)).sort();
        // What the kill left: the key of the pair it was making, never its certificate alone.
        if (point === 'ca-key-written') assert.deepEqual(left, ['ca-key.pem']);
        else assert.deepEqual(left, ['ca-key.pem', 'ca.pem', 'key.pem']);

        const r = await s.run(['create', '-d', 'none', '--url', URL, 'second']);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual((await readdir(certs)).sort(), ['ca-key.pem', 'ca.pem', 'cert.pem', 'key.pem']);
        await assertPair(join(certs, 'ca.pem'), join(certs, 'ca-key.pem'));
        await assertPair(join(certs, 'cert.pem'), join(certs, 'key.pem'));
        openssl('verify', '-CAfile', join(certs, 'ca.pem'), join(certs, 'cert.pem'));
        const m = join(s.dir, 'machines', 'second');
        await assertPair(join(m, 'cert.pem'), join(m, 'key.pem'));
        // The killed create had not claimed its name: nothing of it is listed.
        assert.equal((await s.run(['ls', '-q'])).stdout, 'second\n');
      } finally {
        await s.cleanup();
      }
    });
  }

  test('a store an earlier release left with ca.pem but no ca-key.pem (killed between them) works again', async () => {
    const s = await tempStore();
    try {
      assert.equal((await s.run(['create', '-d', 'none', '--url', URL, 'a'])).code, 0);
      const certs = join(s.dir, 'certs');
      // What a kill of the original between its two writes of a first create leaves: ca.pem alone.
      for (const f of ['ca-key.pem', 'cert.pem', 'key.pem']) execFileSync('rm', [join(certs, f)]);
      const r = await s.run(['create', '-d', 'none', '--url', URL, 'b']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Creating CA: /m);
      assert.match(r.stdout, /^Creating client certificate: /m);
      await assertPair(join(certs, 'ca.pem'), join(certs, 'ca-key.pem'));
      openssl('verify', '-CAfile', join(certs, 'ca.pem'), join(certs, 'cert.pem'));
    } finally {
      await s.cleanup();
    }
  });
});
