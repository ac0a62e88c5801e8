import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateSSHKeyPair } from '../../src/ssh/keys.js';
import { FakeExoscale } from '../fakes/exoscale/fake.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { binPath, type CliStore, runProcess, tempStore } from '../helpers/cli.js';
import {
  type HostEngine,
  hostRootfs,
  importHostImage,
  startHostEngine,
  startTestHost,
  type TestHost,
  testHostsAvailable,
} from '../helpers/testhost.js';

/**
 * A whole machine life on the exoscale driver: the fake v2 API hands out the address of a real
 * Debian host (systemd, sshd, Docker) of the test's own, on a network of the test's own engine,
 * reached at its own address on ports 22 and 2376 as an instance is; the instance's start and stop
 * operations start and stop that host.
 */
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';
const KEY = 'EXOhosttest0123456789';
const SECRET = 'exo-host-secret-0123456789';

/** A /24 in 10.200-249.x.0 that no route of this computer covers yet. */
function freeSubnet(): string {
  const routes = execFileSync('ip', ['-4', 'route'], { encoding: 'utf8' });
  for (let i = 0; i < 50; i++) {
    const cidr = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
    if (!routes.includes(`${cidr}.`)) return cidr;
  }
  throw new Error('no free 10.2xx.y.0/24 for the test network');
}

describe('create -d exoscale with a real host behind the fake API', {
  skip,
  timeout: 15 * 60_000,
}, () => {
  let engine: HostEngine;
  let host: TestHost;
  let fake: FakeExoscale;
  let s: CliStore;
  let work: string;
  let ip: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'dm-exohost-'));
    const tarball = await hostRootfs({ withDocker: true }, (l) => process.stderr.write(`${l}\n`));
    engine = await startHostEngine();
    const image = await importHostImage(engine, tarball, 'dm-testhost:docker');
    const prefix = freeSubnet();
    await engine.docker([
      'network',
      'create',
      '--subnet',
      `${prefix}.0/24`,
      '--gateway',
      `${prefix}.1`,
      '--ip-range',
      `${prefix}.128/25`,
      'exonet',
    ]);
    ip = `${prefix}.4`;
    // The host's own key: none of the driver's, which it authorises when the instance is made.
    const { publicLine } = await generateSSHKeyPair(join(work, 'unused_key'));
    host = await startTestHost(engine, image, { authorizedKey: publicLine, network: { name: 'exonet', ip } });
    fake = new FakeExoscale({
      key: KEY,
      secret: SECRET,
      addresses: [ip],
      // cloud-init's part: the instance's registered keys in the login user's authorized keys.
      onCreate: async (_id, keys) => {
        await host.exec(
          `mkdir -p /root/.ssh && printf '%s\\n' ${keys.map((k) => `'${k}'`).join(' ')} >> /root/.ssh/authorized_keys2`,
        );
      },
      onPower: async (_id, on) => {
        await engine.docker(on ? ['start', host.id] : ['stop', '-t', '20', host.id]);
      },
    });
    await fake.start();
    s = await tempStore();
  });

  after(async () => {
    await fake?.stop();
    await host?.stop();
    await engine?.stop();
    await s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const env = () => ({
    HOME: work,
    EXOSCALE_API_KEY: KEY,
    EXOSCALE_API_SECRET: SECRET,
    EXOSCALE_ENDPOINT: fake.url,
    MACHINE_EXOSCALE_POLL_MS: '200',
    DOCKER_CONFIG: join(work, 'docker-config'),
  });
  const run = (args: string[], timeoutMs = 300_000) => s.run(args, { env: env(), timeoutMs });
  const withEnv = (script: string) =>
    runProcess('bash', ['-c', `eval "$("${process.execPath}" "${binPath}" env ex1)" && ${script}`], {
      env: { MACHINE_STORAGE_PATH: s.dir, ...env() },
      timeoutMs: 120_000,
    });

  test('create: key, security group, instance, its operation and state, address, then SSH and provisioning', async () => {
    const r = await run([
      'create',
      '-d',
      'exoscale',
      '--exoscale-ssh-user',
      'root',
      '--exoscale-availability-zone',
      'de-fra-1',
      'ex1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(
      out,
      /\(ex1\) Creating SSH key\.\.\.[\s\S]*\(ex1\) Creating security group docker-machine\.\.\.[\s\S]*\(ex1\) Creating instance\.\.\.[\s\S]*\(ex1\) Waiting for instance ex1 \(id [0-9a-f-]{36}\): creating[\s\S]*\(ex1\) Instance ex1 \(id [0-9a-f-]{36}\) is running[\s\S]*\(ex1\) Instance address: 10\.[\s\S]*Docker is up and running!/,
    );
    assert.ok(out.includes(`Instance address: ${ip}`));
    assert.equal(fake.keys.size, 1);
    assert.ok(fake.calls.filter((c) => !c.startsWith('- ')).every((c) => c.startsWith('de-fra-1 ')));
  });

  test('env, then docker run through TLS on the instance; ls', async () => {
    const r = await withEnv(
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never --rm busybox echo hello`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
    const ls = await run(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}} {{.URL}}']);
    assert.equal(ls.stdout.trim(), `ex1 exoscale Running tcp://${ip}:2376`);
  });

  test('stop stops the instance (its operation waited for), start starts it and waits for Docker', async () => {
    const stop = await run(['stop', 'ex1']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await run(['status', 'ex1'])).stdout.trim(), 'Stopped');
    const start = await run(['start', 'ex1']);
    assert.equal(start.code, 0, start.stderr);
    assert.equal((await run(['status', 'ex1'])).stdout.trim(), 'Running');
    const r = await withEnv('docker run --pull=never --rm busybox echo again');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'again\n');
    assert.ok(fake.calls.includes('de-fra-1 PUT /instance/{id}:stop'));
    assert.ok(fake.calls.includes('de-fra-1 PUT /instance/{id}:start'));
  });

  test('rm deletes the instance, the group and the key it made, and nothing else', async () => {
    const r = await run(['rm', '-y', 'ex1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Deleted instance ex1 \([0-9a-f-]{36}\)[\s\S]*Deleted security group docker-machine[\s\S]*Deleted SSH key docker-machine-ex1-[0-9a-f]+[\s\S]*Successfully removed ex1/,
    );
    assert.deepEqual(fake.inventory(), { keys: [], groups: [], aags: [], instances: [] });
    assert.deepEqual(await fake.validate(), []);
  });
});
