import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { ledgerOf } from '../../src/drivers/cloud/ledger.js';
import { FakeOpenStack } from '../fakes/openstack/fake.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { killCreateAt, onCreated } from '../helpers/kill-at.js';

/**
 * The openstack driver against the stateful fake (Keystone v3, Nova, Neutron, Glance, Cinder on
 * loopback), up to the server's address: no test host answers SSH here, so each create is ended
 * (SIGKILL) once it printed the address, and what it made is then managed and removed.
 */
const PASSWORD = 'secret';
const NAMES = [
  '--openstack-username',
  'demo',
  '--openstack-password',
  PASSWORD,
  '--openstack-tenant-name',
  'demo',
  '--openstack-domain-name',
  'Default',
];
const SERVER = [
  '--openstack-flavor-name',
  'm1.small',
  '--openstack-image-name',
  'debian-12',
  '--openstack-net-name',
  'private',
];
const MUTATING = /^(POST|PUT|DELETE|PATCH)$/;

describe('openstack driver against the fake API', { timeout: 10 * 60_000 }, () => {
  let fake: FakeOpenStack;
  let s: CliStore;
  let home: string;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'dm-os-home-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });
  const start = async (opts: ConstructorParameters<typeof FakeOpenStack>[0] = {}) => {
    fake = new FakeOpenStack({
      addresses: ['127.0.0.1'],
      floatingAddresses: ['127.0.0.1'],
      pollsToActive: 2,
      ...opts,
    });
    const r = await fake.start();
    s = await tempStore();
    return r;
  };
  afterEach(async () => {
    // Every body the driver was answered with keeps the shape of Nova's and Keystone's samples.
    const problems = fake?.checkSamples() ?? [];
    await fake?.close();
    await s?.cleanup();
    assert.deepEqual(problems, []);
  });
  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    HOME: home,
    OS_AUTH_URL: fake.authUrl,
    MACHINE_OPENSTACK_POLL_MS: '100',
    ...extra,
  });
  const mutations = () => fake.requests.filter((r) => MUTATING.test(r.method) && r.service !== 'identity');

  /** A create ended by SIGKILL when its output matches `at` (or when the fake made `at`). */
  const createUntil = (name: string, args: string[], at: RegExp | string, e: NodeJS.ProcessEnv = {}) =>
    runUntil(name, ['create', '-d', 'openstack', ...args, name], at, e);
  async function runUntil(_name: string, argv: string[], at: RegExp | string, e: NodeJS.ProcessEnv = {}) {
    const { out, driver } = await killCreateAt(at, {
      storeDir: s.dir,
      args: argv,
      env: env(e),
      made: onCreated(fake),
      timeoutMs: 90_000,
      settleMs: 300,
    });
    return { out, driver, ledger: ledgerOf(driver) };
  }
  const removeAll = async (name: string, keep: Partial<ReturnType<FakeOpenStack['inventory']>> = {}) => {
    const r = await s.run(['rm', '-y', name], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fake.inventory(), {
      servers: [],
      keypairs: [],
      floatingIps: [],
      securityGroups: [],
      volumes: [],
      serverGroups: [],
      ...keep,
    });
    assert.equal(existsSync(join(s.dir, 'machines', name)), false);
    return r;
  };

  test('create (password by names) → status → stop → start → rm: all it made is gone', async () => {
    await start();
    const k = await createUntil('m1', [...NAMES, ...SERVER], /Server address: 127\.0\.0\.1/);
    assert.match(k.out, /Waiting for server m1 .*: Starting \(BUILD\)/);
    assert.deepEqual(
      k.ledger.map((e) => e.kind),
      ['keypair', 'security_group', 'server'],
    );
    assert.ok(k.ledger.every((e) => e.id !== ''));
    const created = fake.requests.find((r) => r.method === 'POST' && /\/servers$/.test(r.url.split('?')[0]));
    const body = (created as unknown as { body: { server: Record<string, unknown> } }).body.server;
    assert.equal(body.flavorRef, '2');
    assert.equal(body.imageRef, 'b1e2d3c4-5a6b-4c7d-8e9f-0a1b2c3d4e5f');
    assert.deepEqual(body.networks, [{ uuid: '3a7b5c9d-1e2f-4a6b-8c0d-2e4f6a8b0c1d' }]);
    const group = [...fake.securityGroups.values()].find((g) => g.name.startsWith('docker-machine-m1-'));
    assert.ok(group, 'a security group of its own');
    assert.deepEqual(
      group.rules
        .filter((r) => r.direction === 'ingress')
        .map((r) => `${r.protocol}:${r.port_range_min}:${r.remote_ip_prefix ?? 'group'}`),
      ['tcp:22:0.0.0.0/0', 'tcp:2376:0.0.0.0/0'],
    );
    const st = (await s.run(['status', 'm1'], { env: env() })).stdout.trim();
    assert.equal(st, 'Running');
    assert.equal((await s.run(['stop', 'm1'], { env: env() })).code, 0);
    assert.equal((await s.run(['status', 'm1'], { env: env() })).stdout.trim(), 'Stopped');
    // start waits for SSH next, which no host answers here: the driver's part is done at this line.
    await runUntil('m1', ['start', 'm1'], /Machine "m1" was started/);
    assert.equal((await s.run(['status', 'm1'], { env: env() })).stdout.trim(), 'Running');
    const kill = await s.run(['kill', 'm1'], { env: env() });
    assert.equal(kill.code, 0, kill.stderr);
    assert.equal((await s.run(['status', 'm1'], { env: env() })).stdout.trim(), 'Stopped');
    const inspect = await s.run(['inspect', 'm1'], { env: env() });
    assert.match(inspect.stdout, /"Password": "\\u003cREDACTED\\u003e"/);
    assert.ok(!inspect.stdout.includes(`"${PASSWORD}"`));
    const r = await removeAll('m1');
    assert.match(
      r.stdout,
      /Deleted server m1[\s\S]*Deleted security group docker-machine-m1-[\s\S]*Deleted key pair m1-/,
    );
  });

  const bad: [string, string[], RegExp][] = [
    [
      'a wrong password',
      ['--openstack-password', 'nope'],
      /Keystone at .* refused the credentials \(HTTP 401/,
    ],
    [
      'an unknown flavor',
      ['--openstack-flavor-name', 'm9.huge'],
      /flavor m9.huge \(--openstack-flavor-name\) does not exist; flavors: /,
    ],
    [
      'an unknown image',
      ['--openstack-image-name', 'nope'],
      /image nope \(--openstack-image-name\) does not exist or is not active/,
    ],
    [
      'an image not active',
      ['--openstack-image-name', 'still-uploading'],
      /image still-uploading .* is not active/,
    ],
    [
      'an unknown network',
      ['--openstack-net-name', 'nope'],
      /network nope \(--openstack-net-name\) does not exist/,
    ],
    [
      'a pool that is not external',
      ['--openstack-floatingip-pool', 'private'],
      /network private is not external/,
    ],
    [
      'an unknown security group',
      ['--openstack-sec-groups', 'web'],
      /security group web \(--openstack-sec-groups\) does not exist/,
    ],
    [
      'an unknown zone',
      ['--openstack-availability-zone', 'az9'],
      /availability zone az9 does not exist; zones: /,
    ],
    [
      'an unknown region',
      ['--openstack-region', 'Mars'],
      /no compute endpoint for region Mars, interface public; it has: RegionOne public/,
    ],
  ];
  for (const [what, extra, want] of bad) {
    test(`${what}: one line, exit non-zero, no mutating request`, async () => {
      await start();
      // Later flags win over earlier ones, so the bad value replaces the good one.
      const r = await s.run(['create', '-d', 'openstack', ...NAMES, ...SERVER, ...extra, 'b1'], {
        env: env(),
        timeoutMs: 60_000,
      });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, want);
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^Running pre-create checks|^Creating CA|^Creating client/.test(l));
      assert.equal(lines.length, 1, r.stderr);
      assert.deepEqual(mutations(), []);
      assert.ok(!`${r.stdout}${r.stderr}`.includes(PASSWORD) || what !== 'a wrong password');
      assert.equal(existsSync(join(s.dir, 'machines', 'b1')), false);
    });
  }

  test('credentials: by ids, an application credential, a clouds.yaml entry, TLS with a custom CA', async () => {
    const { caPath } = await start({ tls: true });
    assert.ok(caPath);
    const ids = [
      '--openstack-user-id',
      'fd786d56402c4d1691372e7dee0d00b5',
      '--openstack-password',
      PASSWORD,
      '--openstack-tenant-id',
      'a6944d763bf64ee6a275f1263fae0352',
      '--openstack-cacert',
      caPath,
    ];
    await createUntil('c1', [...ids, ...SERVER], /Server address: /);
    await removeAll('c1');
    const app = [
      '--openstack-application-credential-id',
      '7e2b4c6d8f0a4b1c9d3e5f7a9b1c3d5e',
      '--openstack-application-credential-secret',
      'app-cred-secret',
      '--openstack-cacert',
      caPath,
    ];
    await createUntil('c2', [...app, ...SERVER], /Server address: /);
    await removeAll('c2');
    const dir = join(home, '.config', 'openstack');
    await rm(dir, { recursive: true, force: true });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'clouds.yaml'),
      `clouds:\n  lab:\n    auth:\n      auth_url: ${fake.authUrl}\n      username: demo\n      project_name: demo\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionTwo\n    cacert: ${caPath}\n`,
    );
    await writeFile(join(dir, 'secure.yaml'), `clouds:\n  lab:\n    auth:\n      password: ${PASSWORD}\n`);
    await createUntil('c3', ['--openstack-cloud', 'lab', ...SERVER], /Server address: /, { OS_AUTH_URL: '' });
    assert.ok(
      fake.requests.some((r) => r.service === 'compute' && r.region === 'RegionTwo'),
      'the entry region was used',
    );
    await removeAll('c3');
    // Without the CA: one line saying the certificate is not trusted.
    const r = await s.run(['create', '-d', 'openstack', ...NAMES, ...SERVER, 'c4'], {
      env: env(),
      timeoutMs: 60_000,
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /certificate is not trusted/);
    await rm(dir, { recursive: true, force: true });
  });

  test('floating IPs: one allocated is released by rm; a free one reused goes back to the pool', async () => {
    await start();
    const pool = ['--openstack-floatingip-pool', 'public'];
    const a = await createUntil('f1', [...NAMES, ...SERVER, ...pool], /Server address: /);
    assert.match(a.out, /Floating IP .* allocated from public/);
    assert.deepEqual(
      a.ledger.map((e) => e.kind),
      ['keypair', 'security_group', 'server', 'floating_ip'],
    );
    await removeAll('f1');
    const mine = fake.addFloatingIp({ pool: 'public' });
    const b = await createUntil('f2', [...NAMES, ...SERVER, ...pool], /Server address: /);
    assert.match(b.out, /Floating IP .* reused from public/);
    assert.ok(!b.ledger.some((e) => e.kind === 'floating_ip'));
    await removeAll('f2', { floatingIps: [mine.address] });
  });

  test('a v2.0 auth URL is one line naming the v3 URL, and nothing is asked of the cloud', async () => {
    await start();
    const v2 = fake.authUrl.replace(/\/v3$/, '/v2.0');
    const r = await s.run(
      ['create', '-d', 'openstack', ...NAMES, ...SERVER, '--openstack-auth-url', v2, 'v1'],
      {
        env: env(),
        timeoutMs: 60_000,
      },
    );
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /is Keystone v2\.0, which this driver does not speak; give the v3 URL \(http:\/\/127\.0\.0\.1:\d+\/identity\/v3\)/,
    );
    assert.equal(fake.requests.length, 0);
  });

  test("a server that ends in ERROR: the create fails with Nova's fault, and rm removes what it made", async () => {
    await start({ buildResult: () => 'ERROR' });
    const r = await s.run(['create', '-d', 'openstack', ...NAMES, ...SERVER, 'e1'], {
      env: env(),
      timeoutMs: 60_000,
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /server e1 \(id [0-9a-f-]{36}\) will not run: No valid host was found\./);
    assert.equal(fake.servers.size, 1);
    await removeAll('e1');
  });

  test('boot from volume, server group, zone, config drive, user data, metadata and an existing key pair', async () => {
    await start();
    const { generateSSHKeyPair } = await import('../../src/ssh/keys.js');
    const keyPath = join(home, 'mine');
    await rm(keyPath, { force: true });
    const { publicLine } = await generateSSHKeyPair(keyPath);
    fake.addKeypair('mine', publicLine.trim(), { userId: 'fd786d56402c4d1691372e7dee0d00b5' });
    const ud = join(home, 'ud.yaml');
    await writeFile(ud, '#cloud-config\npackages: [htop]\n');
    // The server group is the user's, made beforehand with the API.
    const token = await fetch(`${fake.authUrl}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: 'demo', domain: { id: 'default' }, password: PASSWORD } },
          },
          scope: { project: { name: 'demo', domain: { id: 'default' } } },
        },
      }),
    }).then((x) => x.headers.get('x-subject-token') ?? '');
    const sg = await fetch(`${fake.endpoint('compute')}/os-server-groups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify({ server_group: { name: 'spread', policies: ['anti-affinity'] } }),
    });
    assert.equal(sg.status, 200, await sg.clone().text());
    const zone = (await fetch(`${fake.endpoint('compute')}/os-availability-zone`, {
      headers: { 'x-auth-token': token },
    }).then((x) => x.json())) as { availabilityZoneInfo: { zoneName: string }[] };
    const az = zone.availabilityZoneInfo[0].zoneName;
    const k = await createUntil(
      'v1',
      [
        ...NAMES,
        ...SERVER,
        '--openstack-boot-from-volume',
        '--openstack-volume-size',
        '10',
        '--openstack-server-group-name',
        'spread',
        '--openstack-availability-zone',
        az,
        '--openstack-config-drive',
        '--openstack-user-data-file',
        ud,
        '--openstack-metadata',
        'role,web',
        '--openstack-keypair-name',
        'mine',
        '--openstack-private-key-file',
        keyPath,
      ],
      /Server address: /,
    );
    assert.deepEqual(
      k.ledger.map((e) => e.kind),
      ['security_group', 'server'],
      "the key pair is not this machine's",
    );
    const server = [...fake.servers.values()][0];
    assert.equal(server.info.userData, '#cloud-config\npackages: [htop]\n');
    assert.equal(server.info.configDrive, true);
    assert.equal(server.info.keyName, 'mine');
    assert.equal(server.info.availabilityZone, az);
    assert.equal(server.info.metadata.role, 'web');
    assert.ok(server.serverGroupId, 'in the server group');
    assert.equal(server.volumes.length, 1);
    assert.equal(server.volumes[0].deleteOnTermination, true);
    assert.equal(fake.volumes.get(server.volumes[0].id)?.size, 10);
    await removeAll('v1', { keypairs: ['mine'], serverGroups: ['spread'] });
  });

  test('--debug: every request is logged, the password, secrets and tokens never', async () => {
    await start();
    const r = await s.run(
      ['--debug', 'create', '-d', 'openstack', ...NAMES, ...SERVER, '--openstack-image-name', 'nope', 'd1'],
      { env: env(), timeoutMs: 60_000 },
    );
    assert.notEqual(r.code, 0);
    const out = r.stdout + r.stderr;
    assert.match(out, /POST http:\/\/127\.0\.0\.1:\d+\/identity\/v3\/auth\/tokens /);
    assert.match(
      out,
      /GET http:\/\/127\.0\.0\.1:\d+\/RegionOne\/public\/compute\/v2\.1\/flavors\/detail .*x-auth-token=<REDACTED>/,
    );
    assert.ok(!out.includes(PASSWORD), 'the password is in no line');
    for (const t of fake.tokens.keys()) assert.ok(!out.includes(t), 'no token is in any line');
  });

  test("a swarm manager's group opens 2377 and 3376, and the gossip ports to its network's subnet; throttling is waited out", async () => {
    await start({ rateLimit: { limit: 2, windowMs: 1000, retryAfterSeconds: 1 } });
    await createUntil('w1', [...NAMES, ...SERVER, '--swarm', '--swarm-master'], /Server address: /);
    const group = [...fake.securityGroups.values()].find((g) => g.name.startsWith('docker-machine-w1-'));
    assert.deepEqual(
      group?.rules
        .filter((r) => r.direction === 'ingress')
        .map((r) => `${r.protocol}:${r.port_range_min}:${r.remote_ip_prefix}`),
      [
        'tcp:22:0.0.0.0/0',
        'tcp:2376:0.0.0.0/0',
        'tcp:2377:0.0.0.0/0',
        'tcp:3376:0.0.0.0/0',
        'tcp:7946:10.0.0.0/24',
        'udp:7946:10.0.0.0/24',
        'udp:4789:10.0.0.0/24',
      ],
    );
    assert.ok(
      fake.requests.some((r) => r.status === 429),
      'the fake throttled some requests',
    );
    await removeAll('w1');
  });

  test("a machine of the original's store (no ledger): rm deletes its server and generated key pair", async () => {
    await start();
    // What the original made: a key pair and a server, by the API.
    const token = await fetch(`${fake.authUrl}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: 'demo', domain: { id: 'default' }, password: PASSWORD } },
          },
          scope: { project: { name: 'demo', domain: { id: 'default' } } },
        },
      }),
    }).then((x) => x.headers.get('x-subject-token') ?? '');
    const nova = (path: string, body: unknown) =>
      fetch(`${fake.endpoint('compute')}/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-auth-token': token },
        body: JSON.stringify(body),
      }).then((x) => x.json() as Promise<Record<string, { id?: string; name?: string }>>);
    const { generateSSHKeyPair } = await import('../../src/ssh/keys.js');
    const { publicLine } = await generateSSHKeyPair(join(home, 'orig_key'));
    await nova('os-keypairs', { keypair: { name: 'old1-a1b2', public_key: publicLine.trim() } });
    const made = await nova('servers', {
      server: {
        name: 'old1',
        flavorRef: '2',
        imageRef: 'b1e2d3c4-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
        key_name: 'old1-a1b2',
        networks: [{ uuid: '3a7b5c9d-1e2f-4a6b-8c0d-2e4f6a8b0c1d' }],
      },
    });
    const id = made.server?.id ?? '';
    assert.ok(id);
    const dir = join(s.dir, 'machines', 'old1');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const template = await readFile(
      join(import.meta.dirname, '..', 'fixtures', 'store', 'generic-v3.json'),
      'utf8',
    );
    const config = JSON.parse(template.replaceAll('$STORE', s.dir));
    config.DriverName = 'openstack';
    config.Name = 'old1';
    // The original's openstack driver fields (no Ledger, no MachineTag).
    config.Driver = {
      IPAddress: '127.0.0.1',
      MachineName: 'old1',
      SSHUser: 'root',
      SSHPort: 22,
      SSHKeyPath: join(dir, 'id_rsa'),
      StorePath: s.dir,
      SwarmMaster: false,
      SwarmHost: '',
      SwarmDiscovery: '',
      AuthUrl: fake.authUrl,
      ActiveTimeout: 200,
      Insecure: false,
      CaCert: '',
      DomainID: '',
      DomainName: 'Default',
      Username: 'demo',
      Password: PASSWORD,
      TenantName: 'demo',
      TenantId: '',
      Region: '',
      AvailabilityZone: '',
      EndpointType: '',
      MachineId: id,
      FlavorName: 'm1.small',
      FlavorId: '2',
      ImageName: 'debian-12',
      ImageId: 'b1e2d3c4-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
      KeyPairName: 'old1-a1b2',
      NetworkName: 'private',
      NetworkId: '3a7b5c9d-1e2f-4a6b-8c0d-2e4f6a8b0c1d',
      UserData: null,
      PrivateKeyFile: '',
      SecurityGroups: null,
      FloatingIpPool: '',
      ComputeNetwork: false,
      FloatingIpPoolId: '',
      IpVersion: 4,
      ConfigDrive: false,
    };
    await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2), { mode: 0o600 });
    assert.equal((await s.run(['status', 'old1'], { env: env() })).stdout.trim(), 'Starting');
    const r = await removeAll('old1');
    assert.match(r.stdout, /Deleted server old1 \([0-9a-f-]{36}\)[\s\S]*Deleted key pair old1-a1b2/);
  });

  test('kill -9 at each create step, then rm -y: nothing is left', async () => {
    await start({ holdMs: 400 });
    const args = [...NAMES, ...SERVER, '--openstack-floatingip-pool', 'public'];
    let n = 0;
    for (const at of [
      /Creating SSH key\.\.\./,
      /Creating firewall\.\.\./,
      /Creating server\.\.\./,
      /Waiting for server k\d+ \(id /,
      'keypair',
      'security_group',
      'server',
      'floatingip',
      /Server address: /,
    ]) {
      const name = `k${++n}`;
      const k = await createUntil(name, args, at);
      // Killed after the cloud made it, before its answer: the ledger has it without an id, and
      // rm finds it by its name, metadata or description.
      const kind = typeof at === 'string' ? ({ floatingip: 'floating_ip' }[at as 'floatingip'] ?? at) : '';
      if (kind) assert.equal(k.ledger.find((e) => e.kind === kind)?.id, '', `${kind} pending in the ledger`);
      const r = await removeAll(name);
      if (kind) assert.match(r.stdout, /Deleted (key pair|security group|server|floating IP)/);
    }
  });
});
