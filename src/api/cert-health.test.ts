import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootstrapCertificates, type CertPaths } from '../cert/bootstrap.js';
import { certNotAfter } from '../cert/not-after.js';
import { generateServerCert } from '../cert/server.js';
import type { Driver } from '../drivers/driver.js';
import type { HostConfig } from '../store/host.js';
import {
  certErrorCode,
  certHealEnabled,
  certHosts,
  problemText,
  RENEW_WITHIN_MS,
  serverCertExpiring,
  serverCertProblem,
  sharedCertWarnings,
} from './cert-health.js';
import type { Machine } from './machine.js';

const DAY = 86_400_000;

describe('server certificate health', () => {
  let dir: string;
  let paths: CertPaths;

  const server = (name: string, hosts: string[], days?: number, ca = paths) =>
    generateServerCert({
      caCertPath: ca.CaCertPath,
      caKeyPath: ca.CaPrivateKeyPath,
      certPath: join(dir, `${name}.pem`),
      keyPath: join(dir, `${name}-key.pem`),
      org: 'unknown.m',
      hosts,
      days,
    });

  /** A machine as the store loads it, with a driver that only answers for its URL and endpoint. */
  const machine = (
    cert: string,
    url: string,
    o: { driverName?: string; certSANs?: string[]; caPath?: string } = {},
  ): Machine => {
    const driver = {
      getURL: async () => url,
      ...(o.certSANs ? { engineEndpoint: async () => ({ port: 2376, certSANs: o.certSANs! }) } : {}),
    } as unknown as Driver;
    const config = {
      Name: 'm',
      DriverName: o.driverName ?? 'generic',
      HostOptions: {
        AuthOptions: {
          CaCertPath: o.caPath ?? paths.CaCertPath,
          ClientCertPath: paths.ClientCertPath,
          ServerCertPath: join(dir, `${cert}.pem`),
        },
      },
    } as unknown as HostConfig;
    return { name: 'm', config, driver };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-certhealth-'));
    paths = {
      CertDir: join(dir, 'certs'),
      CaCertPath: join(dir, 'certs', 'ca.pem'),
      CaPrivateKeyPath: join(dir, 'certs', 'ca-key.pem'),
      ClientCertPath: join(dir, 'certs', 'cert.pem'),
      ClientKeyPath: join(dir, 'certs', 'key.pem'),
    };
    await bootstrapCertificates(paths, () => {}, { env: {} });
    await server('ok', ['10.0.0.5', 'localhost']);
    await server('short', ['10.0.0.5', 'localhost'], 10);
    await server('far', ['10.0.0.5'], 10_000);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('certNotAfter reads the date X509Certificate reads, UTCTime and GeneralizedTime alike', async () => {
    for (const f of ['ok', 'short', 'far']) {
      const pem = await readFile(join(dir, `${f}.pem`));
      assert.equal(certNotAfter(pem), Date.parse(new X509Certificate(pem).validTo), f);
    }
    const far = certNotAfter(await readFile(join(dir, 'far.pem')))!;
    assert.ok(new Date(far).getUTCFullYear() >= 2050, 'a date past 2049 is GeneralizedTime');
    assert.equal(
      certNotAfter(await readFile(paths.CaCertPath)),
      Date.parse(new X509Certificate(await readFile(paths.CaCertPath)).validTo),
    );
    assert.equal(certNotAfter('not a certificate'), undefined);
    assert.equal(certNotAfter('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), undefined);
  });

  test('a certificate naming the address fits; another address is named as the problem', async () => {
    assert.equal(await serverCertProblem(machine('ok', ''), ['10.0.0.5']), undefined);
    assert.equal(await serverCertProblem(machine('ok', ''), ['10.0.0.5', 'localhost']), undefined);
    assert.deepEqual(await serverCertProblem(machine('ok', ''), ['10.0.0.5', '10.0.0.7']), {
      kind: 'address',
      host: '10.0.0.7',
    });
    assert.deepEqual(await serverCertProblem(machine('ok', ''), ['build.example']), {
      kind: 'address',
      host: 'build.example',
    });
  });

  test('the names to check: the URL host and the driver extra names', async () => {
    assert.deepEqual(await certHosts(machine('ok', 'tcp://10.0.0.7:2376')), ['10.0.0.7']);
    assert.deepEqual(await certHosts(machine('ok', 'tcp://[fd00::7]:2376')), ['fd00::7']);
    assert.deepEqual(
      await certHosts(machine('ok', 'tcp://127.0.0.1:41234', { certSANs: ['172.18.0.4', 'm', '127.0.0.1'] })),
      ['127.0.0.1', '172.18.0.4', 'm'],
    );
    const m = machine('ok', 'tcp://10.0.0.7:2376');
    assert.deepEqual(await serverCertProblem(m, await certHosts(m)), { kind: 'address', host: '10.0.0.7' });
    assert.match(
      problemText({ kind: 'address', host: '10.0.0.7' }),
      /address changed to 10\.0\.0\.7, which its certificate does not name/,
    );
  });

  test('a certificate expiring within 30 days is a problem, by the quick read and the full look alike', async () => {
    const m = machine('short', '');
    const quick = serverCertExpiring(m);
    assert.equal(quick?.kind, 'expiring');
    const full = await serverCertProblem(m, ['10.0.0.5']);
    assert.deepEqual(full, quick);
    assert.equal(serverCertExpiring(machine('ok', '')), undefined);
    // 1080 days: fine now, due 30 days before its end.
    const ok = machine('ok', '');
    const end = certNotAfter(await readFile(join(dir, 'ok.pem')))!;
    assert.equal(serverCertExpiring(ok, end - RENEW_WITHIN_MS - DAY), undefined);
    assert.equal(serverCertExpiring(ok, end - RENEW_WITHIN_MS + DAY)?.kind, 'expiring');
    assert.match(problemText(quick!), /expires on \d{4}-\d\d-\d\d/);
    assert.match(problemText(quick!, end + DAY), /expired on/);
  });

  test('a certificate of another CA (the store CA was renewed) is a problem', async () => {
    const other: CertPaths = {
      CertDir: join(dir, 'other'),
      CaCertPath: join(dir, 'other', 'ca.pem'),
      CaPrivateKeyPath: join(dir, 'other', 'ca-key.pem'),
      ClientCertPath: join(dir, 'other', 'cert.pem'),
      ClientKeyPath: join(dir, 'other', 'key.pem'),
    };
    await bootstrapCertificates(other, () => {}, { env: {} });
    assert.deepEqual(await serverCertProblem(machine('ok', '', { caPath: other.CaCertPath }), ['10.0.0.5']), {
      kind: 'issuer',
    });
  });

  test('nothing to judge: a none machine, a missing certificate', async () => {
    assert.equal(await serverCertProblem(machine('ok', '', { driverName: 'none' }), ['10.9.9.9']), undefined);
    assert.equal(serverCertExpiring(machine('short', '', { driverName: 'none' })), undefined);
    assert.equal(await serverCertProblem(machine('missing', ''), ['10.9.9.9']), undefined);
  });

  test('the CA and client certificate are warned about 30 days ahead, with the day and the command', async () => {
    const tls = {
      ca: await readFile(paths.CaCertPath),
      cert: await readFile(paths.ClientCertPath),
      key: Buffer.alloc(0),
    };
    const m = machine('ok', '');
    assert.deepEqual(sharedCertWarnings(m, tls), []);
    const caEnd = certNotAfter(tls.ca)!;
    const late = sharedCertWarnings(m, tls, caEnd - 10 * DAY);
    assert.equal(late.length, 2);
    assert.match(
      late[0],
      new RegExp(
        `^Warning: the CA certificate .*ca\\.pem expires on ${new Date(caEnd).toISOString().slice(0, 10)}; 'docker-machine regenerate-certs --client-certs m' renews it`,
      ),
    );
    assert.match(late[1], /^Warning: the client certificate .*cert\.pem expires on .* renews it$/);
    assert.match(sharedCertWarnings(m, tls, caEnd + DAY)[0], /expired on/);
  });

  test('TLS errors a new certificate cures, found through the chain of causes', () => {
    const tlsErr = Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    const wrapped = new Error('outer', { cause: new Error('inner', { cause: tlsErr }) });
    assert.equal(certErrorCode(wrapped), 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.equal(certErrorCode(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), undefined);
    assert.equal(certErrorCode(undefined), undefined);
  });

  test('MACHINE_NO_CERT_HEAL turns healing off', () => {
    assert.equal(certHealEnabled({}), true);
    assert.equal(certHealEnabled({ MACHINE_NO_CERT_HEAL: '1' }), false);
    assert.equal(certHealEnabled({ MACHINE_NO_CERT_HEAL: 'true' }), false);
    assert.equal(certHealEnabled({ MACHINE_NO_CERT_HEAL: '0' }), true);
  });

  test('regenerate-certs --client-certs renews a CA that expires within 30 days; plain bootstrap keeps it', async () => {
    const p: CertPaths = {
      CertDir: join(dir, 'soon'),
      CaCertPath: join(dir, 'soon', 'ca.pem'),
      CaPrivateKeyPath: join(dir, 'soon', 'ca-key.pem'),
      ClientCertPath: join(dir, 'soon', 'cert.pem'),
      ClientKeyPath: join(dir, 'soon', 'key.pem'),
    };
    await bootstrapCertificates(p, () => {}, { env: {}, days: 10 });
    const before = await readFile(p.CaCertPath);
    const logs: string[] = [];
    await bootstrapCertificates(p, (l) => logs.push(l), { env: {} });
    assert.ok((await readFile(p.CaCertPath)).equals(before), 'not renewed without the explicit command');
    assert.equal(logs.length, 0);
    await bootstrapCertificates(p, (l) => logs.push(l), { env: {}, renewWithinMs: RENEW_WITHIN_MS });
    assert.ok(!(await readFile(p.CaCertPath)).equals(before));
    assert.deepEqual(logs, [
      'CA certificate is outdated and needs to be regenerated',
      'Client certificate is outdated and needs to be regenerated',
    ]);
    const ca = certNotAfter(await readFile(p.CaCertPath))!;
    assert.ok(ca - Date.now() > 1000 * DAY);
  });
});
