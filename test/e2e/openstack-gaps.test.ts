import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { ledgerOf } from '../../src/drivers/cloud/ledger.js';
import { unauthorized } from '../fakes/openstack/errors.js';
import { FakeOpenStack } from '../fakes/openstack/fake.js';
import type { Mutation } from '../fakes/openstack/types.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { killCreateAt, onCreated } from '../helpers/kill-at.js';

/**
 * The openstack driver against the stateful fake, for what a command meets after its start: a
 * token that expires in the middle, a reboot, nova-network's floating IPs, existing volumes. No
 * test host answers SSH here, so a create is ended (SIGKILL) once it printed the address.
 */
const NAMES = [
  '--openstack-username',
  'demo',
  '--openstack-password',
  'secret',
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

describe('openstack driver: mid-command events against the fake', { timeout: 10 * 60_000 }, () => {
  let fake: FakeOpenStack;
  let s: CliStore;
  let home: string;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'dm-osg-home-'));
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
    await fake.start();
    s = await tempStore();
  };
  afterEach(async () => {
    const problems = fake?.checkSamples() ?? [];
    await fake?.close();
    await s?.cleanup();
    assert.deepEqual(problems, []);
  });
  const env = () => ({ HOME: home, OS_AUTH_URL: fake.authUrl, MACHINE_OPENSTACK_POLL_MS: '100' });
  const run = (argv: string[]) => s.run(argv, { env: env(), timeoutMs: 60_000 });
  const tokensIssued = () =>
    fake.requests.filter((r) => r.method === 'POST' && /\/v3\/auth\/tokens$/.test(r.url.split('?')[0]))
      .length;
  const refused = () => fake.requests.filter((r) => r.status === 401 && r.service !== 'identity');

  /** A command ended by SIGKILL once its output matches `at`; the machine's driver JSON after it. */
  async function runUntil(_name: string, argv: string[], at: RegExp | string) {
    const { out, driver } = await killCreateAt(at, {
      storeDir: s.dir,
      args: argv,
      env: env(),
      made: onCreated(fake),
      timeoutMs: 90_000,
      settleMs: 0,
    });
    return { out, driver, ledger: ledgerOf(driver) };
  }
  const create = (name: string, args: string[]) =>
    runUntil(name, ['create', '-d', 'openstack', ...NAMES, ...args, name], /Server address: 127\.0\.0\.1/);
  const removeAll = async (name: string, keep: Partial<ReturnType<FakeOpenStack['inventory']>> = {}) => {
    const r = await run(['rm', '-y', name]);
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

  test('a token that expires mid-command: authenticated again once, the request sent again; twice refused is one line', async () => {
    // Expiry lands as Nova commits the server (create) and as it takes a power action (stop,
    // start): every later request of that command carries the dead token first.
    let expireOn: RegExp | undefined = /\/servers$/;
    await start({
      hold: async (m: Mutation) => {
        if (expireOn?.test(m.path) && m.method === 'POST') fake.expireTokens();
      },
    });
    const k = await create('t1', SERVER);
    assert.equal(tokensIssued(), 2, 'one token at the start, one after the 401');
    assert.ok(refused().length >= 1, 'a request was refused with the expired token');
    assert.equal(k.ledger.find((e) => e.kind === 'server')?.id, k.driver.MachineId);

    expireOn = /\/action$/;
    let before = tokensIssued();
    const stop = await run(['stop', 't1']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(tokensIssued(), before + 2, 'stop: its own token and one renewal');
    assert.equal((await run(['status', 't1'])).stdout.trim(), 'Stopped');
    before = tokensIssued();
    await runUntil('t1', ['start', 't1'], /Machine "t1" was started/);
    assert.equal(tokensIssued(), before + 2, 'start: its own token and one renewal');
    assert.equal((await run(['status', 't1'])).stdout.trim(), 'Running');

    // Refused again with the new token: one line naming the request, and no third try.
    expireOn = undefined;
    const id = k.driver.MachineId as string;
    fake.failNext('GET', new RegExp(`/servers/${id}$`), unauthorized(fake.authUrl));
    fake.failNext('GET', new RegExp(`/servers/${id}$`), unauthorized(fake.authUrl));
    before = tokensIssued();
    const st = await run(['status', 't1']);
    assert.notEqual(st.code, 0);
    assert.equal(st.stderr.trim().split('\n').length, 1, st.stderr);
    assert.match(
      st.stderr,
      /requires authentication\. \(HTTP 401\); GET \/\S+\/servers\/\S+ was refused again with credentials renewed just before: check the OpenStack credentials/,
    );
    assert.equal(tokensIssued(), before + 2);
    await removeAll('t1');
  });

  test('restart: a soft reboot, waited for until ACTIVE with no task, within --openstack-active-timeout', async () => {
    const reboots: number[] = [];
    await start({
      actionPolls: 3,
      onAction: async (_id, action) => {
        if (action === 'reboot') reboots.push(Date.now());
      },
    });
    const k = await create('r1', [...SERVER, '--openstack-active-timeout', '3']);
    const id = k.driver.MachineId as string;
    // The engine is not there (no test host behind the fake): the wait for it ends the command,
    // after the driver's part, which is what is checked.
    const r = await run(['restart', '--wait-timeout', '2', 'r1']);
    const action = fake.requests.findIndex(
      (x) => x.method === 'POST' && x.url.endsWith(`/servers/${id}/action`),
    );
    assert.ok(action >= 0, r.stderr);
    assert.deepEqual((fake.requests[action] as unknown as { body: unknown }).body, {
      reboot: { type: 'SOFT' },
    });
    assert.equal(reboots.length, 1, 'the reboot completed (a GET saw it done)');
    const polls = fake.requests
      .slice(action + 1)
      .filter((x) => x.method === 'GET' && x.url.split('?')[0].endsWith(`/servers/${id}`));
    assert.ok(polls.length >= 3, `the server was polled through its REBOOT (${polls.length} GETs)`);
    assert.doesNotMatch(r.stderr, /restart of server/);
    assert.match(r.stderr, /^Waited 2 s for SSH on root@127\.0\.0\.1:22/, r.stderr);
    assert.equal((await run(['status', 'r1'])).stdout.trim(), 'Running');

    // A reboot that never ends: one line naming the bound, once it has passed.
    fake.opts.actionPolls = 1_000_000;
    const t0 = Date.now();
    const stuck = await run(['restart', 'r1']);
    assert.notEqual(stuck.code, 0);
    assert.match(
      stuck.stderr,
      /restart of server r1 \(id \S+\): still REBOOT after 3 s \(--openstack-active-timeout\)/,
    );
    assert.equal(stuck.stderr.trim().split('\n').length, 1, stuck.stderr);
    assert.ok(Date.now() - t0 < 20_000);
    fake.opts.actionPolls = 0;
    await removeAll('r1');
  });

  test("nova-network floating IPs (no Neutron in the catalog): allocated, associated with Nova's addFloatingIp, released by rm", async () => {
    await start({ services: ['identity', 'compute', 'image'], floatingAddresses: ['127.0.0.9'] });
    const args = [
      '--openstack-flavor-name',
      'm1.small',
      '--openstack-image-name',
      'debian-12',
      '--openstack-net-id',
      '3a7b5c9d-1e2f-4a6b-8c0d-2e4f6a8b0c1d',
      '--openstack-floatingip-pool',
      'public',
    ];
    const k = await runUntil(
      'n1',
      ['create', '-d', 'openstack', ...NAMES, ...args, 'n1'],
      /Server address: 127\.0\.0\.9/,
    );
    assert.match(k.out, /Floating IP 127\.0\.0\.9 allocated from public/);
    assert.deepEqual(
      k.ledger.map((e) => e.kind),
      ['keypair', 'server', 'nova_floating_ip'],
    );
    assert.equal(k.driver.ComputeNetwork, true);
    const id = k.driver.MachineId as string;
    const add = fake.requests.find((r) => r.method === 'POST' && r.url.endsWith(`/servers/${id}/action`));
    assert.deepEqual((add as unknown as { body: unknown }).body, {
      addFloatingIp: { address: '127.0.0.9' },
    });
    assert.equal(add?.status, 202);
    // Nova's own view: the address is the server's.
    const f = [...fake.floatingIps.values()][0];
    assert.equal(f.address, '127.0.0.9');
    assert.ok(f.portId, 'associated with a port of the server');
    assert.equal(fake.requests.filter((r) => r.service === 'network').length, 0, 'Neutron never asked');
    const r = await removeAll('n1');
    assert.match(r.stdout, /Deleted floating IP from public/);

    // One already free in the pool is reused, and stays in the pool after rm; the server on the
    // project's only network, none named.
    const mine = fake.addFloatingIp({ pool: 'public' });
    const again = await runUntil(
      'n2',
      ['create', '-d', 'openstack', ...NAMES, ...args.slice(0, 4), ...args.slice(6), 'n2'],
      new RegExp(`Server address: ${mine.address.replace(/\./g, '\\.')}`),
    );
    assert.match(again.out, /reused from public/);
    assert.ok(!again.ledger.some((e) => e.kind === 'nova_floating_ip'));
    await removeAll('n2', { floatingIps: [mine.address] });
  });

  test("Rancher's volume flags: boot from an existing volume by name or id (kept by rm), a new named one (removed), the device path", async () => {
    await start();
    const DEBIAN = 'b1e2d3c4-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
    const serverPost = () =>
      (
        fake.requests.findLast(
          (r) => r.method === 'POST' && /\/servers$/.test(r.url.split('?')[0]),
        ) as unknown as {
          body: { server: Record<string, unknown> };
        }
      ).body.server;
    const mine = fake.addVolume({ name: 'boot-disk', size: 10, imageId: DEBIAN });

    // By name, without --openstack-boot-from-volume: the existing volume, at the device asked for.
    const a = await create('v1', [
      ...SERVER,
      '--openstack-volume-name',
      'boot-disk',
      '--openstack-volume-device-path',
      '/dev/vdb',
    ]);
    let body = serverPost();
    assert.equal(body.imageRef, undefined);
    assert.deepEqual(body.block_device_mapping_v2, [
      {
        boot_index: 0,
        uuid: mine.id,
        source_type: 'volume',
        destination_type: 'volume',
        delete_on_termination: false,
        device_name: '/dev/vdb',
      },
    ]);
    assert.equal(mine.attachedTo, a.driver.MachineId);
    assert.equal(mine.device, '/dev/vdb');
    assert.ok(!a.ledger.some((e) => e.kind === 'volume'), 'not this machine to delete');
    await removeAll('v1', { volumes: ['boot-disk'] });
    assert.equal(mine.status, 'available');

    // By id: the same, and rm leaves it again.
    const b = await create('v2', [...SERVER, '--openstack-volume-id', mine.id]);
    body = serverPost();
    assert.deepEqual(body.block_device_mapping_v2, [
      {
        boot_index: 0,
        uuid: mine.id,
        source_type: 'volume',
        destination_type: 'volume',
        delete_on_termination: false,
      },
    ]);
    assert.equal(mine.attachedTo, b.driver.MachineId);
    await removeAll('v2', { volumes: ['boot-disk'] });

    // A new volume with a name: made by Cinder from the image at the flavor's disk size (20 GB),
    // in the ledger before the server, deleted with it.
    const c = await create('v3', [
      ...SERVER,
      '--openstack-boot-from-volume',
      '--openstack-volume-name',
      'v3-root',
      '--openstack-volume-device-path',
      '/dev/vda',
    ]);
    assert.deepEqual(
      c.ledger.map((e) => e.kind),
      ['keypair', 'security_group', 'volume', 'server'],
    );
    const made = [...fake.volumes.values()].find((v) => v.name === 'v3-root');
    assert.ok(made);
    assert.equal(made.size, 20);
    assert.equal(made.imageId, DEBIAN);
    assert.equal(made.attachedTo, c.driver.MachineId);
    body = serverPost();
    assert.deepEqual(body.block_device_mapping_v2, [
      {
        boot_index: 0,
        uuid: made.id,
        source_type: 'volume',
        destination_type: 'volume',
        delete_on_termination: true,
        device_name: '/dev/vda',
      },
    ]);
    await removeAll('v3', { volumes: ['boot-disk'] });

    // --openstack-boot-from-volume alone: Nova needs the new volume's size; the flavor's disk gives it.
    await create('v4', [...SERVER, '--openstack-boot-from-volume']);
    assert.equal((serverPost().block_device_mapping_v2 as { volume_size?: number }[])[0].volume_size, 20);
    await removeAll('v4', { volumes: ['boot-disk'] });

    // Bad input: one line each, nothing made.
    const before = fake.requests.filter((r) => r.method !== 'GET' && r.service !== 'identity').length;
    const bad: [string[], RegExp][] = [
      [
        ['--openstack-volume-id', '0f0e0d0c-0b0a-4908-8706-050403020100'],
        /volume 0f0e\S+ \(--openstack-volume-id\) does not exist"?$/,
      ],
      [['--openstack-volume-name', 'nope'], /volume nope \(--openstack-volume-name\) does not exist"?$/],
      [
        ['--openstack-boot-from-volume', '--openstack-volume-name', 'boot-disk'],
        /a volume named boot-disk exists already: leave out --openstack-boot-from-volume/,
      ],
      [
        ['--openstack-volume-id', mine.id, '--openstack-volume-size', '5'],
        /--openstack-volume-size and --openstack-volume-type are for a new volume/,
      ],
      [['--openstack-volume-device-path', '/dev/vdb'], /--openstack-volume-device-path needs a boot volume/],
      [
        ['--openstack-volume-id', mine.id, '--openstack-volume-device-path', 'vdb'],
        /--openstack-volume-device-path vdb: give a device such as \/dev\/vda"?$/,
      ],
    ];
    for (const [extra, want] of bad) {
      const r = await run(['create', '-d', 'openstack', ...NAMES, ...SERVER, ...extra, 'vbad']);
      assert.notEqual(r.code, 0);
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^Running pre-create checks|^Creating CA|^Creating client/.test(l));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], want);
      assert.equal(existsSync(join(s.dir, 'machines', 'vbad')), false);
    }
    assert.equal(fake.requests.filter((r) => r.method !== 'GET' && r.service !== 'identity').length, before);
  });

  test('kill -9 as Cinder makes the named boot volume, then rm -y: the volume is found by its name and deleted', async () => {
    // The answer is held, so the kill lands after Cinder made it and before the id is recorded.
    await start({ holdMs: 500 });
    const k = await runUntil(
      'k1',
      [
        'create',
        '-d',
        'openstack',
        ...NAMES,
        ...SERVER,
        '--openstack-boot-from-volume',
        '--openstack-volume-name',
        'k1-root',
        'k1',
      ],
      'volume',
    );
    const entry = k.ledger.find((e) => e.kind === 'volume');
    assert.ok(entry, 'the volume was recorded before it was asked for');
    assert.equal(entry.id, '', 'its id never reached the store');
    assert.deepEqual(fake.inventory().volumes, ['k1-root']);
    const r = await removeAll('k1');
    assert.match(r.stdout, /volume k1-root/);
  });
});
