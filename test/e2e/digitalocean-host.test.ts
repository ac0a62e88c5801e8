import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakeDigitalOcean } from '../fakes/digitalocean/fake.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { type CloudHost, cloudCli, startCloudHost } from '../helpers/cloud-host.js';
import { type TestHost, testHostsAvailable } from '../helpers/testhost.js';

/**
 * A whole machine life on the digitalocean driver: the fake API hands out the address of a real
 * Debian host (systemd, sshd, Docker) of the test's own, reached through ports published on
 * 127.0.0.1; the droplet's power actions stop and start that host.
 */
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';
const TOKEN = 'dop_v1_hosttest0123456789';

describe('create -d digitalocean with a real host behind the fake API', {
  skip,
  timeout: 15 * 60_000,
}, () => {
  let rig: CloudHost;
  let host: TestHost;
  let fake: FakeDigitalOcean;
  let s: CliStore;

  before(async () => {
    rig = await startCloudHost({ name: 'dohost', at: 'loopback' });
    host = rig.host;
    fake = new FakeDigitalOcean({
      token: TOKEN,
      addresses: [rig.address],
      pollsToActive: 2,
      // cloud-init's part: the droplet's keys in root's authorized keys.
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
    DIGITALOCEAN_ACCESS_TOKEN: TOKEN,
    DIGITALOCEAN_API_URL: fake.url,
    DOCKER_CONFIG: join(rig.work, 'docker-config'),
  });
  const { run, withEnv } = cloudCli(() => s, env, 'do1');

  test('create: key, droplet, wait until active, address, then SSH and provisioning', async () => {
    const r = await run([
      'create',
      '-d',
      'digitalocean',
      '--digitalocean-ssh-port',
      String(host.sshPort),
      '--digitalocean-engine-port',
      String(host.ports[0]),
      '--digitalocean-tags',
      'team-a,env-test',
      '--digitalocean-ipv6',
      '--digitalocean-monitoring',
      'do1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(
      out,
      /\(do1\) Creating SSH key\.\.\.[\s\S]*\(do1\) Creating droplet\.\.\.[\s\S]*\(do1\) Waiting for droplet do1 \(id \d+\) to be running\.\.\.[\s\S]*\(do1\) Droplet do1 \(id \d+\) is active \(after \d+ s\)[\s\S]*\(do1\) Droplet address: 127\.0\.0\.1[\s\S]*Docker is up and running!/,
    );
    const [d] = fake.droplets.values();
    assert.deepEqual(d.droplet.tags.slice(0, 2), ['team-a', 'env-test']);
    assert.deepEqual(d.droplet.features, ['ipv6', 'monitoring']);
    assert.equal(fake.keys.size, 1);
  });

  test('env, then docker run through TLS on the droplet', async () => {
    const r = await withEnv(
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --rm busybox echo hello`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
    const ls = await run(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}} {{.URL}}']);
    assert.equal(ls.stdout.trim(), `do1 digitalocean Running tcp://127.0.0.1:${host.ports[0]}`);
  });

  test('stop powers the droplet off (shutdown), start powers it on and waits for Docker', async () => {
    const stop = await run(['stop', 'do1']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await run(['status', 'do1'])).stdout.trim(), 'Stopped');
    assert.equal([...fake.droplets.values()][0].droplet.status, 'off');
    const start = await run(['start', 'do1']);
    assert.equal(start.code, 0, start.stderr);
    assert.equal((await run(['status', 'do1'])).stdout.trim(), 'Running');
    const r = await withEnv('docker run --rm busybox echo again');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'again\n');
  });

  test('restart reboots the droplet and waits for Docker; kill powers it off', async () => {
    const restart = await run(['restart', 'do1']);
    assert.equal(restart.code, 0, restart.stderr);
    const r = await withEnv('docker run --rm busybox echo rebooted');
    assert.equal(r.stdout, 'rebooted\n', r.stderr);
    const kill = await run(['kill', 'do1']);
    assert.equal(kill.code, 0, kill.stderr);
    assert.equal((await run(['status', 'do1'])).stdout.trim(), 'Stopped');
    const types = fake.recorded
      .filter((x) => x.kind === 'request' && x.op.endsWith('dropletActions_post.yml'))
      .map((x) => (x.body as { type: string }).type);
    assert.deepEqual(types, ['shutdown', 'power_on', 'reboot', 'power_off']);
  });

  test('rm deletes the droplet, its tag and the account key it added, and nothing of the user', async () => {
    const r = await run(['rm', '-y', 'do1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Deleted droplet do1 \(\d+\)[\s\S]*Deleted tag docker-machine-[0-9a-f]+[\s\S]*Deleted SSH key do1 \(\d+\)[\s\S]*Successfully removed do1/,
    );
    const inv = fake.inventory();
    assert.deepEqual(inv.droplets, []);
    assert.deepEqual(inv.keys, []);
    // The user's tags are the user's.
    assert.deepEqual(inv.tags.sort(), ['env-test', 'team-a']);
    assert.deepEqual(await fake.validate(), []);
  });
});
