import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { ledgerOf } from '../../src/drivers/cloud/ledger.js';
import { FakeExoscale } from '../fakes/exoscale/fake.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { endFakeTest } from '../helpers/cloud-fake.js';
import { killCreateAt, onCreated } from '../helpers/kill-at.js';

/**
 * The exoscale driver against the stateful fake of the v2 API (no test host: what happens before
 * SSH). Every request is signed and the fake checks each signature; every body the fake sent or
 * received is checked against Exoscale's OpenAPI description at the end of each test.
 */
const KEY = 'EXOfake0123456789abcdef0123';
const SECRET = 'exo-secret-0123456789ABCDEFabcdef';

describe('exoscale driver against the fake API', { timeout: 10 * 60_000 }, () => {
  let fake: FakeExoscale;
  let s: CliStore;
  let home: string;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'dm-exo-home-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const start = async (opts: Partial<ConstructorParameters<typeof FakeExoscale>[0]> = {}) => {
    fake = new FakeExoscale({ key: KEY, secret: SECRET, addresses: ['127.0.0.1'], ...opts });
    await fake.start();
    s = await tempStore();
  };
  afterEach(() => endFakeTest(fake, s, "Exoscale's OpenAPI description"));

  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    HOME: home,
    EXOSCALE_ENDPOINT: fake.url,
    MACHINE_EXOSCALE_POLL_MS: '100',
    ...extra,
  });
  const creds = ['--exoscale-api-key', KEY, '--exoscale-api-secret-key', SECRET];
  const create = (name: string, extra: string[] = [], e: NodeJS.ProcessEnv = {}) =>
    s.run(['create', '-d', 'exoscale', ...creds, ...extra, name], { env: env(e), timeoutMs: 120_000 });
  const empty = { keys: [], groups: [], aags: [], instances: [] };

  const badInput: [string, string[], RegExp][] = [
    [
      'no credentials',
      [],
      /missing an API key \(--exoscale-api-key\) or API secret key \(--exoscale-api-secret-key\)/,
    ],
    [
      'a wrong secret',
      ['--exoscale-api-secret-key', 'not-the-secret'],
      /Exoscale API: forbidden: invalid request signature \(HTTP 403\)/,
    ],
    [
      'an unknown zone',
      ['--exoscale-availability-zone', 'xx-nowhere-1'],
      /availability zone xx-nowhere-1 does not exist; zones: at-vie-1, at-vie-2, bg-sof-1, ch-dk-2, ch-gva-2, de-fra-1, de-muc-1/,
    ],
    [
      'an instance profile that is no name',
      ['--exoscale-instance-profile', 'Bogus'],
      /--exoscale-instance-profile Bogus: expected family.size \(standard.small\) or one of the original's names/,
    ],
    [
      'an instance type Exoscale lacks',
      ['--exoscale-instance-profile', 'standard.colossal'],
      /instance type standard.colossal does not exist; e.g. standard.micro, standard.tiny/,
    ],
    [
      'an instance type needing authorization',
      ['--exoscale-instance-profile', 'gpu3.small'],
      /instance type gpu3.small needs Exoscale's authorization for this organization/,
    ],
    [
      'an unknown template',
      ['--exoscale-image', 'Linux Ubuntu 16.04 LTS 64-bit'],
      /template 'Linux Ubuntu 16.04 LTS 64-bit' does not exist in zone ch-dk-2; give a template's name or id \(exo compute instance-template list\), e.g. 'Linux Ubuntu 24.04 LTS 64-bit' or 'Linux Ubuntu 22.04 LTS 64-bit' or 'Linux Debian 12 \(Bookworm\) 64-bit'/,
    ],
    ['a disk too small', ['--exoscale-disk-size', '5'], /--exoscale-disk-size 5: Exoscale takes 10 to 51200/],
    [
      "the original's retired v1 endpoint by another host",
      ['--exoscale-url', 'https://api.example.ch/compute'],
      /--exoscale-url https:\/\/api.example.ch\/compute is a v1 \(CloudStack\) endpoint, which Exoscale retired/,
    ],
    [
      'a missing SSH key',
      ['--exoscale-ssh-key', '/nonexistent/key'],
      /SSH key does not exist: \/nonexistent\/key/,
    ],
    [
      'a missing user-data file',
      ['--exoscale-userdata', '/nonexistent/ud'],
      /user-data file \/nonexistent\/ud could not be found/,
    ],
  ];
  for (const [what, flags, want] of badInput) {
    test(`${what}: one clear line, exit non-zero, nothing made`, async () => {
      await start();
      const r =
        what === 'no credentials'
          ? await s.run(['create', '-d', 'exoscale', 'm1'], { env: env(), timeoutMs: 60_000 })
          : await create('m1', flags);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, want);
      const errLines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^Running pre-create checks|^Creating CA|^Creating client/.test(l));
      assert.equal(errLines.length, 1, r.stderr);
      assert.deepEqual(fake.inventory(), empty);
      assert.ok(!fake.calls.some((c) => / (POST|PUT|DELETE) /.test(c)), 'no create call was sent');
      assert.equal(existsSync(join(s.dir, 'machines', 'm1')), false, 'no machine folder');
      assert.ok(!`${r.stderr}${r.stdout}`.includes(SECRET));
      if (what === 'a wrong secret') assert.deepEqual(fake.refused, ['invalid request signature']);
    });
  }

  test('--debug: every request is logged, its Authorization header and the secret never', async () => {
    await start();
    const r = await s.run(
      ['--debug', 'create', '-d', 'exoscale', ...creds, '--exoscale-image', 'nope', 'd1'],
      {
        env: env(),
        timeoutMs: 60_000,
      },
    );
    assert.equal(r.code, 3, r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(
      out,
      /GET http:\/\/127\.0\.0\.1:\d+\/ch-dk-2\/v2\/template\?visibility=public .*authorization=<REDACTED>/,
    );
    assert.ok(!out.includes(SECRET), 'the secret is in no line');
    assert.ok(!/EXO2-HMAC-SHA256|signature=/.test(out), 'no signature is in any line');
  });

  const killAt = async (at: RegExp | string, name: string, extra: string[] = [], remove = true) => {
    const { out, driver } = await killCreateAt(at, {
      storeDir: s.dir,
      args: ['create', '-d', 'exoscale', ...creds, ...extra, name],
      env: env(),
      made: onCreated(fake),
    });
    const ledger = ledgerOf(driver);
    const made = fake.inventory();
    if (!remove) return { ledger, made, driver, out, output: out };
    const r = await s.run(['rm', '-y', name], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    const kept = [...fake.groups.values()].filter((g) => g.description === 'made by hand').map((g) => g.name);
    assert.deepEqual(
      fake.inventory(),
      { ...empty, groups: kept },
      `after rm (made: ${JSON.stringify(made)})`,
    );
    assert.equal(existsSync(join(s.dir, 'machines', name)), false);
    return { ledger, made, driver, out: r.stdout, output: out };
  };

  test("a create in the zone's own endpoint: template, type, key, group with the original's rules, instance; rm deletes all of it", async () => {
    await start();
    const k = await killAt(/Instance address: 127\.0\.0\.1/, 'm1', [], false);
    assert.deepEqual(
      k.ledger.map((e) => e.kind),
      ['ssh_key', 'security_group', 'instance'],
    );
    assert.ok(k.ledger.every((e) => e.id !== ''));
    // Only the zone list went to --exoscale-url; everything else to ch-dk-2's api-endpoint.
    assert.deepEqual(
      fake.calls.filter((c) => c.startsWith('- ')),
      ['- GET /zone'],
    );
    assert.ok(fake.calls.filter((c) => !c.startsWith('- ')).every((c) => c.startsWith('ch-dk-2 ')));
    const body = fake.recorded.find((r) => r.kind === 'request' && r.op === 'POST /instance')?.body as Record<
      string,
      unknown
    >;
    // The newest "Linux Ubuntu 24.04 LTS 64-bit" (the fake lists two) and standard.small for "Small".
    assert.deepEqual(body.template, { id: '7d8f0c4e-0000-4000-8000-000000000000' });
    assert.deepEqual(body['instance-type'], { id: 'b6cd1ff5-0000-4000-8000-000000000002' });
    assert.equal(body['disk-size'], 50);
    assert.equal(
      Buffer.from(String(body['user-data']), 'base64').toString(),
      '#cloud-config\nmanage_etc_hosts: localhost\n',
    );
    assert.equal(k.driver.SSHUser, 'ubuntu');
    const group = [...fake.groups.values()][0];
    assert.equal(group.name, 'docker-machine');
    assert.deepEqual(
      group.rules.map(
        (r) => `${r.protocol}:${r['start-port'] ?? ''}-${r['end-port'] ?? ''}:${r.network ?? 'group'}`,
      ),
      [
        'tcp:22-22:0.0.0.0/0',
        'icmp:-:0.0.0.0/0',
        'tcp:2376-2377:0.0.0.0/0',
        'tcp:3376-3377:0.0.0.0/0',
        'tcp:7946-7946:group',
        'udp:7946-7946:group',
        'udp:4789-4789:group',
      ],
    );
    // The secret stays in config.json (0600) and out of inspect.
    const inspect = await s.run(['inspect', 'm1'], { env: env() });
    assert.match(inspect.stdout, /"APISecretKey": "\\u003cREDACTED\\u003e"/);
    assert.ok(!inspect.stdout.includes(SECRET));
    const r = await s.run(['rm', '-y', 'm1'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Deleted instance m1 \([0-9a-f-]{36}\)[\s\S]*Deleted security group docker-machine[\s\S]*Deleted SSH key docker-machine-m1-/,
    );
    assert.deepEqual(fake.inventory(), empty);
  });

  test('a security group that existed is used and kept; one that another machine uses is left; an anti-affinity group made is deleted', async () => {
    await start();
    const mineId = fake.addSecurityGroup('docker-machine');
    const a = await killAt(/Instance address: /, 'a1', ['--exoscale-affinity-group', 'spread'], false);
    assert.deepEqual(
      a.ledger.map((e) => e.kind),
      ['ssh_key', 'anti_affinity_group', 'instance'],
    );
    const body = fake.recorded.find((r) => r.kind === 'request' && r.op === 'POST /instance')?.body as Record<
      string,
      unknown
    >;
    assert.deepEqual(body['security-groups'], [{ id: mineId }]);
    // b1 makes its own group "shared"; b2 uses it; rm b1 leaves it, rm b2 does not delete it (not its).
    await killAt(/Instance address: /, 'b1', ['--exoscale-security-group', 'shared'], false);
    await killAt(/Instance address: /, 'b2', ['--exoscale-security-group', 'shared'], false);
    const rb1 = await s.run(['rm', '-y', 'b1'], { env: env() });
    assert.equal(rb1.code, 0, rb1.stderr);
    assert.match(rb1.stdout, /Left security group shared \([0-9a-f-]{36}\): other instances use it \(b2\)/);
    for (const n of ['a1', 'b2']) {
      const r = await s.run(['rm', '-y', n], { env: env() });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual(fake.inventory(), { ...empty, groups: ['docker-machine', 'shared'] });
  });

  test('an SSH-only machine makes its group without 2376; a tcp machine that joins that group adds the engine rule', async () => {
    await start();
    const tcpOpen = (name: string) =>
      [...fake.groups.values()]
        .find((g) => g.name === name)
        ?.rules.filter((r) => r.network === '0.0.0.0/0' && r.protocol === 'tcp')
        .map((r) => `${r['start-port']}-${r['end-port']}`);
    await killAt(
      /Instance address: /,
      's1',
      ['--engine-endpoint', 'ssh', '--exoscale-security-group', 'mixed'],
      false,
    );
    assert.deepEqual(tcpOpen('mixed'), ['22-22', '2377-2377', '3376-3377']);
    // Another SSH-only machine leaves the group as it is.
    await killAt(
      /Instance address: /,
      's2',
      ['--engine-endpoint', 'ssh', '--exoscale-security-group', 'mixed'],
      false,
    );
    assert.deepEqual(tcpOpen('mixed'), ['22-22', '2377-2377', '3376-3377']);
    const t = await killAt(/Instance address: /, 't1', ['--exoscale-security-group', 'mixed'], false);
    assert.match(t.out, /Adding the engine's port 2376 to security group mixed/);
    assert.deepEqual(tcpOpen('mixed'), ['22-22', '2377-2377', '3376-3377', '2376-2376']);
    // A group someone made by hand is theirs: a tcp machine uses it as it is, as the original did.
    fake.addSecurityGroup('by-hand');
    const h = await killAt(/Instance address: /, 'h1', ['--exoscale-security-group', 'by-hand'], false);
    assert.doesNotMatch(h.out, /Adding the engine's port/);
    assert.deepEqual(tcpOpen('by-hand'), []);
    for (const n of ['s1', 's2', 't1', 'h1']) {
      const r = await s.run(['rm', '-y', n], { env: env() });
      assert.equal(r.code, 0, r.stderr);
    }
  });

  test('--exoscale-ssh-key: the key is given to cloud-init, nothing is registered; --exoscale-userdata is sent', async () => {
    await start();
    const { generateSSHKeyPair } = await import('../../src/ssh/keys.js');
    const keyPath = join(home, 'my_key');
    await rm(keyPath, { force: true });
    const { publicLine } = await generateSSHKeyPair(keyPath);
    const ud = join(home, 'ud.yaml');
    await writeFile(ud, '#cloud-config\npackages: [htop]\n');
    const k = await killAt(/Instance address: /, 'u1', [
      '--exoscale-ssh-key',
      keyPath,
      '--exoscale-userdata',
      ud,
    ]);
    assert.deepEqual(
      k.ledger.map((e) => e.kind),
      ['security_group', 'instance'],
    );
    const body = fake.recorded.find((r) => r.kind === 'request' && r.op === 'POST /instance')?.body as Record<
      string,
      unknown
    >;
    assert.equal(body['ssh-keys'], undefined);
    assert.equal(
      Buffer.from(String(body['user-data']), 'base64').toString(),
      `#cloud-config\npackages: [htop]\nssh_authorized_keys:\n  - ${JSON.stringify(publicLine.trim())}\n`,
    );
  });

  test('kill -9 at each create step, then rm -y: nothing this machine made is left, a group that existed is kept', async () => {
    // Each create's answer is held 500 ms after the fake made the resource: the kill lands there.
    await start({ holdCreateMs: 500 });
    fake.addSecurityGroup('by-hand');
    const extra = ['--exoscale-security-group', 'by-hand', '--exoscale-security-group', 'docker-machine'];
    const aag = ['--exoscale-affinity-group', 'spread'];
    await killAt(/Creating SSH key\.\.\./, 'k1', extra);
    await killAt(/Creating firewall\.\.\./, 'k2', extra);
    await killAt(/Creating security group docker-machine\.\.\./, 'k3', extra);
    await killAt(/Creating anti-affinity group spread\.\.\./, 'k4', [...extra, ...aag]);
    await killAt(/Creating instance\.\.\./, 'k5', [...extra, ...aag]);
    const waiting = await killAt(/Waiting for instance k6 \(id [0-9a-f-]{36}\) to be running/, 'k6', extra);
    assert.ok(
      waiting.ledger.every((e) => e.id !== ''),
      'every id was saved before the wait',
    );
    const address = await killAt(/Instance address: 127\.0\.0\.1/, 'k7', [...extra, ...aag]);
    assert.equal(address.made.instances.length, 1);

    // After Exoscale made the resource, before its answer arrived: rm finds it by name or label.
    const key = await killAt('ssh_key', 'k8', extra);
    assert.equal(key.ledger.find((e) => e.kind === 'ssh_key')?.id, '');
    assert.match(key.out, /Deleted SSH key docker-machine-k8-[0-9a-f]+/);
    const sg = await killAt('security_group', 'k9', extra);
    assert.equal(sg.ledger.find((e) => e.kind === 'security_group')?.id, '');
    assert.match(sg.out, /Deleted security group docker-machine \([0-9a-f-]{36}\)/);
    const group = await killAt('anti_affinity_group', 'k10', [...extra, ...aag]);
    assert.match(group.out, /Deleted anti-affinity group spread \([0-9a-f-]{36}\)/);
    const inst = await killAt('instance', 'k11', extra);
    assert.equal(inst.ledger.find((e) => e.kind === 'instance')?.id, '');
    assert.match(inst.out, /Deleted instance k11 \([0-9a-f-]{36}\)/);
    assert.deepEqual(fake.inventory(), { ...empty, groups: ['by-hand'] });
  });
});
