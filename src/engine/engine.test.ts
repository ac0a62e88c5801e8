import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTestCA, testClientTLS } from '../../test/helpers/test-ca.js';
import { bootstrapCertificates } from '../cert/bootstrap.js';
import { generateServerCert } from '../cert/server.js';
import { connectionCheckMessage, validateCertificate } from './check.js';
import { EngineClient } from './client.js';
import { dialErrorText } from './errors.js';

test('Node errors read as the original Go messages', () => {
  const e = (code: string, extra: Record<string, string> = {}) =>
    Object.assign(new Error('x'), { code, ...extra });
  assert.equal(
    dialErrorText('127.0.0.1:2376', e('ECONNREFUSED')),
    'dial tcp 127.0.0.1:2376: connect: connection refused',
  );
  assert.equal(dialErrorText('127.0.0.1:2376', e('ETIMEDOUT')), 'dial tcp 127.0.0.1:2376: i/o timeout');
  assert.equal(
    dialErrorText('h:1', e('UNABLE_TO_VERIFY_LEAF_SIGNATURE')),
    'x509: certificate signed by unknown authority',
  );
  assert.equal(
    dialErrorText('h:1', e('CERT_HAS_EXPIRED')),
    'x509: certificate has expired or is not yet valid',
  );
  assert.equal(
    dialErrorText(
      'h:1',
      e('ERR_TLS_CERT_ALTNAME_INVALID', { reason: "IP: 10.0.0.5 is not in the cert's list: 127.0.0.1" }),
    ),
    "x509: IP: 10.0.0.5 is not in the cert's list: 127.0.0.1",
  );
});

test('the connection check message names the command that fixes it', () => {
  assert.equal(
    connectionCheckMessage('127.0.0.1:2376', 'dial tcp 127.0.0.1:2376: connect: connection refused', 'dev'),
    'Error checking and/or regenerating the certs: There was an error validating certificates for host "127.0.0.1:2376": dial tcp 127.0.0.1:2376: connect: connection refused\n' +
      "You can attempt to regenerate them using 'docker-machine regenerate-certs dev'.\n" +
      'Be advised that this will trigger a Docker daemon restart which might stop running containers.\n',
  );
});

describe('bounded waits against servers that misbehave', () => {
  let silent: Server;
  const held: Socket[] = [];
  let port: number;
  let dir: string;
  let tls: { ca: Buffer; cert: Buffer; key: Buffer };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-engine-'));
    const p = (f: string) => join(dir, f);
    await bootstrapCertificates(
      {
        CertDir: dir,
        CaCertPath: p('ca.pem'),
        CaPrivateKeyPath: p('ca-key.pem'),
        ClientCertPath: p('cert.pem'),
        ClientKeyPath: p('key.pem'),
      },
      () => {},
    );
    tls = {
      ca: await readFile(p('ca.pem')),
      cert: await readFile(p('cert.pem')),
      key: await readFile(p('key.pem')),
    };
    silent = createServer((s) => held.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    port = (silent.address() as { port: number }).port;
  });
  after(async () => {
    for (const s of held) s.destroy();
    silent.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a TLS handshake that never ends is a timeout naming host and port', async () => {
    const t0 = Date.now();
    await assert.rejects(validateCertificate(`127.0.0.1:${port}`, tls, 300), (e: Error) => {
      assert.equal(e.message, `dial tcp 127.0.0.1:${port}: i/o timeout`);
      return true;
    });
    assert.ok(Date.now() - t0 < 5000);
  });

  test('a port that answers in plain HTTP, not TLS: the Go message, on one line', async () => {
    const plain = createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const at = (plain.address() as { port: number }).port;
    try {
      await assert.rejects(validateCertificate(`127.0.0.1:${at}`, tls, 5000), (e: Error) => {
        assert.equal(e.message, 'tls: first record does not look like a TLS handshake');
        return true;
      });
    } finally {
      plain.close();
    }
  });

  test('an engine request that never answers ends at its timeout, or when aborted', async () => {
    const c = new EngineClient(`tcp://127.0.0.1:${port}`, null, { timeoutMs: 300 });
    await assert.rejects(c.version(), /did not answer within 0\.3 s/);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(
      new EngineClient(`tcp://127.0.0.1:${port}`, null).version(ac.signal),
      /request aborted/,
    );
  });

  test('a closed port is "Cannot connect to the docker engine endpoint"', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const closed = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    await assert.rejects(new EngineClient(`tcp://127.0.0.1:${closed}`, null).version(), (e: Error) => {
      assert.equal(
        e.message,
        `Cannot connect to the docker engine endpoint tcp://127.0.0.1:${closed}: dial tcp 127.0.0.1:${closed}: connect: connection refused`,
      );
      return true;
    });
  });
});

describe('the connection check against a real TLS server', () => {
  let dir: string;
  const servers: HttpsServer[] = [];
  let client: { ca: Buffer; cert: Buffer; key: Buffer };
  const p = (f: string) => join(dir, f);
  const makeCA = (name: string) => makeTestCA(dir, name);
  /** An engine-like server with a certificate from `caName` for `hosts`; resolves its port. */
  const serve = async (caName: string, hosts: string[]): Promise<number> => {
    const tag = `${caName}-${servers.length}`;
    await generateServerCert({
      caCertPath: p(`${caName}/ca.pem`),
      caKeyPath: p(`${caName}/ca-key.pem`),
      certPath: p(`${tag}.pem`),
      keyPath: p(`${tag}-key.pem`),
      org: 'test',
      hosts,
    });
    const srv = createHttpsServer(
      {
        cert: await readFile(p(`${tag}.pem`)),
        key: await readFile(p(`${tag}-key.pem`)),
        ca: client.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (_req, res) => res.end(JSON.stringify({ Version: '20.10.24', ApiVersion: '1.41' })),
    );
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return (srv.address() as { port: number }).port;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-check-'));
    await makeCA('ours');
    await makeCA('other');
    client = await testClientTLS(dir, 'ours');
  });
  after(async () => {
    for (const s of servers) s.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a certificate of our CA naming the address passes', async () => {
    const port = await serve('ours', ['127.0.0.1', 'localhost']);
    await validateCertificate(`127.0.0.1:${port}`, client, 5000);
    await validateCertificate(`localhost:${port}`, client, 5000);
  });

  test('a certificate that names another address fails with the original words', async () => {
    const port = await serve('ours', ['10.9.8.7']);
    await assert.rejects(
      validateCertificate(`127.0.0.1:${port}`, client, 5000),
      (e: Error) => e.message === "x509: IP: 127.0.0.1 is not in the cert's list: 10.9.8.7",
    );
  });

  test('a certificate of another CA is refused as signed by an unknown authority', async () => {
    const port = await serve('other', ['127.0.0.1']);
    await assert.rejects(
      validateCertificate(`127.0.0.1:${port}`, client, 5000),
      (e: Error) => e.message === 'x509: certificate signed by unknown authority',
    );
    await assert.rejects(
      new EngineClient(`tcp://127.0.0.1:${port}`, client, { timeoutMs: 5000 }).version(),
      (e: Error) =>
        e.message ===
        `Cannot connect to the docker engine endpoint tcp://127.0.0.1:${port}: x509: certificate signed by unknown authority`,
    );
  });

  test('the engine client asks over a verified connection; a wrong name is refused', async () => {
    const port = await serve('ours', ['127.0.0.1']);
    const c = new EngineClient(`tcp://127.0.0.1:${port}`, client, { timeoutMs: 5000 });
    assert.equal((await c.version()).Version, '20.10.24');
    assert.equal((await c.version()).ApiVersion, '1.41');
    const named = await serve('ours', ['10.9.8.7']);
    await assert.rejects(
      new EngineClient(`tcp://127.0.0.1:${named}`, client, { timeoutMs: 5000 }).version(),
      /x509: IP: 127\.0\.0\.1 is not in the cert's list: 10\.9\.8\.7$/,
    );
  });
});

describe('many requests at once to one engine', () => {
  let dir: string;
  let srv: HttpsServer;
  let port: number;
  let client: { ca: Buffer; cert: Buffer; key: Buffer };
  let connections = 0;
  let resumed = 0;
  let requests = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-pool-'));
    await makeTestCA(dir, 'ours');
    client = await testClientTLS(dir, 'ours');
    await generateServerCert({
      caCertPath: join(dir, 'ours/ca.pem'),
      caKeyPath: join(dir, 'ours/ca-key.pem'),
      certPath: join(dir, 'server.pem'),
      keyPath: join(dir, 'server-key.pem'),
      org: 'test',
      hosts: ['127.0.0.1'],
    });
    srv = createHttpsServer(
      {
        cert: await readFile(join(dir, 'server.pem')),
        key: await readFile(join(dir, 'server-key.pem')),
        ca: client.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        if (req.url === '/never') return;
        requests++;
        // Slow enough that every request is in flight before the first answer.
        setTimeout(() => res.end(JSON.stringify({ Version: '20.10.24', ApiVersion: '1.41' })), 20);
      },
    );
    srv.on('secureConnection', (s) => {
      connections++;
      if (s.isSessionReused()) resumed++;
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    port = (srv.address() as { port: number }).port;
  });
  after(async () => {
    srv.closeAllConnections();
    srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('share at most 8 connections, and a later process resumes the TLS session kept in the cache folder', async () => {
    const cache = join(dir, 'cache');
    const ask = () =>
      new EngineClient(`tcp://127.0.0.1:${port}`, client, {
        timeoutMs: 10_000,
        sessionsDir: cache,
      }).version();
    const answers = await Promise.all(Array.from({ length: 40 }, ask));
    assert.equal(answers.length, 40);
    assert.ok(answers.every((a) => a.Version === '20.10.24'));
    assert.equal(requests, 40);
    // Each connection used to be opened before the agent counted the others: 40 handshakes.
    assert.ok(connections >= 1 && connections <= 8, `${connections} connections`);
    const files = await readdir(join(cache, 'tls-sessions'));
    assert.equal(files.length, 1);
    assert.equal((await stat(join(cache, 'tls-sessions', files[0]))).mode & 0o777, 0o600);

    // Another process (here: a fresh Node run of the same code) resumes from the file.
    const before = { connections, resumed };
    const script = `
      const { EngineClient } = await import(${JSON.stringify(join(import.meta.dirname, 'client.ts'))});
      const tls = ${JSON.stringify({ ca: client.ca.toString(), cert: client.cert.toString(), key: client.key.toString() })};
      const c = new EngineClient('tcp://127.0.0.1:${port}', { ca: Buffer.from(tls.ca), cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) }, { sessionsDir: ${JSON.stringify(cache)} });
      console.log((await c.version()).Version);
      process.exit(0);`;
    const out = await runNode(['--import', 'tsx', '--input-type=module', '-e', script]);
    assert.equal(out.trim(), '20.10.24');
    assert.equal(connections - before.connections, 1);
    assert.equal(resumed - before.resumed, 1);
  });

  test('a request waiting for one of the 8 connections: its time bound counts the wait', async () => {
    const c = new EngineClient(`tcp://127.0.0.1:${port}`, client, { timeoutMs: 1000 });
    const t0 = Date.now();
    const ended: number[] = [];
    await Promise.all(
      Array.from({ length: 9 }, () =>
        assert
          .rejects(c.request('GET', '/never'), /did not answer within 1 s/)
          .then(() => ended.push(Date.now() - t0)),
      ),
    );
    // The ninth waits for a slot the first eight free at 1 s: it is over then too, not at 2 s.
    assert.ok(Math.max(...ended) < 1900, `ended after ${ended.join(', ')} ms`);
  });
});

function runNode(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}
