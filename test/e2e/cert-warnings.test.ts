import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootstrapCertificates } from '../../src/cert/bootstrap.js';
import { generateServerCert } from '../../src/cert/server.js';
import { type RunResult, runCLI } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

// A store whose CA and client certificate expire in 10 days, and a TLS engine of the test's own
// (a Node HTTPS server with a certificate of that CA): env and config warn, once each, naming the
// day and the command that renews them, and print their output as usual.
describe('the CA and client certificate are warned about 30 days before they expire', {
  timeout: 120_000,
}, () => {
  let root: string;
  let store: string;
  let engine: Server;
  const run = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    runCLI(args, { env: { MACHINE_STORAGE_PATH: store, ...env } });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dm-certwarn-'));
    store = join(root, 'store');
    const certs = join(store, 'certs');
    await bootstrapCertificates(
      {
        CertDir: certs,
        CaCertPath: join(certs, 'ca.pem'),
        CaPrivateKeyPath: join(certs, 'ca-key.pem'),
        ClientCertPath: join(certs, 'cert.pem'),
        ClientKeyPath: join(certs, 'key.pem'),
      },
      () => {},
      { days: 10, env: {} },
    );
    await generateServerCert({
      caCertPath: join(certs, 'ca.pem'),
      caKeyPath: join(certs, 'ca-key.pem'),
      certPath: join(root, 'server.pem'),
      keyPath: join(root, 'server-key.pem'),
      org: 'test',
      hosts: ['127.0.0.1'],
    });
    engine = createServer(
      {
        cert: await readFile(join(root, 'server.pem')),
        key: await readFile(join(root, 'server-key.pem')),
        ca: await readFile(join(certs, 'ca.pem')),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (_req, res) => res.end(JSON.stringify({ Version: '20.10.24', ApiVersion: '1.41' })),
    );
    const port = await freePort();
    await new Promise<void>((r) => engine.listen(port, '127.0.0.1', r));
    const c = await run(['create', '-d', 'none', '--url', `tcp://127.0.0.1:${port}`, 'm1']);
    assert.equal(c.code, 0, c.stderr);
  });

  after(async () => {
    engine?.close();
    await rm(root, { recursive: true, force: true });
  });

  const day = async (file: string) =>
    new Date(new X509Certificate(await readFile(join(store, 'certs', file))).validTo)
      .toISOString()
      .slice(0, 10);

  test('env: the shell lines on stdout, one warning line each for the CA and client certificate on stderr', async () => {
    const r = await run(['env', '--shell', 'bash', 'm1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^export DOCKER_TLS_VERIFY="1"\nexport DOCKER_HOST="tcp:\/\/127\.0\.0\.1:\d+"\n/);
    const fix = "'docker-machine regenerate-certs --client-certs m1'";
    assert.equal(
      r.stderr,
      `Warning: the CA certificate ${join(store, 'certs', 'ca.pem')} expires on ${await day('ca.pem')}; ${fix} renews it (each machine's server certificate is then reissued by its next start, env or config)\n` +
        `Warning: the client certificate ${join(store, 'certs', 'cert.pem')} expires on ${await day('cert.pem')}; ${fix} renews it\n`,
    );
  });

  test('config warns the same way; nothing was renewed behind the user', async () => {
    const before = await readFile(join(store, 'certs', 'ca.pem'));
    const r = await run(['config', 'm1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^--tlsverify\n/);
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('Warning: the ')).length, 2);
    assert.ok((await readFile(join(store, 'certs', 'ca.pem'))).equals(before));
  });

  test('a renewed client certificate reaches the machine folder copies that docker reads, at the next env', async () => {
    const certs = join(store, 'certs');
    // What regenerate-certs --client-certs on another machine leaves: a new client certificate of the same CA.
    await rm(join(certs, 'cert.pem'));
    await rm(join(certs, 'key.pem'));
    await bootstrapCertificates(
      {
        CertDir: certs,
        CaCertPath: join(certs, 'ca.pem'),
        CaPrivateKeyPath: join(certs, 'ca-key.pem'),
        ClientCertPath: join(certs, 'cert.pem'),
        ClientKeyPath: join(certs, 'key.pem'),
      },
      () => {},
      { env: {} },
    );
    const copy = join(store, 'machines', 'm1', 'cert.pem');
    assert.ok(
      !(await readFile(copy)).equals(await readFile(join(certs, 'cert.pem'))),
      'the copy is the old one',
    );
    const r = await run(['env', '--shell', 'bash', 'm1']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await readFile(copy)).equals(await readFile(join(certs, 'cert.pem'))));
    assert.ok(
      (await readFile(join(store, 'machines', 'm1', 'key.pem'))).equals(
        await readFile(join(certs, 'key.pem')),
      ),
    );
    // The new client certificate is good for 1080 days: only the CA is warned about now.
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('Warning: the ')).length, 1);
    assert.match(r.stderr, /^Warning: the CA certificate /);
  });

  test('a copy that is missing or empty is made again at the next env', async () => {
    const dir = join(store, 'machines', 'm1');
    // An empty key beside two current certificates (a disk that filled up), then a missing CA.
    for (const spoil of [() => writeFile(join(dir, 'key.pem'), ''), () => rm(join(dir, 'ca.pem'))]) {
      await spoil();
      const r = await run(['env', '--shell', 'bash', 'm1']);
      assert.equal(r.code, 0, r.stderr);
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) {
        assert.ok((await readFile(join(dir, f))).equals(await readFile(join(store, 'certs', f))), f);
      }
      assert.equal((await stat(join(dir, 'key.pem'))).mode & 0o777, 0o600);
    }
  });
});
