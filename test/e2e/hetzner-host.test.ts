import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakeHetzner } from '../fakes/hetzner/fake.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { type CliStore, runProcess, tempStore } from '../helpers/cli.js';
import { type CloudHost, cloudCli, startCloudHost } from '../helpers/cloud-host.js';
import { type TestHost, testHostsAvailable } from '../helpers/testhost.js';

/**
 * A whole machine life on the hetzner driver: the fake API hands out the address of a real Debian
 * host (systemd, sshd, Docker) of the test's own, reached through ports published on 127.0.0.1;
 * the server's power actions stop and start that host.
 */
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';
const TOKEN = 'hz-hosttest-0123456789';

describe('create -d hetzner with a real host behind the fake API', {
  skip,
  timeout: 15 * 60_000,
}, () => {
  let rig: CloudHost;
  let host: TestHost;
  let fake: FakeHetzner;
  let s: CliStore;

  before(async () => {
    rig = await startCloudHost({ name: 'hzhost', at: 'loopback' });
    host = rig.host;
    fake = new FakeHetzner({
      token: TOKEN,
      addresses: [rig.address],
      actionPolls: 2,
      // cloud-init's part: the server's keys in root's authorized keys.
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
    HETZNER_API_TOKEN: TOKEN,
    HCLOUD_ENDPOINT: fake.url,
    DOCKER_CONFIG: join(rig.work, 'docker-config'),
  });
  const { run, withEnv } = cloudCli(() => s, env, 'hz1');

  test('create: key, server, its create action and running status, address, then SSH and provisioning', async () => {
    const r = await run([
      'create',
      '-d',
      'hetzner',
      '--hetzner-ssh-port',
      String(host.sshPort),
      '--hetzner-engine-port',
      String(host.ports[0]),
      '--hetzner-server-location',
      'nbg1',
      '--hetzner-server-label',
      'team=a',
      'hz1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(
      out,
      /\(hz1\) Creating SSH key\.\.\.[\s\S]*\(hz1\) Creating server\.\.\.[\s\S]*\(hz1\) Waiting for server hz1 \(id \d+\) to be running\.\.\.[\s\S]*\(hz1\) Waiting for server hz1 \(id \d+\): creating \(\d+%\)[\s\S]*\(hz1\) Server hz1 \(id \d+\) is running \(after \d+ s\)[\s\S]*\(hz1\) Server address: 127\.0\.0\.1[\s\S]*Docker is up and running!/,
    );
    const [sv] = fake.servers.values();
    assert.equal(sv.server.labels.team, 'a');
    assert.equal(fake.keys.size, 1);
  });

  test('env, then docker run through TLS on the server', async () => {
    const r = await withEnv(
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never --rm busybox echo hello`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
    // The provisioned create left the machine's docker context too.
    const byContext = await runProcess(
      'docker',
      ['--context', 'hz1', 'run', '--pull=never', '--rm', 'busybox', 'echo', 'by context'],
      { env: { DOCKER_CONFIG: join(rig.work, 'docker-config') }, timeoutMs: 120_000 },
    );
    assert.equal(byContext.stdout, 'by context\n', byContext.stderr);
    const ls = await run(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}} {{.URL}}']);
    assert.equal(ls.stdout.trim(), `hz1 hetzner Running tcp://127.0.0.1:${host.ports[0]}`);
  });

  test('stop shuts the server down (its action waited for), start powers it on and waits for Docker', async () => {
    const stop = await run(['stop', 'hz1']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await run(['status', 'hz1'])).stdout.trim(), 'Stopped');
    assert.equal([...fake.servers.values()][0].server.status, 'off');
    const start = await run(['start', 'hz1']);
    assert.equal(start.code, 0, start.stderr);
    assert.equal((await run(['status', 'hz1'])).stdout.trim(), 'Running');
    const r = await withEnv('docker run --pull=never --rm busybox echo again');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'again\n');
    assert.ok(fake.calls.includes('POST /servers/{id}/actions/shutdown'));
    assert.ok(fake.calls.includes('POST /servers/{id}/actions/poweron'));
  });

  test('rm deletes the server and the key it added, and nothing else', async () => {
    const r = await run(['rm', '-y', 'hz1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Deleted server hz1 \(\d+\)[\s\S]*Deleted SSH key hz1-[0-9a-f]+ \(\d+\)[\s\S]*Successfully removed hz1/,
    );
    assert.deepEqual(fake.inventory(), { keys: [], servers: [], groups: [] });
    assert.deepEqual(await fake.validate(), []);
  });
});
