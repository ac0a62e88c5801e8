import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { ledgerOf } from '../../src/drivers/cloud/ledger.js';
import { FakeDigitalOcean } from '../fakes/digitalocean/fake.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { createFleet, endFakeTest, savedDriver } from '../helpers/cloud-fake.js';
import { killCreateAt, onCreated } from '../helpers/kill-at.js';

/**
 * The digitalocean driver against the stateful fake (no test host: what happens before SSH).
 * Every body the fake sent or received is checked against DigitalOcean's OpenAPI at the end of
 * each test.
 */
const TOKEN = 'dop_v1_fake0123456789abcdef';

describe('digitalocean driver against the fake API', { timeout: 10 * 60_000 }, () => {
  let fake: FakeDigitalOcean;
  let s: CliStore;
  let home: string;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'dm-do-home-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const start = async (opts: Partial<ConstructorParameters<typeof FakeDigitalOcean>[0]> = {}) => {
    fake = new FakeDigitalOcean({ token: TOKEN, addresses: ['127.0.0.1'], pollsToActive: 2, ...opts });
    await fake.start();
    s = await tempStore();
  };
  afterEach(() => endFakeTest(fake, s, "DigitalOcean's OpenAPI description"));

  const env = (extra: NodeJS.ProcessEnv = {}) => ({ HOME: home, DIGITALOCEAN_API_URL: fake.url, ...extra });
  const create = (name: string, extra: string[] = [], e: NodeJS.ProcessEnv = {}) =>
    s.run(['create', '-d', 'digitalocean', '--digitalocean-access-token', TOKEN, ...extra, name], {
      env: env(e),
      timeoutMs: 120_000,
    });

  const badInput: [string, string[], RegExp, NodeJS.ProcessEnv?][] = [
    ['no credentials', [], /digitalocean driver requires the --digitalocean-access-token option/],
    [
      'a wrong token',
      ['--digitalocean-access-token', 'nope'],
      /DigitalOcean API: unauthorized: Unable to authenticate you \(HTTP 401\)/,
    ],
    [
      'an unknown region',
      ['--digitalocean-region', 'xyz9'],
      /region xyz9 does not exist; regions: ams3, nyc3, sfo1/,
    ],
    [
      'a region taking no droplets',
      ['--digitalocean-region', 'sfo1'],
      /region sfo1 takes no new droplets now/,
    ],
    ['an unknown size', ['--digitalocean-size', 's-99vcpu'], /size s-99vcpu does not exist/],
    [
      'a size the region lacks',
      ['--digitalocean-region', 'ams3', '--digitalocean-size', 's-2vcpu-4gb'],
      /size s-2vcpu-4gb is not available in region ams3/,
    ],
    [
      'an unknown image',
      ['--digitalocean-image', 'ubuntu-16-04-x64'],
      /image ubuntu-16-04-x64 does not exist; give a slug/,
    ],
    [
      'an image not in the region',
      ['--digitalocean-image', '170000099'],
      /image 170000099 is not available in region nyc3 \(it is in ams3\)/,
    ],
    [
      'an unknown key fingerprint',
      ['--digitalocean-ssh-key-fingerprint', 'aa:bb'],
      /no SSH key with fingerprint aa:bb/,
    ],
    [
      'an unknown VPC',
      ['--digitalocean-vpc-uuid', '00000000-0000-0000-0000-000000000000'],
      /VPC 0000.* does not exist/,
    ],
    [
      'a bad tag',
      ['--digitalocean-tags', 'ok,not ok'],
      /--digitalocean-tags: not ok is not a tag DigitalOcean accepts/,
    ],
    [
      'a bad endpoint',
      ['--digitalocean-api-url', 'ftp://x'],
      /--digitalocean-api-url "ftp:\/\/x" is not an http\(s\) URL/,
    ],
  ];
  for (const [what, flags, want] of badInput) {
    test(`${what}: one clear line, exit non-zero, nothing made`, async () => {
      await start();
      const args =
        what === 'no credentials'
          ? s.run(['create', '-d', 'digitalocean', 'm1'], { env: env(), timeoutMs: 60_000 })
          : create('m1', flags);
      const r = await args;
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, want);
      const errLines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^Running pre-create checks|^Creating CA|^Creating client/.test(l));
      assert.equal(errLines.length, 1, r.stderr);
      assert.deepEqual(fake.inventory(), { keys: [], droplets: [], tags: [] });
      assert.equal(existsSync(join(s.dir, 'machines', 'm1')), false, 'no machine folder');
      assert.ok(!r.stderr.includes(TOKEN) && !r.stdout.includes(TOKEN));
    });
  }

  test('the OpenAPI check is not vacuous: bodies that break the spec are reported', async () => {
    await start();
    const probe = new FakeDigitalOcean({ token: 'x', addresses: [] });
    probe.recorded.push(
      {
        op: 'resources/droplets/droplets_get.yml',
        status: 200,
        body: { droplet: { id: 'abc' } },
        kind: 'response',
      },
      { op: 'resources/ssh_keys/sshKeys_get.yml', status: 404, body: { message: 'gone' }, kind: 'response' },
      {
        op: 'resources/droplets/droplets_create.yml',
        status: 0,
        body: { name: 'x', size: 1 },
        kind: 'request',
      },
    );
    const problems = await probe.validate();
    assert.ok(
      problems.some((p) => /#0 .*droplet\/id: 'abc' is not of type 'integer'/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /#1 .*'id' is a required property/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /#2 request /.test(p)),
      problems.join('\n'),
    );
  });

  test('lists are read to their last page (links.pages.next)', async () => {
    await start({ maxPerPage: 1 });
    const r = await create('m1', ['--digitalocean-region', 'xyz9']);
    assert.equal(r.code, 3);
    // Three regions, one per page: all three were read.
    assert.match(r.stderr, /region xyz9 does not exist; regions: ams3, nyc3, sfo1/);
    assert.equal(fake.calls.filter((c) => c === 'GET /v2/regions').length, 3);
    // And a size on the last of four pages is found.
    const ok = await create('m2', ['--digitalocean-size', 's-2vcpu-4gb', '--digitalocean-image', 'nope']);
    assert.match(ok.stderr, /image nope does not exist/);
  });

  test('an existing account key by fingerprint: used for the droplet, copied to the machine, never deleted', async () => {
    await start();
    const { generateSSHKeyPair } = await import('../../src/ssh/keys.js');
    const keyPath = join(home, 'my_key');
    const { publicLine } = await generateSSHKeyPair(keyPath);
    const mine = fake.addKey('laptop', publicLine);
    const { md5Fingerprint } = await import('../../src/drivers/cloud/key-fingerprint.js');
    assert.equal(md5Fingerprint(publicLine), mine.fingerprint);
    const k = await killAt(/Droplet address: /, 'm1', [
      '--digitalocean-ssh-key-fingerprint',
      mine.fingerprint,
      '--digitalocean-ssh-key-path',
      keyPath,
    ]);
    assert.deepEqual(
      k.ledger.map((e) => e.kind),
      ['tag', 'droplet'],
    );
    assert.deepEqual(k.created?.ssh_keys, [mine.id]);
    assert.equal(k.driver.SSHKeyID, mine.id);
    assert.equal(k.driver.SSHKeyPath, join(s.dir, 'machines', 'm1', 'id_rsa'));
    assert.ok(k.keyCopied);
    assert.deepEqual(fake.inventory().keys, [mine.id]);
  });

  test('every option reaches the droplet create request: user-data, VPC, backups, IPv6, monitoring, tags, an image by id', async () => {
    await start();
    const userData = join(home, 'user-data.yml');
    await writeFile(userData, '#cloud-config\npackages: [htop]\n');
    const k = await killAt(/Droplet address: /, 'm1', [
      '--digitalocean-userdata',
      userData,
      '--digitalocean-vpc-uuid',
      '5a4981aa-9653-4bd1-bef5-d6bff52042e4',
      '--digitalocean-backups',
      '--digitalocean-ipv6',
      '--digitalocean-monitoring',
      '--digitalocean-tags',
      'web,team:a',
      '--digitalocean-image',
      '170000002',
      '--digitalocean-size',
      's-2vcpu-4gb',
    ]);
    const body = k.created as Record<string, unknown>;
    // The VPC address is kept: swarm nodes advertise it.
    assert.match(String(k.driver.PrivateIPAddress), /^10\.116\.0\.\d+$/);
    assert.equal(body.user_data, '#cloud-config\npackages: [htop]\n');
    assert.equal(body.vpc_uuid, '5a4981aa-9653-4bd1-bef5-d6bff52042e4');
    assert.equal(body.image, 170000002);
    assert.equal(body.size, 's-2vcpu-4gb');
    assert.equal(body.region, 'nyc3');
    assert.equal(body.backups, true);
    assert.equal(body.ipv6, true);
    assert.equal(body.monitoring, true);
    const tags = body.tags as string[];
    assert.deepEqual(tags.slice(0, 2), ['web', 'team:a']);
    assert.match(tags[2], /^docker-machine-[0-9a-f]{10}$/);
    // rm deleted the droplet's own tag and left the user's.
    assert.deepEqual(fake.inventory().tags.sort(), ['team:a', 'web']);
  });

  test('transient errors and a 429 are retried: one droplet, one key, create goes on', async () => {
    await start();
    fake.failNext('GET', /^\/v2\/regions$/, 500, 'server_error', 'Server Error');
    fake.failNext('POST', /^\/v2\/account\/keys$/, 429, 'too_many_requests', 'API Rate limit exceeded.');
    fake.failNext('POST', /^\/v2\/droplets$/, 503, 'service_unavailable', 'Service Unavailable');
    fake.failNext('GET', /^\/v2\/droplets\/\d+$/, 502, 'bad_gateway', 'Bad Gateway');
    const k = await killAt(/Droplet address: /, 'm1');
    assert.equal(k.made.droplets.length, 1);
    assert.equal(k.made.keys.length, 1);
    assert.equal(fake.calls.filter((c) => c === 'POST /v2/droplets').length, 2);
  });

  test('a name DigitalOcean refuses and a full quota are refused before anything is made', async () => {
    await start({ dropletLimit: 0 });
    // A name the store takes (its own rule already refuses labels over 63 characters) but that
    // is no hostname: DigitalOcean refuses it, so the pre-create check does.
    const r1 = await create('web-');
    assert.equal(r1.code, 3, r1.stderr);
    assert.match(
      r1.stderr,
      /DigitalOcean refuses the droplet name web-: a label may not start or end with -; choose another machine name/,
    );
    const r2 = await create('m1');
    assert.equal(r2.code, 3);
    assert.match(
      r2.stderr,
      /DigitalOcean account has 0 droplets of its limit of 0; remove one or ask DigitalOcean for a higher limit/,
    );
    assert.deepEqual(fake.inventory(), { keys: [], droplets: [], tags: [] });
  });

  test('a droplet create the API refuses undoes the key it made, in one line', async () => {
    await start();
    fake.failNext(
      'POST',
      /^\/v2\/droplets$/,
      422,
      'unprocessable_entity',
      'creating this/these droplet(s) will exceed your droplet limit',
    );
    const r = await create('m1');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /DigitalOcean API: unprocessable_entity: creating this\/these droplet\(s\) will exceed your droplet limit \(HTTP 422\) \(request [0-9a-f-]+\); removed what this create had made: SSH key m1 \(\d+\)/,
    );
    assert.deepEqual(fake.inventory(), { keys: [], droplets: [], tags: [] });
    const rm = await s.run(['rm', '-y', 'm1'], { env: env() });
    assert.equal(rm.code, 0, rm.stderr);
  });

  test("the token comes from doctl's config file when no flag or variable gives it, and is never printed", async () => {
    await start();
    await writeFile(join(home, 'doctl.yaml'), '');
    const cfg = join(home, '.config', 'doctl');
    await import('node:fs/promises').then((f) => f.mkdir(cfg, { recursive: true }));
    await writeFile(join(cfg, 'config.yaml'), `access-token: ${TOKEN}\ncontext: default\n`, { mode: 0o600 });
    const r = await s.run(
      ['--debug', 'create', '-d', 'digitalocean', '--digitalocean-region', 'nowhere', 'm1'],
      {
        env: env(),
        timeoutMs: 60_000,
      },
    );
    // It got as far as the API (the region check), with the file's token.
    assert.match(r.stderr, /region nowhere does not exist/);
    assert.match(r.stderr, /authorization=<REDACTED>/);
    assert.ok(!r.stderr.includes(TOKEN) && !r.stdout.includes(TOKEN), 'the token is never printed');
    await rm(join(home, '.config'), { recursive: true, force: true });
  });

  /**
   * create until `at` happens (a line in its output, or the fake having made a kind of resource
   * while it holds the answer), kill -9, then rm -y: the fake must be left empty.
   */
  const killAt = async (at: RegExp | string, name: string, extra: string[] = []) => {
    const { driver } = await killCreateAt(at, {
      storeDir: s.dir,
      args: [
        'create',
        '-d',
        'digitalocean',
        '--digitalocean-access-token',
        TOKEN,
        '--digitalocean-ssh-port',
        '1',
        ...extra,
        name,
      ],
      env: env(),
      made: onCreated(fake),
    });
    const ledger = ledgerOf(driver);
    const keyCopied = existsSync(join(s.dir, 'machines', name, 'id_rsa'));
    const made = fake.inventory();
    const created = fake.recorded.find(
      (x) =>
        x.kind === 'request' &&
        x.op.endsWith('droplets_create.yml') &&
        (x.body as { name?: string }).name === name,
    )?.body as { ssh_keys?: number[] } | undefined;
    // Keys the user added before (addKey) are the user's: rm leaves them.
    const userKeys = [...fake.keys.values()].filter((x) => x.name === 'laptop').map((x) => x.id);
    // So are the tags given with --digitalocean-tags; the machine's own tag is the machine's.
    const userTags = made.tags.filter((t) => !t.startsWith('docker-machine-'));
    const r = await s.run(['rm', '-y', name], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      fake.inventory(),
      { keys: userKeys, droplets: [], tags: userTags },
      `after rm (made: ${JSON.stringify(made)})`,
    );
    assert.equal(existsSync(join(s.dir, 'machines', name)), false);
    return { ledger, made, created, driver, keyCopied, out: r.stdout };
  };

  test('kill -9 at each create step, then rm -y: nothing is left at the provider', async () => {
    // Each create's answer is held 500 ms after the fake made the resource: the kill lands there.
    await start({ holdCreateMs: 500 });
    // At each step's line: whatever the fake made by then, rm deletes.
    await killAt(/Creating SSH key\.\.\./, 'k1');
    await killAt(/Creating droplet\.\.\./, 'k2');
    const waiting = await killAt(/Waiting for droplet k3 \(id \d+\) to be running/, 'k3');
    assert.ok(
      waiting.ledger.length === 3 && waiting.ledger.every((e) => e.id !== ''),
      'every id was saved before the wait',
    );
    const address = await killAt(/Droplet address: 127\.0\.0\.1/, 'k4');
    assert.equal(address.made.droplets.length, 1);

    // After the provider made the resource, before its answer arrived: rm finds it without an id.
    const key = await killAt('ssh_key', 'k5');
    assert.equal(key.made.keys.length, 1);
    assert.equal(key.ledger.find((e) => e.kind === 'ssh_key')?.id, '');
    assert.match(key.out, /Deleted SSH key k5 \(\d+\)/);
    const droplet = await killAt('droplet', 'k6');
    assert.equal(droplet.made.droplets.length, 1);
    assert.equal(droplet.ledger.find((e) => e.kind === 'droplet')?.id, '');
    assert.match(
      droplet.out,
      /Deleted droplet k6 \(\d+\)[\s\S]*Deleted tag docker-machine-[0-9a-f]+[\s\S]*Deleted SSH key k6/,
    );
  });

  test('a fleet of 20 creates against a throttling API: every droplet made, then rm -y of all', async () => {
    // 40 requests per 2 s for the whole account: far fewer than 20 creates want at once.
    await start({ rateLimit: { limit: 40, windowMs: 2000 }, pollsToActive: 1 });
    const names = Array.from({ length: 20 }, (_, i) => `n${i + 1}`);
    const took = await createFleet(
      s.dir,
      'digitalocean',
      { 'digitalocean-access-token': TOKEN, 'digitalocean-api-url': fake.url },
      names,
    );
    assert.equal(fake.droplets.size, 20);
    assert.equal(fake.keys.size, 20);
    assert.ok(fake.throttled > 0, 'the fake throttled some requests');
    for (const name of names) {
      const driver = await savedDriver(s.dir, name);
      assert.ok(fake.droplets.has(driver.DropletID), `${name} saved its droplet`);
      assert.equal(driver.IPAddress, '127.0.0.1');
    }
    process.stderr.write(
      `fleet of 20: ${took} ms, ${fake.calls.length} requests, ${fake.throttled} throttled\n`,
    );
    const r = await s.run(['rm', '-y', ...names], { env: env(), timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fake.inventory(), { keys: [], droplets: [], tags: [] });
  });
});
