import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { ledgerOf } from '../../src/drivers/cloud/ledger.js';
import { unauthorized } from '../fakes/openstack/errors.js';
import { FakeOpenStack } from '../fakes/openstack/fake.js';
import type { Mutation } from '../fakes/openstack/types.js';
import { binPath, type CliStore, cleanEnv, tempStore } from '../helpers/cli.js';

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
  async function runUntil(name: string, argv: string[], at: RegExp) {
    const child = spawn(process.execPath, [binPath, ...argv], {
      env: cleanEnv({ MACHINE_STORAGE_PATH: s.dir, ...env() }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const seen = await new Promise<boolean>((resolve) => {
      const onData = (d: Buffer) => {
        out += d;
        if (at.test(out)) {
          child.kill('SIGKILL');
          resolve(true);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      const bound = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(false);
      }, 90_000);
      child.on('exit', () => {
        clearTimeout(bound);
        resolve(false);
      });
    });
    await new Promise((r) =>
      child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('exit', r),
    );
    assert.ok(seen, `the command reached ${at} (output: ${out})`);
    const cfg = join(s.dir, 'machines', name, 'config.json');
    const driver = existsSync(cfg) ? JSON.parse(await readFile(cfg, 'utf8')).Driver : {};
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
      /requires authentication; GET \/\S+\/servers\/\S+ was refused again with credentials renewed just before/,
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
});
