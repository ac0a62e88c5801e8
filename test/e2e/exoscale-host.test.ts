import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakeExoscale } from '../fakes/exoscale/fake.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { type CloudHost, cloudCli, startCloudHost } from '../helpers/cloud-host.js';
import { testHostsAvailable } from '../helpers/testhost.js';

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

describe('create -d exoscale with a real host behind the fake API', {
  skip,
  timeout: 15 * 60_000,
}, () => {
  let rig: CloudHost;
  let fake: FakeExoscale;
  let s: CliStore;
  let ip: string;

  before(async () => {
    rig = await startCloudHost({ name: 'exohost', at: 'own-address', lastOctet: 4 });
    ip = rig.address;
    fake = new FakeExoscale({
      key: KEY,
      secret: SECRET,
      addresses: [ip],
      // cloud-init's part: the instance's registered keys in the login user's authorized keys.
      onCreate: (_id, keys) => rig.authorizeRoot(keys),
      onPower: (_id, on) => rig.power(on),
    });
    await fake.start();
    s = await tempStore();
  });

  after(async () => {
    await fake?.stop();
    await rig?.stop();
    await s?.cleanup();
  });

  const env = () => ({
    HOME: rig.work,
    EXOSCALE_API_KEY: KEY,
    EXOSCALE_API_SECRET: SECRET,
    EXOSCALE_ENDPOINT: fake.url,
    MACHINE_EXOSCALE_POLL_MS: '200',
    DOCKER_CONFIG: join(rig.work, 'docker-config'),
  });
  const { run, withEnv } = cloudCli(() => s, env, 'ex1');

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
