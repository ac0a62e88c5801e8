import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { makeTestCA, testClientTLS } from '../../test/helpers/test-ca.js';
import { generateServerCert } from '../cert/server.js';
import { validateCertificate } from './check.js';
import { sessionFile } from './session-file.js';

// The connection check keeps its TLS session in the store's cache folder and resumes it in the
// next process. Resuming must never vouch for more than the full check would.
describe('TLS sessions of the connection check', () => {
  let dir: string;
  let cache: string;
  const servers: Server[] = [];
  let client: { ca: Buffer; cert: Buffer; key: Buffer };
  const p = (f: string) => join(dir, f);
  const makeCA = (name: string) => makeTestCA(dir, name);
  /** An engine-like TLS server of `caName`'s certificate; `reused` records each handshake. */
  const serve = async (caName: string, port = 0) => {
    const tag = `${caName}-${servers.length}`;
    await generateServerCert({
      caCertPath: p(`${caName}/ca.pem`),
      caKeyPath: p(`${caName}/ca-key.pem`),
      certPath: p(`${tag}.pem`),
      keyPath: p(`${tag}-key.pem`),
      org: 'test',
      hosts: ['127.0.0.1'],
    });
    const reused: boolean[] = [];
    const srv = createServer(
      {
        cert: await readFile(p(`${tag}.pem`)),
        key: await readFile(p(`${tag}-key.pem`)),
        ca: client.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (s: TLSSocket) => {
        // Left open, as an engine does: the client closes it.
        reused.push(s.isSessionReused());
        s.on('error', () => {});
      },
    );
    srv.on('tlsClientError', () => {});
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
    return { srv, reused, port: (srv.address() as { port: number }).port };
  };
  /** The check in a process of its own, as each command runs it (the servers run in this one). */
  const checkInChild = (port: number) =>
    promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import { validateCertificate } from ${JSON.stringify(join(import.meta.dirname, 'check.ts'))};
         import { readFileSync } from 'node:fs';
         const f = (n) => readFileSync(${JSON.stringify(p('ours'))} + '/' + n);
         await validateCertificate('127.0.0.1:${port}', { ca: f('ca.pem'), cert: f('cert.pem'), key: f('key.pem') }, 5000, ${JSON.stringify(cache)});`,
      ],
      { timeout: 30_000 },
    );

  /** The server may see a handshake after the child that made it has exited. */
  const seen = async (reused: boolean[], n: number) => {
    for (let i = 0; i < 100 && reused.length < n; i++) await new Promise((r) => setTimeout(r, 20));
    return reused;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-session-'));
    cache = p('store-cache');
    await makeCA('ours');
    await makeCA('other');
    client = await testClientTLS(dir, 'ours');
  });
  after(async () => {
    for (const s of servers) s.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the next process resumes the session; the file is private', async () => {
    const { reused, port } = await serve('ours');
    await checkInChild(port);
    await checkInChild(port);
    assert.deepEqual(await seen(reused, 2), [false, true]);
    const files = await readdir(join(cache, 'tls-sessions'));
    assert.equal(files.length, 1);
    assert.equal((await stat(join(cache, 'tls-sessions'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(cache, 'tls-sessions', files[0]))).mode & 0o777, 0o600);
  });

  test('a server that cannot resume the session (another one on that port) gets the full check', async () => {
    const first = await serve('ours');
    await checkInChild(first.port);
    await validateCertificate(`127.0.0.1:${first.port}`, client, 5000, cache);
    assert.deepEqual(await seen(first.reused, 2), [false, true]);
    await new Promise((r) => first.srv.close(r));
    // An impostor with a certificate of another CA, offered the saved session.
    const impostor = await serve('other', first.port);
    await assert.rejects(
      validateCertificate(`127.0.0.1:${first.port}`, client, 5000, cache),
      (e: Error) => e.message === 'x509: certificate signed by unknown authority',
    );
    assert.ok(!impostor.reused.includes(true));
  });

  test('a session whose certificate was valid only until a past time is not offered', async () => {
    const { reused, port } = await serve('ours');
    await checkInChild(port);
    const store = await sessionFile(cache, '127.0.0.1', port, client);
    const saved = store.load();
    assert.ok(saved && saved !== 'no-tickets');
    store.save({ ...saved, validTo: Date.now() - 1000 });
    await checkInChild(port);
    assert.deepEqual(await seen(reused, 2), [false, false]);
  });

  test('a corrupt or foreign session file means a full handshake, and is replaced', async () => {
    const { reused, port } = await serve('ours');
    await checkInChild(port);
    const store = await sessionFile(cache, '127.0.0.1', port, client);
    for (const f of await readdir(join(cache, 'tls-sessions'))) {
      await writeFile(join(cache, 'tls-sessions', f), 'not json');
    }
    assert.equal(store.load(), undefined);
    await checkInChild(port);
    const again = store.load();
    assert.ok(again && again !== 'no-tickets');
    // A session the server cannot read is simply not resumed.
    store.save({ ...again, session: Buffer.from('garbage') });
    await checkInChild(port);
    assert.deepEqual(await seen(reused, 3), [false, false, false]);
  });

  test('an engine that gives no session is not waited for again for a day', async () => {
    const store = await sessionFile(cache, '127.0.0.1', 1, client);
    assert.equal(store.load(), undefined);
    store.saveNoTickets();
    assert.equal(store.load(), 'no-tickets');
  });
});
