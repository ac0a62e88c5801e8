import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootstrapCertificates, type CertPaths, certOrganization } from './bootstrap.js';
import * as der from './der.js';
import { certCoversHost, certExpiresWithin, readCertInfo } from './inspect.js';
import { generateServerCert } from './server.js';

const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });

test('DER encodings of X.690', () => {
  assert.equal(der.oid('1.2.840.113549').toString('hex'), '06062a864886f70d');
  assert.equal(der.unsignedInteger(Buffer.from([0x80])).toString('hex'), '02020080');
  assert.equal(der.unsignedInteger(Buffer.from([0, 0, 5])).toString('hex'), '020105');
  assert.equal(der.boolean(true).toString('hex'), '0101ff');
  assert.equal(der.tlv(0x04, Buffer.alloc(200)).subarray(0, 3).toString('hex'), '0481c8');
  assert.equal(
    der
      .time(new Date(Date.UTC(2026, 10, 24, 12, 0, 0)))
      .toString('latin1')
      .slice(2),
    '261124120000Z',
  );
  assert.equal(
    der
      .time(new Date(Date.UTC(2051, 0, 1)))
      .toString('latin1')
      .slice(2),
    '20510101000000Z',
  );
  // Go writes a name as PrintableString when it can, else UTF8String (Go rejects "<" in PrintableString).
  assert.equal(der.directoryString('unknown')[0], 0x13);
  assert.equal(der.directoryString('unknown.<bootstrap>')[0], 0x0c);
});

describe('certificates', () => {
  let dir: string;
  let paths: CertPaths;
  const logs: string[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-cert-'));
    paths = {
      CertDir: join(dir, 'certs'),
      CaCertPath: join(dir, 'certs', 'ca.pem'),
      CaPrivateKeyPath: join(dir, 'certs', 'ca-key.pem'),
      ClientCertPath: join(dir, 'certs', 'cert.pem'),
      ClientKeyPath: join(dir, 'certs', 'key.pem'),
    };
    await bootstrapCertificates(paths, (l) => logs.push(l), { env: {} });
    await generateServerCert({
      caCertPath: paths.CaCertPath,
      caKeyPath: paths.CaPrivateKeyPath,
      certPath: join(dir, 'server.pem'),
      keyPath: join(dir, 'server-key.pem'),
      org: 'unknown.gen',
      hosts: ['foo.bar.tld', '10.42.42.42', '127.0.0.1', 'localhost'],
    });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('bootstrap says what it creates and sets the modes', async () => {
    assert.deepEqual(logs, [
      `Creating CA: ${paths.CaCertPath}`,
      `Creating client certificate: ${paths.ClientCertPath}`,
    ]);
    const mode = async (p: string) => (await stat(p)).mode & 0o777;
    assert.equal(await mode(paths.CertDir), 0o700);
    assert.equal(await mode(paths.CaCertPath), 0o644);
    assert.equal(await mode(paths.CaPrivateKeyPath), 0o600);
    assert.equal(await mode(paths.ClientCertPath), 0o644);
    assert.equal(await mode(paths.ClientKeyPath), 0o600);
    assert.match(await readFile(paths.ClientKeyPath, 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----\n/);
  });

  test('openssl verifies the chain and shows the original templates (spec §4.2)', () => {
    assert.equal(
      openssl('verify', '-CAfile', paths.CaCertPath, paths.ClientCertPath, join(dir, 'server.pem')),
      `${paths.ClientCertPath}: OK\n${join(dir, 'server.pem')}: OK\n`,
    );
    const ca = openssl('x509', '-in', paths.CaCertPath, '-noout', '-text');
    assert.match(ca, /Issuer: O = unknown\n/);
    assert.match(ca, /Subject: O = unknown\n/);
    assert.match(
      ca,
      /Key Usage: critical\n\s+Digital Signature, Key Encipherment, Key Agreement, Certificate Sign/,
    );
    assert.match(ca, /Basic Constraints: critical\n\s+CA:TRUE/);
    assert.match(ca, /Public-Key: \(2048 bit\)/);
    assert.match(ca, /Signature Algorithm: sha256WithRSAEncryption/);
    const client = openssl('x509', '-in', paths.ClientCertPath, '-noout', '-text');
    assert.match(client, /Subject: O = "unknown.<bootstrap>"/);
    assert.match(client, /Key Usage: critical\n\s+Digital Signature\n/);
    assert.match(client, /Extended Key Usage: \n\s+TLS Web Client Authentication/);
    assert.match(client, /Basic Constraints: critical\n\s+CA:FALSE/);
    const server = openssl('x509', '-in', join(dir, 'server.pem'), '-noout', '-text');
    assert.match(server, /Subject: O = unknown\.gen/);
    assert.match(server, /Key Usage: critical\n\s+Digital Signature, Key Encipherment, Key Agreement\n/);
    assert.match(server, /TLS Web Server Authentication/);
    assert.match(
      server,
      /DNS:foo\.bar\.tld, IP Address:10\.42\.42\.42, IP Address:127\.0\.0\.1, DNS:localhost/,
    );
  });

  test('validity: from the minute before, less five minutes, for 1080 days', async () => {
    const info = readCertInfo(await readFile(paths.CaCertPath));
    assert.equal(info.notBefore.getUTCSeconds(), 0);
    const ageMin = (Date.now() - info.notBefore.getTime()) / 60_000;
    assert.ok(ageMin >= 5 && ageMin < 7, `not before is ${ageMin} minutes ago`);
    assert.equal((info.notAfter.getTime() - info.notBefore.getTime()) / 86_400_000, 1080);
    assert.equal(info.serialHex.length > 20, true);
  });

  test('server certificate: which hosts it covers', async () => {
    const info = readCertInfo(await readFile(join(dir, 'server.pem')));
    assert.ok(certCoversHost(info, '127.0.0.1'));
    assert.ok(certCoversHost(info, 'LOCALHOST'));
    assert.ok(certCoversHost(info, '10.42.42.42'));
    assert.ok(!certCoversHost(info, '10.0.0.5'));
    assert.ok(!certCoversHost(info, 'other.tld'));
    assert.ok(!certExpiresWithin(info, 86_400_000));
    assert.ok(certExpiresWithin(info, 1100 * 86_400_000));
  });

  test('mutual TLS with node:https: accepted with the right SAN and client cert, refused otherwise', async () => {
    const [ca, cert, key, scert, skey] = await Promise.all(
      [
        paths.CaCertPath,
        paths.ClientCertPath,
        paths.ClientKeyPath,
        join(dir, 'server.pem'),
        join(dir, 'server-key.pem'),
      ].map((p) => readFile(p)),
    );
    const srv = createServer(
      { ca, cert: scert, key: skey, requestCert: true, rejectUnauthorized: true },
      (_q, r) => r.end('ok'),
    );
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const get = (servername: string, withClient: boolean) =>
      new Promise<string>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            servername,
            port,
            ca,
            ...(withClient ? { cert, key } : {}),
            path: '/',
            agent: false,
          },
          (res) => {
            let b = '';
            res.on('data', (d) => (b += d));
            res.on('end', () => resolve(b));
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      assert.equal(await get('localhost', true), 'ok');
      assert.equal(await get('foo.bar.tld', true), 'ok');
      await assert.rejects(get('wrong.example', true), /altnames/);
      await assert.rejects(get('localhost', false));
    } finally {
      srv.close();
    }
  });

  test('bootstrap is idempotent, and never replaces a CA key a user named without its certificate', async () => {
    const before = await readFile(paths.CaCertPath);
    const again: string[] = [];
    await bootstrapCertificates(paths, (l) => again.push(l), { env: {} });
    assert.deepEqual(again, []);
    assert.deepEqual(await readFile(paths.CaCertPath), before);

    const d2 = await mkdtemp(join(tmpdir(), 'dm-cert2-'));
    try {
      // --tls-ca-key and --tls-ca-cert naming files outside the store's certs folder.
      const p2 = {
        ...paths,
        CertDir: join(d2, 'certs'),
        CaCertPath: join(d2, 'my-ca.pem'),
        CaPrivateKeyPath: join(d2, 'my-ca-key.pem'),
      };
      await writeFile(p2.CaPrivateKeyPath, 'x');
      await assert.rejects(
        bootstrapCertificates(p2, () => {}),
        /certificate authority key already exists/,
      );
      assert.equal(await readFile(p2.CaPrivateKeyPath, 'utf8'), 'x');
      // A user's CA certificate without its key: said, and left as it is.
      await rm(p2.CaPrivateKeyPath);
      await writeFile(p2.CaCertPath, before);
      await assert.rejects(
        bootstrapCertificates(p2, () => {}),
        /^MachineError: the CA certificate .*my-ca\.pem has no private key at .*my-ca-key\.pem: /,
      );
      assert.deepEqual(await readFile(p2.CaCertPath), before);
    } finally {
      await rm(d2, { recursive: true, force: true });
    }
  });

  describe('a half pair that a kill left in the store is made whole again', () => {
    const own = (d: string): CertPaths => ({
      CertDir: d,
      CaCertPath: join(d, 'ca.pem'),
      CaPrivateKeyPath: join(d, 'ca-key.pem'),
      ClientCertPath: join(d, 'cert.pem'),
      ClientKeyPath: join(d, 'key.pem'),
    });
    const pairMatches = async (certPath: string, keyPath: string) =>
      new X509Certificate(await readFile(certPath)).checkPrivateKey(
        createPrivateKey(await readFile(keyPath)),
      );
    const verifyClient = (p: CertPaths) => openssl('verify', '-CAfile', p.CaCertPath, p.ClientCertPath);

    for (const [what, breakIt] of [
      [
        'a CA key without its certificate (this release, killed between key and cert)',
        (p: CertPaths) => rm(p.CaCertPath),
      ],
      [
        'a CA certificate without its key (earlier releases, killed between cert and key)',
        (p: CertPaths) => rm(p.CaPrivateKeyPath),
      ],
      ['a client key without its certificate', (p: CertPaths) => rm(p.ClientCertPath)],
      ['a client certificate without its key', (p: CertPaths) => rm(p.ClientKeyPath)],
      [
        'a client key cut short (unparsable) without its certificate',
        async (p: CertPaths) => {
          await rm(p.ClientCertPath);
          await writeFile(p.ClientKeyPath, '-----BEGIN RSA PRIVATE KEY-----\nMIIE');
        },
      ],
    ] as const) {
      test(what, async () => {
        const d = await mkdtemp(join(tmpdir(), 'dm-cert-half-'));
        try {
          const p = own(d);
          await bootstrapCertificates(p, () => {}, { env: {} });
          const caBefore = await readFile(p.CaCertPath, 'utf8');
          await breakIt(p);
          const lines: string[] = [];
          await bootstrapCertificates(p, (l) => lines.push(l), { env: {} });
          assert.ok(await pairMatches(p.CaCertPath, p.CaPrivateKeyPath));
          assert.ok(await pairMatches(p.ClientCertPath, p.ClientKeyPath));
          verifyClient(p);
          if (what.includes('CA')) {
            assert.notEqual(await readFile(p.CaCertPath, 'utf8'), caBefore);
            assert.equal(lines[0], `Creating CA: ${p.CaCertPath}`);
          } else {
            assert.equal(await readFile(p.CaCertPath, 'utf8'), caBefore, 'a whole CA is kept');
            assert.deepEqual(lines, [`Creating client certificate: ${p.ClientCertPath}`]);
          }
          assert.equal((await stat(p.CaPrivateKeyPath)).mode & 0o777, 0o600);
          assert.equal((await stat(p.ClientKeyPath)).mode & 0o777, 0o600);
        } finally {
          await rm(d, { recursive: true, force: true });
        }
      });
    }

    test('a client certificate of an earlier CA (killed after a new CA, before its client) is made again', async () => {
      const d = await mkdtemp(join(tmpdir(), 'dm-cert-half-'));
      const other = own(await mkdtemp(join(tmpdir(), 'dm-cert-other-')));
      try {
        const p = own(d);
        await bootstrapCertificates(p, () => {}, { env: {} });
        await bootstrapCertificates(other, () => {}, { env: {} });
        await writeFile(p.CaCertPath, await readFile(other.CaCertPath));
        await writeFile(p.CaPrivateKeyPath, await readFile(other.CaPrivateKeyPath));
        const lines: string[] = [];
        await bootstrapCertificates(p, (l) => lines.push(l), { env: {} });
        assert.deepEqual(lines, ['Client certificate is outdated and needs to be regenerated']);
        verifyClient(p);
        assert.ok(await pairMatches(p.ClientCertPath, p.ClientKeyPath));
      } finally {
        await rm(d, { recursive: true, force: true });
        await rm(other.CertDir, { recursive: true, force: true });
      }
    });

    test("a CA key that is not the certificate's is said, and nothing is replaced", async () => {
      const d = await mkdtemp(join(tmpdir(), 'dm-cert-half-'));
      const other = own(await mkdtemp(join(tmpdir(), 'dm-cert-other-')));
      try {
        const p = own(d);
        await bootstrapCertificates(p, () => {}, { env: {} });
        await bootstrapCertificates(other, () => {}, { env: {} });
        await writeFile(p.CaPrivateKeyPath, await readFile(other.CaPrivateKeyPath));
        const ca = await readFile(p.CaCertPath);
        await assert.rejects(
          bootstrapCertificates(p, () => {}, { env: {} }),
          /^MachineError: the CA certificate .* does not match its key /,
        );
        assert.deepEqual(await readFile(p.CaCertPath), ca);
        assert.deepEqual(await readFile(p.CaPrivateKeyPath), await readFile(other.CaPrivateKeyPath));
      } finally {
        await rm(d, { recursive: true, force: true });
        await rm(other.CertDir, { recursive: true, force: true });
      }
    });

    test('a certificate the user put in the store without its key is not replaced', async () => {
      const d = await mkdtemp(join(tmpdir(), 'dm-cert-half-'));
      try {
        const p = own(d);
        // A CA that is not self-signed: an intermediate of the user's own, not one this tool makes.
        await bootstrapCertificates(p, () => {}, { env: {} });
        const inter = join(d, 'inter.pem');
        openssl(
          'req',
          '-new',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(d, 'inter-key.pem'),
          '-subj',
          '/O=corp',
          '-out',
          join(d, 'inter.csr'),
        );
        openssl(
          'x509',
          '-req',
          '-in',
          join(d, 'inter.csr'),
          '-CA',
          p.CaCertPath,
          '-CAkey',
          p.CaPrivateKeyPath,
          '-CAcreateserial',
          '-days',
          '30',
          '-out',
          inter,
        );
        await writeFile(p.CaCertPath, await readFile(inter));
        await rm(p.CaPrivateKeyPath);
        await assert.rejects(
          bootstrapCertificates(p, () => {}, { env: {} }),
          /has no private key at/,
        );
        assert.deepEqual(await readFile(p.CaCertPath), await readFile(inter));
      } finally {
        await rm(d, { recursive: true, force: true });
      }
    });
  });

  test('an expired CA is made again, and the client certificate with it', async () => {
    const d3 = await mkdtemp(join(tmpdir(), 'dm-cert3-'));
    try {
      const p3: CertPaths = {
        CertDir: d3,
        CaCertPath: join(d3, 'ca.pem'),
        CaPrivateKeyPath: join(d3, 'ca-key.pem'),
        ClientCertPath: join(d3, 'cert.pem'),
        ClientKeyPath: join(d3, 'key.pem'),
      };
      // A validity of -1 days: expired the moment it is made.
      await bootstrapCertificates(p3, () => {}, { days: -1, env: {} });
      const old = await readFile(p3.CaCertPath, 'utf8');
      const lines: string[] = [];
      await bootstrapCertificates(p3, (l) => lines.push(l), { env: {} });
      assert.deepEqual(lines, [
        'CA certificate is outdated and needs to be regenerated',
        'Client certificate is outdated and needs to be regenerated',
      ]);
      assert.notEqual(await readFile(p3.CaCertPath, 'utf8'), old);
      openssl('verify', '-CAfile', p3.CaCertPath, p3.ClientCertPath);
    } finally {
      await rm(d3, { recursive: true, force: true });
    }
  });

  test('organization: $USER, else unknown', () => {
    assert.equal(certOrganization({ USER: 'alice' }), 'alice');
    assert.equal(certOrganization({}), 'unknown');
  });

  test('undecodable PEM is named as such', () => {
    assert.throws(() => readCertInfo('garbage'), /Failed to decode PEM data/);
  });
});
