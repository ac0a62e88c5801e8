import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { afterEach, describe, test } from 'node:test';
import { FakeOpenStack, type FakeOpenStackOptions } from './fake.js';
import { KEYSTONE_SAMPLES, NOVA_SAMPLES, sample, samplesFor, shapeProblems } from './shapes.js';

// The fake itself, driven with plain fetch as a driver would: what Keystone, Nova and Neutron do,
// and that its bodies have the shapes of OpenStack's published samples.

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON answers are read field by field.
type Obj = Record<string, any>;

const DEMO = { name: 'demo', domain: { name: 'Default' }, password: 'secret' };
const DEMO_PROJECT = { name: 'demo', domain: { id: 'default' } };
const CIRROS = '70a599e0-31e7-49b7-b260-868f441e862b';
const PRIVATE = '3a7b5c9d-1e2f-4a6b-8c0d-2e4f6a8b0c1d';
const PUBLIC = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';
const PUB_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@host';

let fakes: FakeOpenStack[] = [];
afterEach(async () => {
  const problems = fakes.flatMap((f) => f.checkSamples());
  await Promise.all(fakes.map((f) => f.close()));
  fakes = [];
  assert.deepEqual(problems, [], 'every answer a sample documents has its shape');
});

async function start(opts: FakeOpenStackOptions = {}): Promise<FakeOpenStack> {
  const fake = new FakeOpenStack({ pollsToActive: 2, ...opts });
  fakes.push(fake);
  await fake.start();
  return fake;
}

async function call(
  method: string,
  url: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Obj; headers: Headers; text: string }> {
  const r = await fetch(url, {
    method,
    headers: {
      ...(opts.token ? { 'x-auth-token': opts.token } : {}),
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await r.text();
  let body: Obj = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {}
  return { status: r.status, body, headers: r.headers, text };
}

async function auth(os: FakeOpenStack, payload: unknown) {
  const r = await call('POST', `${os.authUrl}/auth/tokens`, { body: payload });
  return { ...r, token: r.headers.get('x-subject-token') ?? '' };
}

/** A project-scoped session of the demo user, with the public endpoints of a region. */
async function session(os: FakeOpenStack, region = 'RegionOne', iface = 'public') {
  const r = await auth(os, {
    auth: { identity: { methods: ['password'], password: { user: DEMO } }, scope: { project: DEMO_PROJECT } },
  });
  assert.equal(r.status, 201, r.text);
  const url = (type: string) =>
    r.body.token.catalog
      .find((c: Obj) => c.type === type)
      .endpoints.find((e: Obj) => e.region === region && e.interface === iface).url as string;
  const nova = url('compute');
  const neutron = `${url('network')}/v2.0`;
  const t = r.token;
  return {
    token: t,
    nova: (m: string, p: string, body?: unknown, headers?: Record<string, string>) =>
      call(m, `${nova}${p}`, { token: t, body, headers }),
    neutron: (m: string, p: string, body?: unknown) => call(m, `${neutron}${p}`, { token: t, body }),
    url,
  };
}

type Session = Awaited<ReturnType<typeof session>>;

async function boot(s: Session, extra: Obj = {}, name = 'm1'): Promise<string> {
  const r = await s.nova('POST', '/servers', {
    server: { name, flavorRef: '2', imageRef: CIRROS, networks: [{ uuid: PRIVATE }], ...extra },
  });
  assert.equal(r.status, 202, r.text);
  return r.body.server.id;
}

async function untilStatus(s: Session, id: string, status: string, max = 10): Promise<Obj> {
  for (let i = 0; i < max; i++) {
    const r = await s.nova('GET', `/servers/${id}`);
    assert.equal(r.status, 200, r.text);
    if (r.body.server.status === status) return r.body.server;
  }
  throw new Error(`server ${id} never became ${status}`);
}

describe('Keystone v3', () => {
  test('version documents: GET /v3, and the unversioned root lists v3 with 300', async () => {
    const os = await start();
    assert.match(os.authUrl, /^http:\/\/127\.0\.0\.1:\d+\/identity\/v3$/);
    const v = await call('GET', os.authUrl);
    assert.equal(v.status, 200);
    assert.equal(v.body.version.id, 'v3.14');
    assert.equal(v.body.version.links[0].href, `${os.authUrl}/`);
    const root = await call('GET', os.authUrl.replace(/\/v3$/, ''));
    assert.equal(root.status, 300);
    assert.equal(root.body.versions.values[0].id, 'v3.14');
    const flat = await start({ identityPath: '' });
    assert.match(flat.authUrl, /^http:\/\/127\.0\.0\.1:\d+\/v3$/);
    assert.equal((await call('GET', flat.authUrl)).status, 200);
  });

  test("every sample request authenticates, and each token body has its sample's shape", async () => {
    const os = await start();
    const req = KEYSTONE_SAMPLES.requests;
    const kinds: Record<string, string> = {};
    for (const [what, rel] of Object.entries({
      passwordById: req.passwordById,
      passwordByNameAndDomain: req.passwordByNameAndDomain,
      passwordExplicitUnscoped: req.passwordExplicitUnscoped,
      passwordSystemScoped: req.passwordSystemScoped,
      appCredentialById: req.appCredentialById,
      appCredentialByName: req.appCredentialByName,
    })) {
      const r = await auth(os, sample(rel));
      assert.equal(r.status, 201, `${what}: ${r.text}`);
      assert.match(r.token, /^gAAAAA[\w-]{150,}$/, `${what}: X-Subject-Token`);
      kinds[what] = 'project' in r.body.token ? 'project' : 'system' in r.body.token ? 'system' : 'unscoped';
    }
    assert.deepEqual(kinds, {
      passwordById: 'unscoped',
      passwordByNameAndDomain: 'unscoped',
      passwordExplicitUnscoped: 'unscoped',
      passwordSystemScoped: 'system',
      appCredentialById: 'project',
      appCredentialByName: 'project',
    });
    // The token samples carry a placeholder where a token goes.
    const first = await auth(os, sample(req.passwordById));
    const withToken = (rel: string) =>
      JSON.parse(JSON.stringify(sample(rel)).replace("'$OS_TOKEN'", first.token));
    for (const rel of [req.tokenUnscoped, req.tokenExplicitUnscoped]) {
      const r = await auth(os, withToken(rel));
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.token.project, undefined);
      assert.deepEqual(r.body.token.methods, ['token']);
    }
    const scoped = await auth(os, withToken(req.tokenScoped));
    assert.equal(scoped.status, 201, scoped.text);
    assert.equal(scoped.body.token.project.id, '5b50efd009b540559104ee3c03bbb2b7');
    assert.ok(Array.isArray(scoped.body.token.catalog));
    // Each kind was compared with its samples (afterEach checks every one); say how many.
    const tokens = os.sent.filter((s) => s.op === 'keystone:token');
    assert.equal(tokens.length, 10);
    assert.deepEqual(
      [...new Set(tokens.map((t) => samplesFor(t.op, t.body)!.join()))].length,
      3,
      'project-scoped, application-credential and unscoped samples were all used',
    );
  });

  test('the shape check notices a missing key and a wrong type', () => {
    const good = sample(KEYSTONE_SAMPLES.projectScoped[0]) as Obj;
    assert.deepEqual(shapeProblems([good], good), []);
    const bad = structuredClone(good);
    delete bad.token.catalog[0].endpoints[1].interface;
    bad.token.is_domain = 'false';
    assert.deepEqual(shapeProblems([good], bad), [
      'token.is_domain: expected boolean, got string',
      'token.catalog[0].endpoints[1].interface: missing',
    ]);
  });

  test('project scope by name needs its domain; names are looked up in that domain', async () => {
    const os = await start();
    const pw = { methods: ['password'], password: { user: DEMO } };
    const byName = await auth(os, { auth: { identity: pw, scope: { project: DEMO_PROJECT } } });
    assert.equal(byName.status, 201);
    assert.equal(byName.body.token.project.id, 'a6944d763bf64ee6a275f1263fae0352');
    const noDomain = await auth(os, { auth: { identity: pw, scope: { project: { name: 'demo' } } } });
    assert.equal(noDomain.status, 400);
    assert.deepEqual(noDomain.body, {
      error: { code: 400, title: 'Bad Request', message: 'Expecting to find domain in project.' },
    });
    // The other "demo" project (domain Engineering) is not the demo user's.
    const other = await auth(os, {
      auth: { identity: pw, scope: { project: { name: 'demo', domain: { name: 'Engineering' } } } },
    });
    assert.equal(other.status, 401);
    // By id; and with no scope the user's default project.
    const byId = await auth(os, {
      auth: { identity: pw, scope: { project: { id: 'a6944d763bf64ee6a275f1263fae0352' } } },
    });
    assert.equal(byId.status, 201);
    const dflt = await auth(os, { auth: { identity: pw } });
    assert.equal(dflt.body.token.project.name, 'demo');
    // A user name without its domain.
    const userNoDomain = await auth(os, {
      auth: { identity: { methods: ['password'], password: { user: { name: 'demo', password: 'secret' } } } },
    });
    assert.equal(userNoDomain.status, 400);
    assert.equal(userNoDomain.body.error.message, 'Expecting to find domain in user.');
  });

  test('wrong credentials: 401 with the one message Keystone gives for all of them', async () => {
    const os = await start();
    const expected = {
      error: {
        code: 401,
        title: 'Unauthorized',
        message: 'The request you have made requires authentication.',
      },
    };
    const cases = [
      { methods: ['password'], password: { user: { ...DEMO, password: 'wrong' } } },
      { methods: ['password'], password: { user: { ...DEMO, name: 'nobody' } } },
      { methods: ['password'], password: { user: { id: 'nope', password: 'secret' } } },
      {
        methods: ['application_credential'],
        application_credential: { id: '7e2b4c6d8f0a4b1c9d3e5f7a9b1c3d5e', secret: 'x' },
      },
    ];
    for (const identity of cases) {
      const r = await auth(os, { auth: { identity } });
      assert.equal(r.status, 401, JSON.stringify(identity));
      assert.deepEqual(r.body, expected);
      assert.equal(r.headers.get('x-subject-token'), null);
    }
    const scopedAppCred = await auth(os, {
      auth: {
        identity: {
          methods: ['application_credential'],
          application_credential: { id: '7e2b4c6d8f0a4b1c9d3e5f7a9b1c3d5e', secret: 'app-cred-secret' },
        },
        scope: { project: DEMO_PROJECT },
      },
    });
    assert.equal(scopedAppCred.status, 401);
    const extra = await auth(os, {
      auth: { identity: { methods: ['password'], password: { user: { ...DEMO, x: 1 } } } },
    });
    assert.equal(extra.status, 400);
    assert.match(extra.body.error.message, /Additional properties are not allowed \('x' was unexpected\)/);
    const junk = await call('POST', `${os.authUrl}/auth/tokens`, {
      body: undefined,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(junk.status, 400);
  });

  test('the catalog: every service in two regions with public, internal and admin endpoints, each its own URL', async () => {
    const os = await start();
    const s = await session(os);
    const catalog = os.catalog('a6944d763bf64ee6a275f1263fae0352') as Obj[];
    assert.deepEqual(
      catalog.map((c) => c.type),
      ['identity', 'compute', 'network', 'image', 'volumev3'],
    );
    const urls = catalog
      .filter((c) => c.type !== 'identity')
      .flatMap((c) => c.endpoints.map((e: Obj) => e.url));
    assert.equal(urls.length, 4 * 2 * 3);
    assert.equal(new Set(urls).size, urls.length);
    assert.ok(s.url('volumev3').endsWith('/volume/v3/a6944d763bf64ee6a275f1263fae0352'));
    // The request log says which region and interface a call went to.
    const internal = await session(os, 'RegionTwo', 'internal');
    assert.equal((await internal.nova('GET', '/flavors')).status, 200);
    const last = os.requests.at(-1)!;
    assert.deepEqual([last.service, last.region, last.interface], ['compute', 'RegionTwo', 'internal']);
    // Only what the options list.
    const small = await start({
      regions: ['East'],
      interfaces: ['public'],
      services: ['identity', 'compute'],
    });
    const t = await auth(small, {
      auth: {
        identity: { methods: ['password'], password: { user: DEMO } },
        scope: { project: DEMO_PROJECT },
      },
    });
    assert.deepEqual(
      t.body.token.catalog.map(
        (c: Obj) => `${c.type}:${c.endpoints.map((e: Obj) => `${e.region}/${e.interface}`)}`,
      ),
      ['identity:East/public', 'compute:East/public'],
    );
  });
});

describe('tokens at the services', () => {
  test('no token, an unknown one, an expired one: 401 as keystonemiddleware answers; an unscoped one: 403', async () => {
    const os = await start();
    const s = await session(os);
    const nova = s.url('compute');
    const expected = {
      error: {
        code: 401,
        title: 'Unauthorized',
        message: 'The request you have made requires authentication.',
      },
    };
    for (const token of [undefined, 'not-a-token']) {
      const r = await call('GET', `${nova}/servers`, { token });
      assert.equal(r.status, 401);
      assert.deepEqual(r.body, expected);
      assert.match(
        r.headers.get('www-authenticate') ?? '',
        /^Keystone uri="http:\/\/127\.0\.0\.1:\d+\/identity"$/,
      );
      const n = await call('GET', `${s.url('network')}/v2.0/networks`, { token });
      assert.equal(n.status, 401);
    }
    assert.equal((await s.nova('GET', '/servers')).status, 200);
    os.expireTokens();
    assert.equal((await s.nova('GET', '/servers')).status, 401);
    const again = await session(os);
    assert.equal((await again.nova('GET', '/servers')).status, 200, 'a new token works');
    const unscoped = await auth(os, sample(KEYSTONE_SAMPLES.requests.passwordById));
    const r = await call('GET', `${nova}/servers`, { token: unscoped.token });
    assert.equal(r.status, 403);
    assert.ok(r.body.forbidden.message.startsWith("Policy doesn't allow"));
    // Version documents need no token.
    assert.equal((await call('GET', nova)).status, 200);
  });

  test('TLS: HTTPS with a CA of its own; a client that trusts it connects, one that does not is refused', async () => {
    const os = await start({ tls: true });
    assert.match(os.authUrl, /^https:\/\/127\.0\.0\.1:\d+\/identity\/v3$/);
    assert.ok(os.caPath);
    const ca = await readFile(os.caPath);
    const get = (trust?: Buffer) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest(`${os.authUrl}`, { ca: trust }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await get(ca), 200);
    await assert.rejects(get(), /self[- ]signed|unable to verify/i);
  });
});

describe('Nova servers', () => {
  test("the sample create request is accepted; create, get, detail and list answers have the samples' shapes", async () => {
    const os = await start({ addresses: ['127.0.0.1'] });
    const s = await session(os);
    const req = sample(NOVA_SAMPLES.createRequest) as Obj;
    const r = await s.nova('POST', '/servers', req);
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(shapeProblems([sample(NOVA_SAMPLES.createResponse)], r.body), []);
    assert.equal(r.headers.get('openstack-api-version'), 'compute 2.1');
    const id = r.body.server.id;
    const server = await untilStatus(s, id, 'ACTIVE');
    assert.deepEqual(server.metadata, { 'My Server Name': 'Apache1' });
    assert.equal(server['OS-EXT-AZ:availability_zone'], 'us-west');
    assert.equal(server.accessIPv4, '1.2.3.4');
    assert.deepEqual(shapeProblems([sample(NOVA_SAMPLES.getResponse)], { server }), []);
    assert.equal(server['OS-EXT-SRV-ATTR:host'], undefined, 'admin-only fields hidden from a member');
    const detail = await s.nova('GET', '/servers/detail');
    assert.equal(detail.body.servers.length, 1);
    const list = await s.nova('GET', '/servers');
    assert.deepEqual(Object.keys(list.body.servers[0]).sort(), ['id', 'links', 'name']);
    // As admin (the samples were made as admin) the extra fields are there too, and checked.
    const admin = await auth(os, {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { id: '423f19a4ac1e4f48bbb4180756e6eb6c', password: 'devstacker' } },
        },
        scope: { project: { id: 'a6944d763bf64ee6a275f1263fae0352' } },
      },
    });
    const asAdmin = await call('GET', `${s.url('compute')}/servers/${id}`, { token: admin.token });
    assert.equal(asAdmin.body.server['OS-EXT-SRV-ATTR:hypervisor_hostname'], 'compute-0.example.org');
    assert.ok(os.sent.some((x) => x.op === 'nova:server-get' && x.admin));
    // What the create was made with is kept for the test.
    const info = os.servers.get(id)!.info;
    assert.equal(info.userData, '#!/bin/bash\n/bin/su\necho "I am in you!"\n');
    assert.deepEqual(info.schedulerHints, { same_host: '48e6a9f6-30af-47e0-bc04-acaed113bb4e' });
  });

  test('schema checks as Nova: unknown fields, a missing name, bad user_data; the 2.37 samples are refused at 2.1', async () => {
    const os = await start();
    const s = await session(os);
    const base = { name: 'x', flavorRef: '1', imageRef: CIRROS };
    const bad = async (body: unknown, re: RegExp) => {
      const r = await s.nova('POST', '/servers', body);
      assert.equal(r.status, 400, r.text);
      assert.deepEqual(Object.keys(r.body), ['badRequest']);
      assert.equal(r.body.badRequest.code, 400);
      assert.match(r.body.badRequest.message, re);
    };
    await bad(
      { server: { ...base, hostname: 'x' } },
      /^Invalid input for field\/attribute server\. Value: .*\. Additional properties are not allowed \('hostname' was unexpected\)$/,
    );
    await bad(
      { server: base, extra: 1 },
      /^Additional properties are not allowed \('extra' was unexpected\)$/,
    );
    await bad({ server: { flavorRef: '1', imageRef: CIRROS } }, /'name' is a required property/);
    await bad(
      { server: { ...base, user_data: 'not base64!' } },
      /Invalid input for field\/attribute user_data\..*is not a 'base64'/,
    );
    await bad({ server: { ...base, user_data: 'abc' } }, /is not a 'base64'/);
    await bad({ server: { ...base, metadata: { a: 1 } } }, /1 is not of type 'string'/);
    await bad(
      { server: { ...base, networks: [{ uuid: PRIVATE, tag: 'x' }] } },
      /Additional properties are not allowed \('tag' was unexpected\)/,
    );
    await bad(
      sample(NOVA_SAMPLES.createRequestV237),
      /Invalid input for field\/attribute networks\. Value: "auto"\. "auto" is not of type 'array'/,
    );
    const v237 = await s.nova('POST', '/servers', sample(NOVA_SAMPLES.createRequestV237), {
      'OpenStack-API-Version': 'compute 2.37',
    });
    assert.equal(v237.status, 406);
    assert.equal(
      v237.body.notAcceptable.message,
      'Version 2.37 is not supported by the API. Minimum is 2.1 and maximum is 2.1.',
    );
    assert.equal(os.servers.size, 0, 'nothing was made');
  });

  test('state checks: unknown flavor, image, key, network, zone, group; an image not active; two networks; quota', async () => {
    const os = await start({
      networks: [
        { id: PRIVATE, name: 'private' },
        { id: '0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6', name: 'second' },
        { id: PUBLIC, name: 'public', external: true },
      ],
      quotas: { instances: 1 },
    });
    const s = await session(os);
    const base = { name: 'x', flavorRef: '1', imageRef: CIRROS, networks: [{ uuid: PRIVATE }] };
    const cases: [Obj, number, string][] = [
      [{ flavorRef: '99' }, 400, 'Flavor 99 could not be found.'],
      [{ imageRef: '11111111-2222-4333-8444-555555555555' }, 400, 'Can not find requested image'],
      [
        { imageRef: 'e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8' },
        400,
        'Image e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8 is not active.',
      ],
      [{ key_name: 'nokey' }, 400, 'Invalid key_name provided.'],
      [
        { networks: [{ uuid: '11111111-2222-4333-8444-555555555555' }] },
        400,
        'Network 11111111-2222-4333-8444-555555555555 could not be found.',
      ],
      [
        { networks: [{ uuid: PUBLIC }] },
        403,
        `It is not allowed to create an interface on external network ${PUBLIC}`,
      ],
      [{ availability_zone: 'mars' }, 400, 'The requested availability zone is not available'],
      [{ security_groups: [{ name: 'nosuch' }] }, 400, 'Security group nosuch not found.'],
      [
        { networks: undefined },
        409,
        'Multiple possible networks found, use a Network ID to be more specific.',
      ],
    ];
    for (const [extra, status, message] of cases) {
      const r = await s.nova('POST', '/servers', { server: { ...base, ...extra } });
      assert.equal(r.status, status, `${JSON.stringify(extra)}: ${r.text}`);
      const fault = Object.values(r.body)[0] as Obj;
      assert.deepEqual(fault, { code: status, message });
    }
    assert.equal(os.servers.size, 0);
    await boot(s, { networks: [{ uuid: PRIVATE }] });
    const over = await s.nova('POST', '/servers', { server: base });
    assert.equal(over.status, 403);
    assert.equal(
      over.body.forbidden.message,
      'Quota exceeded for instances: Requested 1, but already used 1 of 1 instances',
    );
  });

  test('BUILD, then ACTIVE at the configured poll; addresses only once ACTIVE, from the address source', async () => {
    const asked: Obj[] = [];
    const os = await start({
      pollsToActive: 3,
      addresses: (req) => {
        asked.push(req);
        return '127.0.0.7';
      },
    });
    const s = await session(os);
    const id = await boot(s);
    const seen: [string, number][] = [];
    for (let i = 0; i < 4; i++) {
      const g = (await s.nova('GET', `/servers/${id}`)).body.server;
      seen.push([g.status, Object.keys(g.addresses).length]);
    }
    assert.deepEqual(seen, [
      ['BUILD', 0],
      ['BUILD', 0],
      ['ACTIVE', 1],
      ['ACTIVE', 1],
    ]);
    const server = (await s.nova('GET', `/servers/${id}`)).body.server;
    assert.deepEqual(
      server.addresses.private.map((a: Obj) => [a.addr, a.version, a['OS-EXT-IPS:type']]),
      [
        ['127.0.0.7', 4, 'fixed'],
        ['2001:db8:1::a', 6, 'fixed'],
      ],
    );
    assert.deepEqual(asked, [
      { kind: 'fixed', region: 'RegionOne', network: 'private', serverId: id, serverName: 'm1' },
    ]);
    // The detail list counts as a poll too, and shows the same.
    const err = await start({ buildResult: () => 'ERROR', pollsToActive: 1 });
    const e = await session(err);
    const bad = await boot(e);
    const failed = (await e.nova('GET', `/servers/${bad}`)).body.server;
    assert.equal(failed.status, 'ERROR');
    assert.deepEqual(failed.addresses, {});
    assert.equal(failed.fault.message, 'No valid host was found. ');
  });

  test('power actions: 409 in the wrong state as Nova says it, transitions over polls, onAction as each takes effect', async () => {
    const actions: string[] = [];
    const os = await start({
      actionPolls: 2,
      onAction: async (id, action) => {
        actions.push(`${action} ${id.slice(0, 8)}`);
      },
    });
    const s = await session(os);
    const id = await boot(s);
    const act = (body: unknown) => s.nova('POST', `/servers/${id}/action`, body);
    const building = await act(sample(NOVA_SAMPLES.stop));
    assert.equal(building.status, 409);
    assert.deepEqual(building.body, {
      conflictingRequest: {
        code: 409,
        message: `Cannot 'stop' instance ${id} while it is in vm_state building`,
      },
    });
    await untilStatus(s, id, 'ACTIVE');
    const notStopped = await act(sample(NOVA_SAMPLES.start));
    assert.equal(
      notStopped.body.conflictingRequest.message,
      `Cannot 'start' instance ${id} while it is in vm_state active`,
    );
    const stop = await act(sample(NOVA_SAMPLES.stop));
    assert.equal(stop.status, 202);
    assert.equal(stop.text, '');
    const during = (await s.nova('GET', `/servers/${id}`)).body.server;
    assert.deepEqual([during.status, during['OS-EXT-STS:task_state']], ['ACTIVE', 'powering-off']);
    const again = await act({ 'os-stop': null });
    assert.equal(
      again.body.conflictingRequest.message,
      `Cannot 'stop' instance ${id} while it is in task_state powering-off`,
    );
    const stopped = (await s.nova('GET', `/servers/${id}`)).body.server;
    assert.deepEqual(
      [stopped.status, stopped['OS-EXT-STS:power_state'], stopped['OS-EXT-STS:vm_state']],
      ['SHUTOFF', 4, 'stopped'],
    );
    const soft = await act({ reboot: { type: 'SOFT' } });
    assert.equal(
      soft.body.conflictingRequest.message,
      `Cannot 'reboot' instance ${id} while it is in vm_state stopped`,
    );
    assert.equal((await act({ 'os-start': null })).status, 202);
    await untilStatus(s, id, 'ACTIVE');
    assert.equal((await act(sample(NOVA_SAMPLES.reboot))).status, 202);
    assert.equal((await s.nova('GET', `/servers/${id}`)).body.server.status, 'HARD_REBOOT');
    await untilStatus(s, id, 'ACTIVE');
    assert.deepEqual(actions, [
      `os-stop ${id.slice(0, 8)}`,
      `os-start ${id.slice(0, 8)}`,
      `reboot ${id.slice(0, 8)}`,
    ]);
    const typeless = await act({ reboot: {} });
    assert.match(typeless.body.badRequest.message, /'type' is a required property/);
    const badType = await act({ reboot: { type: 'GENTLE' } });
    assert.match(
      badType.body.badRequest.message,
      /"GENTLE" is not one of \['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft'\]/,
    );
    const unknown = await act({ dance: null });
    assert.deepEqual(unknown.body, {
      itemNotFound: { code: 404, message: 'There is no such action: dance' },
    });
    const missing = await s.nova('POST', '/servers/00000000-0000-4000-8000-000000000000/action', {
      'os-start': null,
    });
    assert.deepEqual(missing.body, {
      itemNotFound: {
        code: 404,
        message: 'Instance 00000000-0000-4000-8000-000000000000 could not be found.',
      },
    });
  });

  test('delete: 204, the server is deleting for the configured polls, then 404; its ports go, its floating IP stays', async () => {
    const os = await start({ deletePolls: 2, addresses: ['127.0.0.9'] });
    const s = await session(os);
    const id = await boot(s);
    await untilStatus(s, id, 'ACTIVE');
    const port = (await s.neutron('GET', `/ports?device_id=${id}`)).body.ports[0];
    const fip = await s.neutron('POST', '/floatingips', {
      floatingip: { floating_network_id: PUBLIC, port_id: port.id },
    });
    assert.equal(fip.status, 201, fip.text);
    const del = await s.nova('DELETE', `/servers/${id}`);
    assert.equal(del.status, 204);
    assert.equal((await s.nova('GET', `/servers/${id}`)).body.server['OS-EXT-STS:task_state'], 'deleting');
    const gone = await s.nova('GET', `/servers/${id}`);
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.body, {
      itemNotFound: { code: 404, message: `Instance ${id} could not be found.` },
    });
    assert.deepEqual((await s.neutron('GET', `/ports?device_id=${id}`)).body.ports, []);
    const left = (await s.neutron('GET', `/floatingips/${fip.body.floatingip.id}`)).body.floatingip;
    assert.deepEqual([left.port_id, left.fixed_ip_address, left.status], [null, null, 'DOWN']);
    assert.deepEqual(os.inventory().floatingIps, [left.floating_ip_address]);
    assert.equal(os.deletedServers.get(id)?.name, 'm1');
  });

  test('a server in RegionTwo is not seen from RegionOne', async () => {
    const os = await start();
    const one = await session(os);
    const two = await session(os, 'RegionTwo');
    const id = await boot(two);
    assert.equal((await two.nova('GET', `/servers/${id}`)).status, 200);
    assert.equal((await one.nova('GET', `/servers/${id}`)).status, 404);
    assert.equal(os.servers.get(id)?.region, 'RegionTwo');
  });

  test('boot from volume: block_device_mapping_v2 from an image makes a volume, removed with the server if asked', async () => {
    const os = await start({ pollsToActive: 1 });
    const s = await session(os);
    const bdm = (del: boolean, size?: number) => ({
      imageRef: '',
      block_device_mapping_v2: [
        {
          boot_index: 0,
          uuid: CIRROS,
          source_type: 'image',
          destination_type: 'volume',
          volume_size: size,
          delete_on_termination: del,
        },
      ],
    });
    const sizeless = await s.nova('POST', '/servers', {
      server: { name: 'v0', flavorRef: '1', networks: [{ uuid: PRIVATE }], ...bdm(true) },
    });
    assert.equal(
      sizeless.body.badRequest.message,
      "Images with destination_type 'volume' need to have a non-zero size specified",
    );
    const a = await boot(s, bdm(true, 10), 'va');
    const b = await boot(s, bdm(false, 12), 'vb');
    const server = (await s.nova('GET', `/servers/${a}`)).body.server;
    assert.equal(server.image, '');
    assert.equal(server['os-extended-volumes:volumes_attached'].length, 1);
    const volA = server['os-extended-volumes:volumes_attached'][0].id;
    assert.equal(os.volumes.get(volA)?.status, 'in-use');
    await s.nova('GET', `/servers/${b}`);
    const cinder = s.url('volumev3');
    const listed = await call('GET', `${cinder}/volumes/detail`, { token: s.token });
    assert.deepEqual(listed.body.volumes.map((v: Obj) => [v.size, v.status]).sort(), [
      [10, 'in-use'],
      [12, 'in-use'],
    ]);
    const inUse = await call('DELETE', `${cinder}/volumes/${volA}`, { token: s.token });
    assert.equal(inUse.status, 400);
    assert.match(inUse.body.badRequest.message, /^Invalid volume: Volume status must be available/);
    await s.nova('DELETE', `/servers/${a}`);
    await s.nova('DELETE', `/servers/${b}`);
    const left = [...os.volumes.values()];
    assert.deepEqual(
      left.map((v) => [v.size, v.status, v.attachedTo]),
      [[12, 'available', null]],
    );
    assert.equal((await call('DELETE', `${cinder}/volumes/${left[0].id}`, { token: s.token })).status, 202);
    assert.equal(os.volumes.size, 0);
  });

  test('server groups: a scheduler hint joins one; an unknown one is refused', async () => {
    const os = await start();
    const s = await session(os);
    const g = await s.nova('POST', '/os-server-groups', {
      server_group: { name: 'spread', policies: ['anti-affinity'] },
    });
    assert.equal(g.status, 200, g.text);
    const gid = g.body.server_group.id;
    const r = await s.nova('POST', '/servers', {
      server: { name: 'g1', flavorRef: '1', imageRef: CIRROS, networks: [{ uuid: PRIVATE }] },
      'os:scheduler_hints': { group: gid },
    });
    assert.equal(r.status, 202, r.text);
    assert.deepEqual((await s.nova('GET', `/os-server-groups/${gid}`)).body.server_group.members, [
      r.body.server.id,
    ]);
    const bad = await s.nova('POST', '/servers', {
      server: { name: 'g2', flavorRef: '1', imageRef: CIRROS, networks: [{ uuid: PRIVATE }] },
      'os:scheduler_hints': { group: '00000000-0000-4000-8000-000000000000' },
    });
    assert.equal(bad.status, 400);
  });

  test('rate limit: 429 overLimit with Retry-After in the header and the body', async () => {
    const os = await start({ rateLimit: { limit: 2, windowMs: 60_000, retryAfterSeconds: 7 } });
    const s = await session(os);
    assert.equal((await s.nova('GET', '/flavors')).status, 200);
    assert.equal((await s.nova('GET', '/flavors')).status, 200);
    const r = await s.nova('GET', '/flavors');
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '7');
    assert.deepEqual(r.body, {
      overLimit: { code: 429, message: 'This request was rate-limited.', retryAfter: '7' },
    });
    assert.equal(os.throttled, 1);
  });
});

describe('Nova key pairs, flavors, images', () => {
  test('key pairs: import, a duplicate name is 409, bad keys and names 400, generated keys, get and delete', async () => {
    const os = await start();
    const s = await session(os);
    const made = await s.nova('POST', '/os-keypairs', { keypair: { name: 'dm-key', public_key: PUB_KEY } });
    assert.equal(made.status, 200, made.text);
    assert.match(made.body.keypair.fingerprint, /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    const dup = await s.nova('POST', '/os-keypairs', { keypair: { name: 'dm-key', public_key: PUB_KEY } });
    assert.equal(dup.status, 409);
    assert.deepEqual(dup.body, {
      conflictingRequest: { code: 409, message: "Key pair 'dm-key' already exists." },
    });
    const badKey = await s.nova('POST', '/os-keypairs', {
      keypair: { name: 'k2', public_key: 'ssh-rsa AAAAB3Nza' },
    });
    assert.equal(badKey.body.badRequest.message, 'Keypair data is invalid: failed to generate fingerprint');
    const dotted = await s.nova('POST', '/os-keypairs', {
      keypair: { name: 'host.example', public_key: PUB_KEY },
    });
    assert.equal(
      dotted.body.badRequest.message,
      'Keypair data is invalid: Keypair name contains unsafe characters',
    );
    const gen = await s.nova('POST', '/os-keypairs', { keypair: { name: 'generated' } });
    assert.match(gen.body.keypair.private_key, /^-----BEGIN RSA PRIVATE KEY-----/);
    assert.match(gen.body.keypair.public_key, /^ssh-rsa AAAAB3NzaC1yc2E/);
    const list = await s.nova('GET', '/os-keypairs');
    assert.deepEqual(
      list.body.keypairs.map((k: Obj) => k.keypair.name),
      ['dm-key', 'generated'],
    );
    const one = await s.nova('GET', '/os-keypairs/dm-key');
    assert.equal(one.body.keypair.public_key, PUB_KEY);
    assert.equal((await s.nova('DELETE', '/os-keypairs/dm-key')).status, 202);
    const gone = await s.nova('GET', '/os-keypairs/dm-key');
    assert.equal(gone.status, 404);
    assert.match(
      gone.body.itemNotFound.message,
      /^Keypair dm-key not found for user fd786d56402c4d1691372e7dee0d00b5$/,
    );
    // A key made before is usable by name and its public key reaches onCreate.
    os.addKeypair('by-hand', PUB_KEY, { userId: 'fd786d56402c4d1691372e7dee0d00b5' });
    const id = await boot(s, { key_name: 'by-hand' });
    assert.equal(os.servers.get(id)?.info.publicKey, PUB_KEY);
  });

  test('flavors page with limit and marker; clients follow flavors_links until there is none', async () => {
    const os = await start({ maxLimit: 2 });
    const s = await session(os);
    const names: string[] = [];
    let url: string | undefined = `${s.url('compute')}/flavors/detail`;
    let pages = 0;
    while (url) {
      const r = await call('GET', url, { token: s.token });
      assert.equal(r.status, 200);
      names.push(...r.body.flavors.map((f: Obj) => f.name));
      url = r.body.flavors_links?.find((l: Obj) => l.rel === 'next')?.href;
      pages++;
    }
    assert.equal(names.length, os.opts.flavors.length);
    assert.ok(names.includes('ds512M'));
    assert.equal(pages, 5, 'nine flavors by two, and an empty last page after a full one, as Nova does');
    const small = await s.nova('GET', '/flavors?limit=1&marker=42');
    assert.deepEqual(
      small.body.flavors.map((f: Obj) => f.id),
      ['5'],
    );
    const bad = await s.nova('GET', '/flavors/detail?marker=nope');
    assert.deepEqual(bad.body, { badRequest: { code: 400, message: 'marker [nope] not found' } });
    assert.equal((await s.nova('GET', '/flavors/2')).body.flavor.name, 'm1.small');
  });

  test("images: Nova's proxy by name, and Glance v2", async () => {
    const os = await start();
    const s = await session(os);
    const proxy = await s.nova('GET', '/images/detail?name=debian-12');
    assert.deepEqual(
      proxy.body.images.map((i: Obj) => [i.id, i.status, i.minDisk]),
      [['b1e2d3c4-5a6b-4c7d-8e9f-0a1b2c3d4e5f', 'ACTIVE', 2]],
    );
    const glance = await call('GET', `${s.url('image')}/v2/images?name=debian-12`, { token: s.token });
    assert.deepEqual(
      glance.body.images.map((i: Obj) => [i.id, i.status]),
      [['b1e2d3c4-5a6b-4c7d-8e9f-0a1b2c3d4e5f', 'active']],
    );
    const missing = await call('GET', `${s.url('image')}/v2/images/nope`, { token: s.token });
    assert.equal(missing.status, 404);
    assert.match(missing.text, /^404 Not Found\n\nNo image found with ID nope/);
    const zones = await s.nova('GET', '/os-availability-zone');
    assert.deepEqual(
      zones.body.availabilityZoneInfo.map((z: Obj) => z.zoneName),
      ['nova', 'us-west'],
    );
  });
});

describe('Neutron', () => {
  test('networks by name and router:external; an unknown filter is refused; errors are NeutronError', async () => {
    const os = await start();
    const s = await session(os);
    const pub = await s.neutron('GET', '/networks?name=public');
    assert.deepEqual(
      pub.body.networks.map((n: Obj) => [n.id, n['router:external']]),
      [[PUBLIC, true]],
    );
    const ext = await s.neutron('GET', '/networks?router:external=True');
    assert.deepEqual(
      ext.body.networks.map((n: Obj) => n.name),
      ['public'],
    );
    const bad = await s.neutron('GET', '/networks?colour=blue');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, {
      NeutronError: {
        type: 'HTTPBadRequest',
        message: '[colour] is invalid attribute for filtering',
        detail: '',
      },
    });
    const missing = await s.neutron('GET', '/networks/nope');
    assert.deepEqual(missing.body, {
      NeutronError: { type: 'NetworkNotFound', message: 'Network nope could not be found.', detail: '' },
    });
    const subnets = await s.neutron('GET', `/subnets?network_id=${PRIVATE}`);
    assert.deepEqual(
      subnets.body.subnets.map((x: Obj) => x.ip_version),
      [4, 6],
    );
    const paged = await start({ maxLimit: 1 });
    const p = await session(paged);
    const first = await p.neutron('GET', '/networks');
    assert.equal(first.body.networks.length, 1);
    assert.equal(first.body.networks_links[0].rel, 'next');
  });

  test('floating IPs: allocate from the external network, associate to the server port, shown by Nova; Neutron refusals', async () => {
    const os = await start({
      addresses: ['127.0.0.5'],
      floatingAddresses: ['127.0.0.6'],
      quotas: { floatingip: 2 },
    });
    const s = await session(os);
    const id = await boot(s);
    await untilStatus(s, id, 'ACTIVE');
    const ports = await s.neutron('GET', `/ports?device_id=${id}&network_id=${PRIVATE}`);
    assert.equal(ports.body.ports.length, 1);
    const port = ports.body.ports[0];
    assert.deepEqual(
      [port.device_owner, port.status, port.fixed_ips[0].ip_address],
      ['compute:nova', 'ACTIVE', '127.0.0.5'],
    );
    const notExternal = await s.neutron('POST', '/floatingips', {
      floatingip: { floating_network_id: PRIVATE },
    });
    assert.deepEqual(notExternal.body, {
      NeutronError: {
        type: 'BadRequest',
        message: `Bad floatingip request: Network ${PRIVATE} is not a valid external network.`,
        detail: '',
      },
    });
    const unknownAttr = await s.neutron('POST', '/floatingips', {
      floatingip: { floating_network_id: PUBLIC, pool: 'x' },
    });
    assert.equal(unknownAttr.body.NeutronError.message, "Unrecognized attribute(s) 'pool'");
    const noNet = await s.neutron('POST', '/floatingips', { floatingip: {} });
    assert.equal(
      noNet.body.NeutronError.message,
      "Failed to parse request. Required attribute 'floating_network_id' not specified",
    );
    const fip = await s.neutron('POST', '/floatingips', { floatingip: { floating_network_id: PUBLIC } });
    assert.equal(fip.status, 201);
    const f = fip.body.floatingip;
    assert.deepEqual([f.floating_ip_address, f.port_id, f.status], ['127.0.0.6', null, 'DOWN']);
    const listed = await s.neutron(
      'GET',
      `/floatingips?floating_network_id=${PUBLIC}&tenant_id=a6944d763bf64ee6a275f1263fae0352`,
    );
    assert.equal(listed.body.floatingips.length, 1);
    const put = await s.neutron('PUT', `/floatingips/${f.id}`, { floatingip: { port_id: port.id } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(
      [put.body.floatingip.fixed_ip_address, put.body.floatingip.status],
      ['127.0.0.5', 'ACTIVE'],
    );
    const server = (await s.nova('GET', `/servers/${id}`)).body.server;
    assert.deepEqual(
      server.addresses.private.map((a: Obj) => `${a.addr}/${a['OS-EXT-IPS:type']}`),
      ['127.0.0.5/fixed', `${server.addresses.private[1].addr}/fixed`, '127.0.0.6/floating'],
    );
    const second = await s.neutron('POST', '/floatingips', {
      floatingip: { floating_network_id: PUBLIC, port_id: port.id },
    });
    assert.equal(second.status, 409);
    assert.equal(second.body.NeutronError.type, 'FloatingIPPortAlreadyAssociated');
    os.addFloatingIp();
    const over = await s.neutron('POST', '/floatingips', { floatingip: { floating_network_id: PUBLIC } });
    assert.deepEqual(over.body, {
      NeutronError: {
        type: 'OverQuota',
        message: "Quota exceeded for resources: ['floatingip'].",
        detail: '',
      },
    });
    const free = await s.neutron('PUT', `/floatingips/${f.id}`, { floatingip: { port_id: null } });
    assert.equal(free.body.floatingip.port_id, null);
    assert.equal((await s.neutron('DELETE', `/floatingips/${f.id}`)).status, 204);
    const gone = await s.neutron('GET', `/floatingips/${f.id}`);
    assert.equal(gone.body.NeutronError.type, 'FloatingIPNotFound');
  });

  test("nova-network style: os-floating-ips (Nova's proxy) and the addFloatingIp action", async () => {
    const os = await start({ floatingAddresses: ['127.0.0.8'] });
    const s = await session(os);
    const id = await boot(s);
    await untilStatus(s, id, 'ACTIVE');
    const pools = await s.nova('GET', '/os-floating-ip-pools');
    assert.deepEqual(pools.body.floating_ip_pools, [{ name: 'public' }]);
    const noPool = await s.nova('POST', '/os-floating-ips', { pool: 'nope' });
    assert.deepEqual(noPool.body, { itemNotFound: { code: 404, message: 'Floating IP pool not found.' } });
    const made = await s.nova('POST', '/os-floating-ips', { pool: 'public' });
    assert.deepEqual(made.body.floating_ip, {
      id: made.body.floating_ip.id,
      ip: '127.0.0.8',
      pool: 'public',
      fixed_ip: null,
      instance_id: null,
    });
    const add = { ...(sample(NOVA_SAMPLES.addFloatingIp) as Obj) };
    add.addFloatingIp = { address: '127.0.0.8' };
    assert.equal((await s.nova('POST', `/servers/${id}/action`, add)).status, 202);
    const listed = (await s.nova('GET', '/os-floating-ips')).body.floating_ips[0];
    assert.equal(listed.instance_id, id);
    const rm = await s.nova('POST', `/servers/${id}/action`, { removeFloatingIp: { address: '127.0.0.8' } });
    assert.equal(rm.status, 202);
    assert.equal((await s.nova('DELETE', `/os-floating-ips/${made.body.floating_ip.id}`)).status, 202);
    assert.equal(os.floatingIps.size, 0);
  });

  test('a cloud without Neutron in its catalog: servers still get addresses; Nova lists its networks', async () => {
    const os = await start({ services: ['identity', 'compute', 'image'], addresses: ['127.0.0.4'] });
    const t = await auth(os, {
      auth: {
        identity: { methods: ['password'], password: { user: DEMO } },
        scope: { project: DEMO_PROJECT },
      },
    });
    assert.deepEqual(
      t.body.token.catalog.map((c: Obj) => c.type),
      ['identity', 'compute', 'image'],
    );
    const nova = os.endpoint('compute');
    const nets = await call('GET', `${nova}/os-tenant-networks`, { token: t.token });
    assert.deepEqual(nets.body.networks, [{ id: PRIVATE, label: 'private', cidr: '10.0.0.0/24' }]);
    const r = await call('POST', `${nova}/servers`, {
      token: t.token,
      body: { server: { name: 'nn', flavorRef: '1', imageRef: CIRROS } },
    });
    assert.equal(r.status, 202, r.text);
    const id = r.body.server.id;
    await call('GET', `${nova}/servers/${id}`, { token: t.token });
    const server = (await call('GET', `${nova}/servers/${id}`, { token: t.token })).body.server;
    assert.equal(server.addresses.private[0].addr, '127.0.0.4');
    assert.deepEqual(os.servers.get(id)?.info.fixedAddresses, ['127.0.0.4', '2001:db8:1::a']);
    const neutron = await call('GET', `${os.endpoint('network')}/v2.0/networks`, { token: t.token });
    assert.equal(neutron.status, 404, 'no Neutron behind the catalog');
  });

  test('security groups: a group opening 22 and 2376, duplicates and bad ranges refused, in use and default kept', async () => {
    const os = await start();
    const s = await session(os);
    const g = await s.neutron('POST', '/security-groups', {
      security_group: { name: 'docker-machine', description: 'Docker Machine' },
    });
    assert.equal(g.status, 201, g.text);
    const gid = g.body.security_group.id;
    assert.deepEqual(
      g.body.security_group.security_group_rules.map((r: Obj) => [r.direction, r.ethertype]),
      [
        ['egress', 'IPv4'],
        ['egress', 'IPv6'],
      ],
    );
    const rule = (port: number, extra: Obj = {}) =>
      s.neutron('POST', '/security-group-rules', {
        security_group_rule: {
          security_group_id: gid,
          direction: 'ingress',
          ethertype: 'IPv4',
          protocol: 'tcp',
          port_range_min: port,
          port_range_max: port,
          remote_ip_prefix: '0.0.0.0/0',
          ...extra,
        },
      });
    assert.equal((await rule(22)).status, 201);
    const docker = await rule(2376);
    assert.equal(docker.status, 201);
    const dup = await rule(22);
    assert.equal(dup.status, 409);
    assert.equal(dup.body.NeutronError.type, 'SecurityGroupRuleExists');
    assert.match(
      dup.body.NeutronError.message,
      /^Security group rule already exists\. Rule id is [0-9a-f-]{36}\.$/,
    );
    const range = await rule(30, { port_range_max: 20 });
    assert.deepEqual(range.body.NeutronError, {
      type: 'SecurityGroupInvalidPortRange',
      message: 'For TCP/UDP protocols, port_range_min must be <= port_range_max',
      detail: '',
    });
    const v6 = await rule(80, { remote_ip_prefix: '::/0' });
    assert.equal(v6.body.NeutronError.type, 'SecurityGroupRuleParameterConflict');
    const byName = await s.neutron('GET', '/security-groups?name=docker-machine');
    assert.deepEqual(
      byName.body.security_groups[0].security_group_rules
        .filter((r: Obj) => r.direction === 'ingress')
        .map((r: Obj) => r.port_range_min),
      [22, 2376],
    );
    const id = await boot(s, { security_groups: [{ name: 'docker-machine' }] });
    assert.deepEqual(os.servers.get(id)?.securityGroups, ['docker-machine']);
    const inUse = await s.neutron('DELETE', `/security-groups/${gid}`);
    assert.deepEqual(inUse.body.NeutronError, {
      type: 'SecurityGroupInUse',
      message: `Security Group ${gid} in use.`,
      detail: '',
    });
    const dflt = (await s.neutron('GET', '/security-groups?name=default')).body.security_groups[0];
    assert.equal(
      (await s.neutron('DELETE', `/security-groups/${dflt.id}`)).body.NeutronError.type,
      'SecurityGroupCannotRemoveDefault',
    );
    await s.nova('DELETE', `/servers/${id}`);
    assert.equal((await s.neutron('DELETE', `/security-groups/${gid}`)).status, 204);
    assert.deepEqual(os.inventory().securityGroups, []);
  });
});

describe('hooks for kill tests', () => {
  test("a mutation is committed, announced ('created', 'mutation'), then held before its answer", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const events: string[] = [];
    const os = await start({
      hold: async (m) => {
        events.push(`hold ${m.method} ${m.kind} ${m.status}`);
        if (m.kind === 'server') await held;
      },
    });
    os.on('created', (e: { kind: string }) => events.push(`created ${e.kind}`));
    const s = await session(os);
    const answer = boot(s);
    // The server exists before the client hears of it: where a kill -9 leaves it unknown to the client.
    for (let i = 0; i < 100 && os.servers.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(os.servers.size, 1);
    assert.deepEqual(events, ['created server', 'hold POST server 202']);
    release();
    const id = await answer;
    assert.ok(os.servers.has(id));
    assert.equal(os.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/servers'))[0].status, 202);
    // GETs are never held; a failed mutation is not announced.
    await s.nova('GET', `/servers/${id}`);
    await s.nova('POST', '/os-keypairs', { keypair: { name: 'bad.name', public_key: PUB_KEY } });
    assert.equal(events.length, 2);
  });

  test('failNext: the next matching request gets the given error (e.g. 413 overLimit)', async () => {
    const os = await start();
    const s = await session(os);
    const { novaError } = await import('./errors.js');
    os.failNext('POST', /\/servers$/, novaError(413, 'Quota exceeded', { 'retry-after': '3' }));
    const r = await s.nova('POST', '/servers', { server: { name: 'x', flavorRef: '1', imageRef: CIRROS } });
    assert.equal(r.status, 413);
    assert.equal(r.headers.get('retry-after'), '3');
    assert.deepEqual(r.body, { overLimit: { code: 413, message: 'Quota exceeded', retryAfter: '3' } });
    assert.equal(
      (
        await s.nova('POST', '/servers', {
          server: { name: 'x', flavorRef: '1', imageRef: CIRROS, networks: [{ uuid: PRIVATE }] },
        })
      ).status,
      202,
    );
  });
});
