import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { ledgerOf } from '../../src/drivers/cloud/ledger.js';
import { FakeHetzner } from '../fakes/hetzner/fake.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { createFleet, endFakeTest, savedDriver } from '../helpers/cloud-fake.js';
import { killCreateAt, onCreated } from '../helpers/kill-at.js';

/**
 * The hetzner driver against the stateful fake (no test host: what happens before SSH). Every
 * body the fake sent or received is checked against the Hetzner Cloud OpenAPI description at the
 * end of each test.
 */
const TOKEN = 'hz-fake-0123456789abcdefABCDEF';

describe('hetzner driver against the fake API', { timeout: 10 * 60_000 }, () => {
  let fake: FakeHetzner;
  let s: CliStore;
  let home: string;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'dm-hz-home-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const start = async (opts: Partial<ConstructorParameters<typeof FakeHetzner>[0]> = {}) => {
    fake = new FakeHetzner({ token: TOKEN, addresses: ['127.0.0.1'], ...opts });
    await fake.start();
    s = await tempStore();
  };
  afterEach(() => endFakeTest(fake, s, 'the Hetzner Cloud OpenAPI description'));

  const env = (extra: NodeJS.ProcessEnv = {}) => ({ HOME: home, HCLOUD_ENDPOINT: fake.url, ...extra });
  const create = (name: string, extra: string[] = [], e: NodeJS.ProcessEnv = {}) =>
    s.run(['create', '-d', 'hetzner', '--hetzner-api-token', TOKEN, ...extra, name], {
      env: env(e),
      timeoutMs: 120_000,
    });
  const empty = { keys: [], servers: [], groups: [] };

  const badInput: [string, string[], RegExp][] = [
    ['no credentials', [], /hetzner driver requires the --hetzner-api-token option/],
    [
      'a wrong token',
      ['--hetzner-api-token', 'nope'],
      /Hetzner Cloud API: unauthorized: unable to authenticate \(HTTP 401\)/,
    ],
    [
      'an unknown location',
      ['--hetzner-server-location', 'xyz1'],
      /location xyz1 does not exist; locations: ash, fsn1, hel1, nbg1/,
    ],
    ['an unknown server type', ['--hetzner-server-type', 'cx999'], /server type cx999 does not exist/],
    [
      'an upper-case server type (the plugin panicked)',
      ['--hetzner-server-type', 'CX22'],
      /--hetzner-server-type CX22: Hetzner's type names are lower-case \(cx22\)/,
    ],
    [
      'a server type no longer sold',
      ['--hetzner-server-type', 'cx11'],
      /server type cx11 can no longer be ordered/,
    ],
    [
      'a server type the location lacks',
      ['--hetzner-server-type', 'ccx13', '--hetzner-server-location', 'hel1'],
      /server type ccx13 is not available in location hel1 \(it is in ash, fsn1\)/,
    ],
    ['an unknown image', ['--hetzner-image', 'ubuntu-16.04'], /image ubuntu-16.04 does not exist for x86/],
    [
      'an image for another architecture',
      ['--hetzner-image-id', '300001', '--hetzner-server-type', 'cax11'],
      /image 300001 is for x86, server type cax11 is arm/,
    ],
    ['an unknown image id', ['--hetzner-image-id', '42'], /image 42 does not exist in this project/],
    ['an unknown network', ['--hetzner-networks', 'frontend'], /network frontend does not exist/],
    ['an unknown firewall', ['--hetzner-firewalls', '12345'], /firewall 12345 does not exist/],
    ['an unknown volume', ['--hetzner-volumes', 'logs'], /volume logs does not exist/],
    [
      'an unknown placement group',
      ['--hetzner-placement-group', 'pg1'],
      /placement group pg1 does not exist/,
    ],
    [
      'an unknown primary IP',
      ['--hetzner-primary-ipv4', '203.0.113.9'],
      /primary IP 203.0.113.9 does not exist/,
    ],
    [
      'an unknown existing key',
      ['--hetzner-existing-key-id', '77', '--hetzner-existing-key-path', '/etc/hostname'],
      /the public key \/etc\/hostname.pub of --hetzner-existing-key-path could not be found/,
    ],
    [
      'a private network without a network',
      ['--hetzner-use-private-network'],
      /--hetzner-use-private-network needs a network: give --hetzner-networks/,
    ],
    [
      'a label Hetzner refuses',
      ['--hetzner-server-label', 'team=a b'],
      /--hetzner-server-label team=a b: "a b" is not a label value/,
    ],
    [
      'an additional key that is not a public key',
      ['--hetzner-additional-key', 'my-laptop-key'],
      /--hetzner-additional-key my-laptop-key: not a public key line/,
    ],
    [
      'a bad endpoint',
      ['--hetzner-api-endpoint', 'ftp://x'],
      /--hetzner-api-endpoint "ftp:\/\/x" is not an http\(s\) URL/,
    ],
    [
      'a name Hetzner refuses',
      ['--hetzner-server-type', 'cx22'],
      // The store's own hostname check answers first: Hetzner's rule (RFC 1123) is the same.
      /Invalid hostname specified: "nx{70}" has 71 characters; a hostname has at most 63 between dots/,
    ],
  ];
  for (const [what, flags, want] of badInput) {
    test(`${what}: one clear line, exit non-zero, nothing made`, async () => {
      await start();
      const name = what === 'a name Hetzner refuses' ? `n${'x'.repeat(70)}` : 'm1';
      const r =
        what === 'no credentials'
          ? await s.run(['create', '-d', 'hetzner', name], { env: env(), timeoutMs: 60_000 })
          : await create(name, flags);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, want);
      const errLines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^Running pre-create checks|^Creating CA|^Creating client/.test(l));
      assert.equal(errLines.length, 1, r.stderr);
      assert.deepEqual(fake.inventory(), empty);
      assert.ok(!fake.calls.some((c) => c.startsWith('POST')), 'no create call was sent');
      assert.equal(existsSync(join(s.dir, 'machines', name)), false, 'no machine folder');
      assert.ok(!r.stderr.includes(TOKEN) && !r.stdout.includes(TOKEN));
    });
  }

  test('lists are read to their last page (meta.pagination.next_page)', async () => {
    await start({ maxPerPage: 1 });
    const r = await create('m1', ['--hetzner-server-location', 'xyz1']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /locations: ash, fsn1, hel1, nbg1/);
    // Four locations, one a page: four pages of the full list after the one by name.
    assert.equal(fake.calls.filter((c) => c === 'GET /locations').length, 5);
  });

  test('a full quota (resource_limit_exceeded) at the server create: one line, and the key it made is removed', async () => {
    await start({ serverLimit: 0 });
    const r = await create('m1');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /Hetzner Cloud API: resource_limit_exceeded: server limit exceeded \(HTTP 403\); removed what this create had made: SSH key m1-[0-9a-f]{10} \(\d+\)/,
    );
    assert.equal(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => /Hetzner/.test(l)).length,
      1,
    );
    assert.deepEqual(fake.inventory(), empty);
    const rmr = await s.run(['rm', '-y', 'm1'], { env: env() });
    assert.equal(rmr.code, 0, rmr.stderr);
  });

  test('a name the API refuses at create (uniqueness_error) is reported in its words; nothing is left', async () => {
    await start();
    fake.failNext('POST', /^\/servers$/, 409, 'uniqueness_error', 'server name is already used');
    const r = await create('m1');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /Hetzner Cloud API: uniqueness_error: server name is already used \(HTTP 409\); removed what this create had made: SSH key m1-/,
    );
    assert.deepEqual(fake.inventory(), empty);
  });

  test('a server name already used in the project is refused before anything is made', async () => {
    await start();
    const first = await killAt(/Server address: /, 'same', [], false);
    assert.equal(first.made.servers.length, 1);
    const other = await tempStore();
    try {
      const r = await other.run(['create', '-d', 'hetzner', '--hetzner-api-token', TOKEN, 'same'], {
        env: env(),
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /a server named same already exists in this Hetzner Cloud project/);
      assert.equal(fake.keys.size, 1);
    } finally {
      await other.cleanup();
    }
    const rmr = await s.run(['rm', '-y', 'same'], { env: env() });
    assert.equal(rmr.code, 0, rmr.stderr);
    assert.deepEqual(fake.inventory(), empty);
  });

  test('an existing project key by id: fingerprint checked, used, copied to the machine, never deleted', async () => {
    await start();
    const { generateSSHKeyPair } = await import('../../src/ssh/keys.js');
    const keyPath = join(home, 'my_key');
    await rm(keyPath, { force: true });
    const { publicLine } = await generateSSHKeyPair(keyPath);
    const mine = fake.addKey('laptop', publicLine);
    const k = await killAt(/Server address: /, 'm1', [
      '--hetzner-existing-key-id',
      String(mine.id),
      '--hetzner-existing-key-path',
      keyPath,
    ]);
    assert.deepEqual(
      k.ledger.map((e) => e.kind),
      ['server'],
    );
    assert.deepEqual(k.created?.ssh_keys, [String(mine.id)]);
    assert.equal(k.driver.IsExistingKey, true);
    assert.equal(await readFile(join(s.dir, 'machines', 'm1', 'id_rsa.pub'), 'utf8').catch(() => ''), '');
    assert.deepEqual(fake.inventory().keys, [mine.id]);
    // A key whose fingerprint is not the local key's is refused.
    const other = join(home, 'other_key');
    await rm(other, { force: true });
    await generateSSHKeyPair(other);
    const r = await create('m2', [
      '--hetzner-existing-key-id',
      String(mine.id),
      '--hetzner-existing-key-path',
      other,
    ]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`SSH key ${mine.id} \\(${mine.fingerprint}\\) is not the key of`));
  });

  test("an existing key by path alone: the project's key of that fingerprint is used and kept; else it is added, and rm deletes it", async () => {
    await start();
    const { generateSSHKeyPair } = await import('../../src/ssh/keys.js');
    const keyPath = join(home, 'known_key');
    const other = join(home, 'new_key');
    await rm(keyPath, { force: true });
    await rm(other, { force: true });
    const { publicLine } = await generateSSHKeyPair(keyPath);
    const { publicLine: otherLine } = await generateSSHKeyPair(other);
    const mine = fake.addKey('laptop', publicLine);
    const known = await killAt(/Server address: /, 'e1', ['--hetzner-existing-key-path', keyPath]);
    assert.deepEqual(known.created?.ssh_keys, [String(mine.id)]);
    assert.equal(known.driver.IsExistingKey, true);
    assert.deepEqual(
      known.ledger.map((e) => e.kind),
      ['server'],
    );
    const added = await killAt(/Server address: /, 'e2', ['--hetzner-existing-key-path', other]);
    assert.equal(added.driver.IsExistingKey, false);
    assert.equal(added.made.keys.length, 2);
    const upload = fake.recorded.filter((x) => x.kind === 'request' && x.op === 'POST /ssh_keys').at(-1)
      ?.body as {
      public_key: string;
    };
    assert.equal(upload.public_key, otherLine.trim());
  });

  test('the address: on the private network once Hetzner attaches it, or the ::1 of its IPv6 network with IPv4 off', async () => {
    // Loopback addresses stand in for the private and IPv6 ones: the SSH wait that follows the
    // address line stays on this computer.
    await start({ privateAddress: '127.0.0.2', privatePolls: 2, ipv6Network: '::/64' });
    const priv = await killAt(/Server address: 127\.0\.0\.2/, 'p1', [
      '--hetzner-networks',
      'backend',
      '--hetzner-use-private-network',
    ]);
    assert.match(
      priv.output,
      /Waiting for server p1 \(id \d+\): running, without its private network address yet/,
    );
    const v6 = await killAt(/Server address: ::1\b/, 'p2', ['--hetzner-disable-public-ipv4']);
    assert.deepEqual((v6.created as Record<string, unknown>).public_net, {
      enable_ipv4: false,
      enable_ipv6: true,
    });
    const none = await create('p3', ['--hetzner-disable-public']);
    assert.equal(none.code, 3);
    assert.match(
      none.stderr,
      /with both public addresses disabled the server can only be reached on a private network/,
    );
  });

  test('rm names what it could not delete, with its id and the hcloud command, keeps it, and a later rm finishes; a resource already gone is no error', async () => {
    await start();
    const k = await killAt(/Server address: /, 'r1', [], false);
    const serverId = k.driver.ServerID as number;
    fake.failNext(
      'DELETE',
      /^\/servers\/\d+$/,
      403,
      'forbidden',
      'insufficient permissions for this request',
    );
    const first = await s.run(['rm', '-y', 'r1'], { env: env() });
    assert.notEqual(first.code, 0);
    assert.match(
      first.stderr,
      new RegExp(
        `could not delete 1 Hetzner Cloud resource\\(s\\) this machine made:\\n  server r1 \\(${serverId}\\): Hetzner Cloud API: forbidden: insufficient permissions for this request \\(HTTP 403\\); delete it by hand: hcloud server delete ${serverId}`,
      ),
    );
    // The key went; the server stayed, and so did its entry.
    assert.deepEqual(fake.inventory(), { keys: [], servers: [serverId], groups: [] });
    const cfg = JSON.parse(await readFile(join(s.dir, 'machines', 'r1', 'config.json'), 'utf8'));
    assert.deepEqual(
      ledgerOf(cfg.Driver).map((e) => e.kind),
      ['server'],
    );
    // Deleted meanwhile by hand: the next rm finds it gone and succeeds.
    fake.servers.delete(serverId);
    const second = await s.run(['rm', '-y', 'r1'], { env: env() });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(existsSync(join(s.dir, 'machines', 'r1')), false);
  });

  test('every option reaches the server create request', async () => {
    await start();
    const userData = join(home, 'user-data.yml');
    await writeFile(userData, '#cloud-config\npackages: [htop]\n');
    // Two additional keys: one the project has (kept), one it has not (added, then deleted by rm).
    const { generateSSHKeyPair } = await import('../../src/ssh/keys.js');
    await rm(join(home, 'extra1'), { force: true });
    await rm(join(home, 'extra2'), { force: true });
    const known = (await generateSSHKeyPair(join(home, 'extra1'))).publicLine.trim();
    const fresh = (await generateSSHKeyPair(join(home, 'extra2'))).publicLine.trim();
    const laptop = fake.addKey('laptop', known);
    const k = await killAt(/Server address: /, 'm1', [
      '--hetzner-additional-key',
      known,
      '--hetzner-additional-key',
      `${fresh} ci@example`,
      '--hetzner-user-data-file',
      userData,
      '--hetzner-server-location',
      'fsn1',
      '--hetzner-image-id',
      '114690387',
      '--hetzner-networks',
      'backend',
      '--hetzner-firewalls',
      'web',
      '--hetzner-volumes',
      '4242',
      '--hetzner-disable-public-ipv6',
      '--hetzner-primary-ipv4',
      'front-v4',
      '--hetzner-server-label',
      'team=a',
      '--hetzner-server-label',
      'example.com/env=test',
      '--hetzner-key-label',
      'owner=ci',
      '--hetzner-auto-spread',
    ]);
    const body = k.created as Record<string, unknown>;
    assert.equal(body.user_data, '#cloud-config\npackages: [htop]\n');
    assert.equal(body.location, 'fsn1');
    assert.equal(body.image, '114690387');
    assert.equal(body.server_type, 'cx22');
    assert.deepEqual(body.networks, [4711]);
    assert.deepEqual(body.firewalls, [{ firewall: 38 }]);
    assert.deepEqual(body.volumes, [4242]);
    assert.deepEqual(body.public_net, { enable_ipv4: true, enable_ipv6: false, ipv4: 9001 });
    assert.equal(typeof body.placement_group, 'number');
    const labels = body.labels as Record<string, string>;
    assert.equal(labels.team, 'a');
    assert.equal(labels['example.com/env'], 'test');
    assert.match(labels['docker-machine-id'], /^[0-9a-f]{10}$/);
    const keyReq = fake.recorded.find((x) => x.kind === 'request' && x.op === 'POST /ssh_keys')?.body as {
      labels: Record<string, string>;
    };
    assert.deepEqual(keyReq.labels, { owner: 'ci', 'docker-machine-id': labels['docker-machine-id'] });
    const keys = body.ssh_keys as string[];
    assert.equal(keys.length, 3);
    assert.equal(keys[1], String(laptop.id));
    const added = fake.recorded.filter((x) => x.kind === 'request' && x.op === 'POST /ssh_keys').at(-1)
      ?.body as {
      name: string;
      public_key: string;
    };
    assert.match(added.name, /^m1-additional-2-[0-9a-f]{10}$/);
    assert.equal(added.public_key, `${fresh} ci@example`);
    assert.match(k.out, /Deleted SSH key m1-additional-2-[0-9a-f]+ \(\d+\)/);
    // The project's own key stayed; everything this machine made went.
    assert.deepEqual(fake.inventory(), { keys: [laptop.id], servers: [], groups: [] });
    fake.keys.delete(laptop.id);
    // rm deleted the auto-spread group it made once it was empty.
    assert.deepEqual(fake.inventory(), empty);
  });

  test("the token comes from the hcloud CLI's active context when no flag or variable gives it, and is never printed", async () => {
    await start();
    const cfg = join(home, '.config', 'hcloud');
    await mkdir(cfg, { recursive: true });
    await writeFile(
      join(cfg, 'cli.toml'),
      `active_context = "work"\n\n[[contexts]]\n  name = "home"\n  token = "wrong"\n\n[[contexts]]\n  name = "work"\n  token = "${TOKEN}"\n`,
      { mode: 0o600 },
    );
    try {
      const r = await s.run(
        ['--debug', 'create', '-d', 'hetzner', '--hetzner-server-location', 'nowhere', 'm1'],
        { env: env(), timeoutMs: 60_000 },
      );
      // It got as far as the API (the location check), with the file's token.
      assert.match(r.stderr, /location nowhere does not exist/);
      assert.match(r.stderr, /authorization=(\[redacted\]|<REDACTED>)/);
      assert.ok(!r.stderr.includes(TOKEN) && !r.stdout.includes(TOKEN), 'the token is never printed');
      // HCLOUD_TOKEN, the variable of Hetzner's own tools, wins over the file.
      const v = await s.run(['create', '-d', 'hetzner', '--hetzner-server-location', 'nowhere', 'm1'], {
        env: env({ HCLOUD_TOKEN: 'bad-token' }),
        timeoutMs: 60_000,
      });
      assert.match(v.stderr, /unauthorized/);
    } finally {
      await rm(join(home, '.config'), { recursive: true, force: true });
    }
  });

  /**
   * create until `at` happens (a line in its output, or the fake having made a kind of resource
   * while it holds the answer), kill -9, then (unless told not to) rm -y: the fake must be left
   * with only what the user made.
   */
  const killAt = async (at: RegExp | string, name: string, extra: string[] = [], remove = true) => {
    const { out, driver } = await killCreateAt(at, {
      storeDir: s.dir,
      args: [
        'create',
        '-d',
        'hetzner',
        '--hetzner-api-token',
        TOKEN,
        '--hetzner-ssh-port',
        '1',
        ...extra,
        name,
      ],
      env: env(),
      made: onCreated(fake),
    });
    const ledger = ledgerOf(driver);
    const made = fake.inventory();
    const created = fake.recorded.find(
      (x) => x.kind === 'request' && x.op === 'POST /servers' && (x.body as { name?: string }).name === name,
    )?.body as { ssh_keys?: string[] } | undefined;
    if (!remove) return { ledger, made, created, driver, out, output: out };
    const userKeys = [...fake.keys.values()].filter((x) => x.name === 'laptop').map((x) => x.id);
    const r = await s.run(['rm', '-y', name], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      fake.inventory(),
      { keys: userKeys, servers: [], groups: [] },
      `after rm (made: ${JSON.stringify(made)})`,
    );
    assert.equal(existsSync(join(s.dir, 'machines', name)), false);
    return { ledger, made, created, driver, out: r.stdout, output: out };
  };

  test('kill -9 at each create step, then rm -y: nothing is left at the provider', async () => {
    // Each create's answer is held 500 ms after the fake made the resource: the kill lands there.
    await start({ holdCreateMs: 500 });
    await killAt(/Creating SSH key\.\.\./, 'k1');
    await killAt(/Creating server\.\.\./, 'k2');
    const waiting = await killAt(/Waiting for server k3 \(id \d+\) to be running/, 'k3');
    assert.ok(
      waiting.ledger.length === 2 && waiting.ledger.every((e) => e.id !== ''),
      'every id was saved before the wait',
    );
    const address = await killAt(/Server address: 127\.0\.0\.1/, 'k4');
    assert.equal(address.made.servers.length, 1);

    // After the provider made the resource, before its answer arrived: rm finds it by its label.
    const key = await killAt('ssh_key', 'k5');
    assert.equal(key.made.keys.length, 1);
    assert.equal(key.ledger.find((e) => e.kind === 'ssh_key')?.id, '');
    assert.match(key.out, /Deleted SSH key k5-[0-9a-f]+ \(\d+\)/);
    const server = await killAt('server', 'k6');
    assert.equal(server.made.servers.length, 1);
    assert.equal(server.ledger.find((e) => e.kind === 'server')?.id, '');
    assert.match(server.out, /Deleted server k6 \(\d+\)[\s\S]*Deleted SSH key k6-/);
    // The auto-spread group, made and killed before its answer: found by name and label.
    const group = await killAt('placement_group', 'k7', ['--hetzner-auto-spread']);
    assert.equal(group.made.groups.length, 1);
    assert.match(group.out, /Deleted placement group docker-machine \(\d+\)/);
  });

  test('a fleet of 20 creates against a throttling API: every server made, actions polled no faster than 1 s, then rm -y of all', async () => {
    // 40 requests per 2 s for the whole project: far fewer than 20 creates want at once.
    await start({ rateLimit: { limit: 40, windowMs: 2000 }, actionPolls: 2 });
    // And one 429 on demand, as Hetzner sends it.
    fake.failNext(
      'GET',
      /^\/server_types$/,
      429,
      'rate_limit_exceeded',
      'limit of 3600 requests per hour reached',
    );
    const names = Array.from({ length: 20 }, (_, i) => `n${i + 1}`);
    const took = await createFleet(
      s.dir,
      'hetzner',
      { 'hetzner-api-token': TOKEN, 'hetzner-api-endpoint': fake.url },
      names,
    );
    assert.equal(fake.servers.size, 20);
    assert.equal(fake.keys.size, 20);
    assert.ok(fake.throttled > 0, 'the fake throttled some requests');
    for (const name of names) {
      const driver = await savedDriver(s.dir, name);
      assert.ok(fake.servers.has(driver.ServerID), `${name} saved its server`);
      assert.equal(driver.IPAddress, '127.0.0.1');
    }
    for (const [id, times] of fake.actionPollTimes) {
      for (let i = 1; i < times.length; i++)
        assert.ok(times[i] - times[i - 1] >= 990, `action ${id} polled ${times[i] - times[i - 1]} ms apart`);
    }
    process.stderr.write(
      `fleet of 20: ${took} ms, ${fake.calls.length} requests, ${fake.throttled} throttled\n`,
    );
    const r = await s.run(['rm', '-y', ...names], { env: env(), timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fake.inventory(), empty);
  });
});
