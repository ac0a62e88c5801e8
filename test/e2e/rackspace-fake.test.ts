import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { FakeOpenStack } from '../fakes/openstack/fake.js';
import { type CliStore, tempStore } from '../helpers/cli.js';

/**
 * The rackspace driver: Rackspace's identity v2.0 (user name and API key) is played by a small
 * server of this test, which checks the RAX-KSKEY body and hands out a token of the OpenStack fake
 * with a v2.0 catalog of the fake's compute and image endpoints; Nova is the fake's.
 */
const API_KEY = 'rax-api-key-0123456789';

describe('rackspace driver: Rackspace identity in front of the OpenStack fake', {
  timeout: 5 * 60_000,
}, () => {
  let fake: FakeOpenStack;
  let identity: Server;
  let identityURL: string;
  let s: CliStore;
  const bodies: unknown[] = [];

  before(async () => {
    fake = new FakeOpenStack({ addresses: ['127.0.0.1'], pollsToActive: 1 });
    await fake.start();
    identity = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => {
        text += c;
      });
      req.on('end', async () => {
        const body = JSON.parse(text || '{}');
        bodies.push(body);
        const cred = body?.auth?.['RAX-KSKEY:apiKeyCredentials'];
        if (
          req.method !== 'POST' ||
          req.url !== '/v2.0/tokens' ||
          cred?.apiKey !== API_KEY ||
          cred?.username !== 'me'
        ) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({ unauthorized: { code: 401, message: 'Username or api key is invalid.' } }),
          );
          return;
        }
        // A real token of the fake, for the demo project.
        const t = await fetch(`${fake.authUrl}/auth/tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            auth: {
              identity: {
                methods: ['password'],
                password: { user: { name: 'demo', domain: { id: 'default' }, password: 'secret' } },
              },
              scope: { project: { name: 'demo', domain: { id: 'default' } } },
            },
          }),
        });
        const token = t.headers.get('x-subject-token') ?? '';
        const ep = (svc: 'compute' | 'image') => ({
          region: 'IAD',
          publicURL: fake.endpoint(svc, 'RegionOne', 'public', 'a6944d763bf64ee6a275f1263fae0352'),
          internalURL: fake.endpoint(svc, 'RegionOne', 'internal', 'a6944d763bf64ee6a275f1263fae0352'),
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            access: {
              token: { id: token, tenant: { id: 'a6944d763bf64ee6a275f1263fae0352' } },
              serviceCatalog: [
                { type: 'compute', name: 'cloudServersOpenStack', endpoints: [ep('compute')] },
                { type: 'image', name: 'cloudImages', endpoints: [ep('image')] },
              ],
            },
          }),
        );
      });
    });
    await new Promise<void>((r) => identity.listen(0, '127.0.0.1', r));
    identityURL = `http://127.0.0.1:${(identity.address() as AddressInfo).port}/v2.0`;
  });
  after(async () => {
    await fake?.close();
    identity?.closeAllConnections();
    await new Promise((r) => identity?.close(r));
  });
  afterEach(async () => {
    await s?.cleanup();
  });

  // SSH is bounded at 3 s: no host answers here, and the driver's part is done before it.
  const env = () => ({
    RACKSPACE_IDENTITY_URL: identityURL,
    MACHINE_OPENSTACK_POLL_MS: '100',
    MACHINE_WAIT_TIMEOUT: '3',
  });
  const flags = [
    '--rackspace-username',
    'me',
    '--rackspace-region',
    'IAD',
    '--rackspace-image-id',
    'b1e2d3c4-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
    '--rackspace-flavor-id',
    '2',
    '--rackspace-ssh-port',
    '1',
  ];

  test('create makes a key pair and a server, at the server address; rm deletes both', async () => {
    s = await tempStore();
    const r = await s.run(['create', '-d', 'rackspace', ...flags, '--rackspace-api-key', API_KEY, 'r1'], {
      env: env(),
      timeoutMs: 120_000,
    });
    // SSH on port 1 is refused: the create fails after the driver's part, which is what is checked.
    assert.match(r.stdout + r.stderr, /Server address: 127\.0\.0\.1/);
    assert.deepEqual(bodies.at(-1), {
      auth: { 'RAX-KSKEY:apiKeyCredentials': { username: 'me', apiKey: API_KEY } },
    });
    assert.equal(fake.servers.size, 1);
    assert.equal(fake.keypairs.length, 1);
    const inspect = await s.run(['inspect', 'r1'], { env: env() });
    assert.ok(!inspect.stdout.includes(API_KEY), 'the API key is not shown');
    const rm = await s.run(['rm', '-y', 'r1'], { env: env() });
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(fake.servers.size, 0);
    assert.equal(fake.keypairs.length, 0);
    assert.deepEqual(fake.inventory().securityGroups, []);
  });

  test('a wrong API key, no image, or a --rackspace-docker-install not true/false: one line, nothing made', async () => {
    s = await tempStore();
    const before = fake.requests.length;
    const r = await s.run(['create', '-d', 'rackspace', ...flags, '--rackspace-api-key', 'wrong', 'r2'], {
      env: env(),
      timeoutMs: 60_000,
    });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /Rackspace identity refused the user name and API key \(HTTP 401: Username or api key is invalid\.\)/,
    );
    assert.equal(fake.requests.length, before, 'nothing reached Nova');
    const noImage = await s.run(
      ['create', '-d', 'rackspace', '--rackspace-username', 'me', '--rackspace-api-key', API_KEY, 'r3'],
      { env: env(), timeoutMs: 60_000 },
    );
    assert.notEqual(noImage.code, 0);
    assert.match(
      noImage.stderr,
      /--rackspace-image-id is needed: the original's default \(Ubuntu 16.04\) is retired/,
    );
    assert.equal(existsSync(join(s.dir, 'machines', 'r3')), false);
    const n = fake.requests.length;
    const badInstall = await s.run(
      [
        'create',
        '-d',
        'rackspace',
        ...flags,
        '--rackspace-api-key',
        API_KEY,
        '--rackspace-docker-install',
        'no',
        'r4',
      ],
      { env: env(), timeoutMs: 60_000 },
    );
    assert.notEqual(badInstall.code, 0);
    assert.equal(
      badInstall.stderr.trim(),
      'Error setting machine configuration from flags provided: --rackspace-docker-install "no": give true or false',
    );
    assert.equal(fake.requests.length, n, 'nothing reached Nova');
    assert.equal(existsSync(join(s.dir, 'machines', 'r4')), false);
  });
});
