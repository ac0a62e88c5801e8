import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTestCA } from '../../../test/helpers/test-ca.js';
import { generateServerCert } from '../../cert/server.js';
import { MachineError } from '../../errors.js';
import type { DriverJSON } from '../../store/host.js';
import { CloudConnection } from './connection.js';
import { CloudAPIError } from './errors.js';
import { deleteLedger, Ledger, ledgerOf } from './ledger.js';
import { proxyFor } from './proxy.js';
import { BearerToken, type TokenSource } from './reauth.js';
import { backoffMs, DEFAULT_RETRY, retryHintMs } from './retry.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function serve(handler: Handler): Promise<{ url: string; close(): Promise<void> }> {
  const srv = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((r) => {
        srv.close(() => r());
        srv.closeAllConnections();
      }),
  };
}

function conn(endpoint: string, extra: Partial<ConstructorParameters<typeof CloudConnection>[0]> = {}) {
  const slept: number[] = [];
  const debug: string[] = [];
  const c = new CloudConnection({
    provider: 'Testcloud',
    endpoint,
    auth: () => ({ authorization: 'Bearer sekret-token-123' }),
    parseError: (_s, b) => {
      const e = b as { id?: string; message?: string; request_id?: string };
      return { code: e?.id ?? 'unknown', message: e?.message ?? String(b), requestId: e?.request_id };
    },
    debug: (l) => debug.push(l),
    sleep: async (ms) => {
      slept.push(ms);
    },
    ...extra,
  });
  return { c, slept, debug };
}

describe('cloud connection', () => {
  it('retries 429 after the RateLimit-Reset time and 503 with backoff, then returns the answer', async () => {
    let n = 0;
    const srv = await serve((_req, res) => {
      n++;
      if (n === 1) {
        res.writeHead(429, { 'ratelimit-reset': String(Math.floor(Date.now() / 1000) + 2) });
        return res.end('{"id":"too_many_requests","message":"API Rate limit exceeded."}');
      }
      if (n === 2) {
        res.writeHead(503);
        return res.end('{"id":"service_unavailable","message":"down"}');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    try {
      const { c, slept, debug } = conn(srv.url);
      assert.deepEqual(await c.get('/v2/x'), { ok: true });
      assert.equal(n, 3);
      assert.equal(c.stats.throttled, 1);
      assert.equal(c.stats.retries, 2);
      // The reset is 1–2 s away: the first wait follows it; the second is the backoff's second step.
      assert.ok(slept[0] >= 900 && slept[0] <= 2600, `waited ${slept[0]} ms for the reset`);
      assert.ok(slept[1] >= 500 && slept[1] <= 1000, `backoff ${slept[1]} ms`);
      // Debug lines show the request, never the token.
      assert.ok(
        debug.some((l) => l.includes('GET http://127.0.0.1') && l.includes('authorization=<REDACTED>')),
      );
      assert.ok(!debug.join('\n').includes('sekret-token-123'));
    } finally {
      await srv.close();
    }
  });

  it('gives up after the policy’s attempts with the provider’s code and message in one line', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(429);
      res.end('{"id":"too_many_requests","message":"API Rate limit exceeded.","request_id":"r-1"}');
    });
    try {
      const { c, slept } = conn(srv.url, { retry: { maxAttempts: 3 } });
      await assert.rejects(c.get('/v2/x'), (err: unknown) => {
        assert.ok(err instanceof CloudAPIError);
        assert.equal(
          err.message,
          'Testcloud API: too_many_requests: API Rate limit exceeded. (HTTP 429) (request r-1)',
        );
        assert.equal(err.exitCode, 1);
        return true;
      });
      assert.equal(slept.length, 2);
    } finally {
      await srv.close();
    }
  });

  it('does not repeat a POST that got a 500 (the provider may have acted on it)', async () => {
    let n = 0;
    const srv = await serve((_req, res) => {
      n++;
      res.writeHead(500);
      res.end('{"id":"server_error","message":"Server Error"}');
    });
    try {
      const { c } = conn(srv.url);
      await assert.rejects(c.post('/v2/droplets', { name: 'x' }), /server_error: Server Error \(HTTP 500\)/);
      assert.equal(n, 1);
      await assert.rejects(c.get('/v2/droplets'), /server_error/);
      assert.equal(n, 1 + DEFAULT_RETRY.maxAttempts);
    } finally {
      await srv.close();
    }
  });

  it('says which endpoint could not be reached', async () => {
    const srv = await serve(() => {});
    const url = srv.url;
    await srv.close();
    const { c } = conn(url, { retry: { maxAttempts: 1 } });
    await assert.rejects(
      c.get('/v2/x'),
      /Error: Testcloud API at http:\/\/127\.0\.0\.1:\d+ could not be reached: .*ECONNREFUSED/,
    );
  });
});

describe('credentials renewed after a 401', () => {
  /** A token source as a sign-in is: one token kept until it is dropped; `minted` counts new ones. */
  function source(fail?: Error) {
    const s = { minted: 0, current: '' };
    return {
      s,
      src: {
        token: async () => {
          if (fail) throw fail;
          s.current ||= `t${++s.minted}`;
          return s.current;
        },
        invalidate: () => {
          s.current = '';
        },
      },
    };
  }
  const refused = (res: ServerResponse) => {
    res.writeHead(401);
    res.end('{"id":"unauthorized","message":"Unable to authenticate you."}');
  };
  const withBearer = (src: TokenSource) => {
    const bearer = BearerToken.of(src);
    return {
      auth: () => bearer.headers(),
      reauthenticate: { renew: (r: Record<string, string>) => bearer.renew(r), hint: () => 'log in again' },
    };
  };

  it('renews once and sends again, a POST too; renewed and refused again is one line naming the request and what to do, with no third try', async () => {
    const seen: string[] = [];
    let good = 't2';
    const srv = await serve((req, res) => {
      seen.push(`${req.method} ${req.headers.authorization}`);
      if (req.headers.authorization !== `Bearer ${good}`) return refused(res);
      res.writeHead(201);
      res.end('{"ok":true}');
    });
    try {
      const { src, s } = source();
      const { c } = conn(srv.url, withBearer(src));
      assert.deepEqual(await c.post('/v2/things', { a: 1 }), { ok: true });
      assert.deepEqual(seen, ['POST Bearer t1', 'POST Bearer t2']);
      good = 'none';
      await assert.rejects(c.get('/v2/things/1'), (err: unknown) => {
        assert.ok(err instanceof CloudAPIError);
        assert.equal(
          err.message,
          'Testcloud API: unauthorized: Unable to authenticate you. (HTTP 401); GET /v2/things/1 was refused again with credentials renewed just before: log in again',
        );
        return true;
      });
      assert.deepEqual(seen.slice(2), ['GET Bearer t2', 'GET Bearer t3']);
      assert.equal(s.minted, 3);
    } finally {
      await srv.close();
    }
  });

  it('a 401 that comes after the token was already renewed for another request, on another connection of the same source, sends again with the new one, renewing nothing', async () => {
    let releaseLate: () => void = () => {};
    const late = new Promise<void>((r) => {
      releaseLate = r;
    });
    const seen: string[] = [];
    const srv = await serve((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`);
      if (req.headers.authorization === 'Bearer t2') {
        res.writeHead(200);
        return res.end('{}');
      }
      // The slow request's refusal is answered only once the fast one has been renewed and served.
      if (req.url === '/slow') late.then(() => refused(res));
      else refused(res);
    });
    try {
      const { src, s } = source();
      const { c } = conn(srv.url, withBearer(src));
      const { c: other } = conn(srv.url, withBearer(src));
      const slow = other.get('/slow');
      await new Promise((r) => setTimeout(r, 50));
      await c.get('/fast');
      releaseLate();
      await slow;
      assert.equal(s.minted, 2);
      assert.deepEqual(seen.sort(), [
        '/fast Bearer t1',
        '/fast Bearer t2',
        '/slow Bearer t1',
        '/slow Bearer t2',
      ]);
    } finally {
      await srv.close();
    }
  });

  it('credentials that cannot be had are their own error, not an API that could not be reached', async () => {
    let n = 0;
    const srv = await serve((_req, res) => {
      n++;
      res.end('{}');
    });
    try {
      const { src } = source(new MachineError('no credentials found; run `cloud login`'));
      const { c } = conn(srv.url, withBearer(src));
      await assert.rejects(c.get('/v2/x'), /^MachineError: no credentials found; run `cloud login`$/);
      assert.equal(n, 0);
    } finally {
      await srv.close();
    }
  });
});

describe('cloud connection for a signed query API', () => {
  it('sends a raw form with its content type, signs every attempt with the request as sent, repeats a POST marked idempotent, and reads the provider body', async () => {
    const seen: { auth: string; type: string; body: string }[] = [];
    const srv = await serve((req, res, body) => {
      seen.push({ auth: String(req.headers.authorization), type: String(req.headers['content-type']), body });
      if (seen.length <= 2) {
        res.writeHead(500);
        return res.end('<Response><Errors><Error><Code>InternalError</Code></Error></Errors></Response>');
      }
      if (seen.length === 3) {
        res.writeHead(400);
        return res.end(
          '<Response><Errors><Error><Code>InvalidThing.NotFound</Code></Error></Errors></Response>',
        );
      }
      res.writeHead(200);
      res.end('<ok/>');
    });
    try {
      let signed = 0;
      const { c, slept } = conn(srv.url, {
        auth: (r) => ({
          authorization: `sig-${++signed}-${r.method}-${r.url.pathname}-${r.payload}-${r.headers['content-type']}`,
        }),
        parseBody: (t) => ({ xml: t }),
        parseError: (status, b) => {
          const code = /<Code>([^<]+)</.exec((b as { xml: string }).xml)?.[1] ?? `HTTP${status}`;
          return { code, message: 'm', gone: code.endsWith('.NotFound') };
        },
      });
      const raw = { contentType: 'application/x-www-form-urlencoded', text: 'Action=Describe&X=1' };
      // A POST is not repeated after a 500 unless the caller says it is safe.
      await assert.rejects(c.request('POST', '/', undefined, { raw }), (err) => {
        assert.ok(err instanceof CloudAPIError && err.code === 'InternalError');
        return true;
      });
      await assert.rejects(c.request('POST', '/', undefined, { raw, idempotent: true }), (err) => {
        assert.ok(err instanceof CloudAPIError && err.gone && err.status === 400);
        return true;
      });
      const ok = await c.request('POST', '/', undefined, { raw, idempotent: true });
      assert.deepEqual(ok.body, { xml: '<ok/>' });
      assert.deepEqual(
        seen.map((x) => [x.auth, x.type, x.body]),
        [1, 2, 3, 4].map((n) => [
          `sig-${n}-POST-/-Action=Describe&X=1-application/x-www-form-urlencoded`,
          'application/x-www-form-urlencoded',
          'Action=Describe&X=1',
        ]),
      );
      // Only the 500 of the request marked idempotent was asked again.
      assert.equal(slept.length, 1);
    } finally {
      await srv.close();
    }
  });
});

describe('HTTPS through a CONNECT proxy, trusting NODE_EXTRA_CA_CERTS', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-cloud-tls-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('tunnels to the API host by name and checks its certificate against the extra CA', async () => {
    await makeTestCA(dir, 'ca');
    await generateServerCert({
      caCertPath: join(dir, 'ca', 'ca.pem'),
      caKeyPath: join(dir, 'ca', 'ca-key.pem'),
      certPath: join(dir, 'server.pem'),
      keyPath: join(dir, 'server-key.pem'),
      org: 'test',
      hosts: ['api.cloud.test', '127.0.0.1'],
    });
    const api = createHttpsServer(
      { cert: await readFile(join(dir, 'server.pem')), key: await readFile(join(dir, 'server-key.pem')) },
      (req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ path: req.url, auth: req.headers.authorization }));
      },
    );
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const apiPort = (api.address() as AddressInfo).port;
    // The proxy resolves every name to the API above: the test reaches nothing else.
    const tunnels: string[] = [];
    const sockets: { destroy(): void }[] = [];
    const proxy = createHttpServer();
    proxy.on('connect', (req, client, head) => {
      tunnels.push(req.url ?? '');
      sockets.push(client);
      const up = netConnect(apiPort, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(client);
        client.pipe(up);
      });
      sockets.push(up);
      up.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyPort = (proxy.address() as AddressInfo).port;
    try {
      const env = {
        HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`,
        NO_PROXY: 'other.test',
        NODE_EXTRA_CA_CERTS: join(dir, 'ca', 'ca.pem'),
      };
      const { c } = conn('https://api.cloud.test/v2/', { env });
      assert.deepEqual(await c.get('account'), { path: '/v2/account', auth: 'Bearer sekret-token-123' });
      assert.deepEqual(tunnels, ['api.cloud.test:443']);
      // Straight to the API (no proxy for loopback): the extra CA is trusted, and a create's
      // calls share one TLS connection.
      let connections = 0;
      api.on('secureConnection', () => connections++);
      const { c: direct } = conn(`https://127.0.0.1:${apiPort}/v2/`, { env });
      assert.deepEqual(await direct.get('regions'), { path: '/v2/regions', auth: 'Bearer sekret-token-123' });
      assert.deepEqual(await direct.get('sizes'), { path: '/v2/sizes', auth: 'Bearer sekret-token-123' });
      assert.equal(connections, 1);
      // Without the extra CA, the same certificate is refused, at once: no retry can change it.
      let handshakes = 0;
      api.on('tlsClientError', () => handshakes++);
      const { c: strict } = conn(`https://127.0.0.1:${apiPort}/v2/`, { env: {}, retry: { maxAttempts: 4 } });
      await assert.rejects(
        strict.get('account'),
        /could not be reached: .*certificate.*\(the server's certificate is not trusted here: add its CA to the system's or to NODE_EXTRA_CA_CERTS\)$/,
      );
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(handshakes, 1);
    } finally {
      for (const s of sockets) s.destroy();
      proxy.closeAllConnections();
      api.closeAllConnections();
      await new Promise((r) => proxy.close(r));
      await new Promise((r) => api.close(r));
    }
  });

  it('reads NO_PROXY as curl does, and never proxies loopback', () => {
    const env = { HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '.internal.example,api.b.test:8443' };
    assert.equal(proxyFor(new URL('https://api.digitalocean.com/'), env)?.host, 'proxy:3128');
    assert.equal(proxyFor(new URL('https://x.internal.example/'), env), undefined);
    assert.equal(proxyFor(new URL('https://internal.example/'), env), undefined);
    assert.equal(proxyFor(new URL('https://api.b.test:8443/'), env), undefined);
    assert.equal(proxyFor(new URL('https://api.b.test/'), env)?.host, 'proxy:3128');
    assert.equal(proxyFor(new URL('https://127.0.0.1:9/'), env), undefined);
    assert.equal(proxyFor(new URL('http://api.digitalocean.com/'), env), undefined);
    assert.equal(proxyFor(new URL('https://a.test/'), { ...env, NO_PROXY: '*' }), undefined);
  });
});

describe('retry hints', () => {
  it('reads Retry-After in seconds or as a date, and RateLimit-Reset as seconds or a Unix time', () => {
    const now = Date.parse('2026-12-06T07:00:00Z');
    assert.equal(retryHintMs({ 'retry-after': '3' }, now), 3000);
    assert.equal(retryHintMs({ 'retry-after': 'Sun, 06 Dec 2026 07:00:05 GMT' }, now), 5000);
    assert.equal(retryHintMs({ 'ratelimit-reset': String(now / 1000 + 7) }, now), 7000);
    assert.equal(retryHintMs({ 'ratelimit-reset': '4' }, now), 4000);
    assert.equal(retryHintMs({}, now), undefined);
    // The window's reset counts only when the window is spent, and only for throttled answers.
    const reset = String(now / 1000 + 3000);
    assert.equal(retryHintMs({ 'ratelimit-reset': reset, 'ratelimit-remaining': '0' }, now), 3_000_000);
    assert.equal(retryHintMs({ 'ratelimit-reset': reset, 'ratelimit-remaining': '4000' }, now), undefined);
    assert.equal(retryHintMs({ 'ratelimit-reset': reset }, now, false), undefined);
    assert.equal(retryHintMs({ 'retry-after': '2' }, now, false), 2000);
  });
  it('bounds every wait, the hint included', () => {
    const p = { ...DEFAULT_RETRY, maxDelayMs: 10_000 };
    assert.equal(
      backoffMs(p, 1, 3_600_000, () => 0),
      10_000,
    );
    assert.equal(
      backoffMs(p, 20, undefined, () => 1),
      10_000,
    );
    assert.equal(
      backoffMs(p, 3, undefined, () => 0),
      1000,
    );
  });
});

describe('ledger', () => {
  function store(initial: DriverJSON = {}) {
    let json = initial;
    let saves = 0;
    const ledger = new Ledger(
      () => json,
      (j) => {
        json = j;
      },
      async () => {
        saves++;
      },
    );
    return { ledger, json: () => json, saves: () => saves };
  }

  it('records the lookup before the call and the id after, each saved at once', async () => {
    const s = store({ MachineName: 'n1' });
    const e = await s.ledger.intend('droplet', { by: 'tag', value: 'dm-1' }, 'droplet n1');
    assert.equal(s.saves(), 1);
    assert.deepEqual(ledgerOf(s.json()), [
      { kind: 'droplet', id: '', find: { by: 'tag', value: 'dm-1' }, label: 'droplet n1' },
    ]);
    await s.ledger.made(e, '42');
    assert.equal(s.saves(), 2);
    assert.equal(ledgerOf(s.json())[0].id, '42');
    assert.equal(s.json().MachineName, 'n1');
  });

  it('deletes newest first, finds pending entries by their lookup, takes 404 as gone, and keeps what failed', async () => {
    const s = store();
    const key = await s.ledger.intend('key', { by: 'fingerprint', value: 'aa:bb' }, 'SSH key n1');
    await s.ledger.made(key, '7');
    await s.ledger.intend('server', { by: 'tag', value: 'dm-1' }, 'droplet n1');
    await s.ledger.intend('volume', { by: 'name', value: 'v1' }, 'volume n1');
    const calls: string[] = [];
    const gone = new CloudAPIError('T', 404, 'not_found', 'gone');
    const c = await deleteLedger(
      s.ledger,
      {
        key: {
          lookup: async (f) => {
            calls.push(`lookup ${f.value}`);
            return [];
          },
          delete: async (id) => {
            calls.push(`key ${id}`);
            throw new CloudAPIError('T', 403, 'forbidden', 'no');
          },
          byHand: (id) => `tcloud key delete ${id}`,
        },
        server: {
          lookup: async (f) => {
            calls.push(`lookup ${f.value}`);
            return ['100', '101'];
          },
          delete: async (id) => {
            calls.push(`server ${id}`);
            if (id === '101') throw gone;
          },
          byHand: (id) => `tcloud server delete ${id}`,
        },
        volume: { lookup: async () => [], delete: async () => {}, byHand: () => '' },
      },
      () => {},
    );
    // Known ids are looked up too: a create the connection repeated may have made a second one.
    assert.deepEqual(calls, ['lookup dm-1', 'server 100', 'server 101', 'lookup aa:bb', 'key 7']);
    assert.deepEqual(c.deleted, ['droplet n1 (100)']);
    assert.equal(c.failed.length, 1);
    assert.match(
      c.failed[0],
      /^SSH key n1 \(7\): T API: forbidden: no \(HTTP 403\); delete it by hand: tcloud key delete 7$/,
    );
    // Only what could not be deleted stays for the next rm.
    assert.deepEqual(
      ledgerOf(s.json()).map((e) => e.kind),
      ['key'],
    );
  });
});
