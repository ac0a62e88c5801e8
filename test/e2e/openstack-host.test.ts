import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakeOpenStack } from '../fakes/openstack/fake.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { type CloudHost, cloudCli, startCloudHost } from '../helpers/cloud-host.js';
import { testHostsAvailable } from '../helpers/testhost.js';

/**
 * A whole machine life on the openstack driver: the fake (Keystone v3, Nova, Neutron, Glance)
 * hands out the address of a real Debian host (systemd, sshd, Docker) of the test's own, reached
 * at its own address on ports 22 and 2376 as a server's fixed address is; the server's os-stop
 * and os-start stop and start that host, and the key pair's public key is authorised on it as
 * cloud-init would.
 */
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

describe('create -d openstack with a real host behind the fake API', { skip, timeout: 15 * 60_000 }, () => {
  let rig: CloudHost;
  let fake: FakeOpenStack;
  let s: CliStore;
  let ip: string;

  before(async () => {
    rig = await startCloudHost({ name: 'oshost', at: 'own-address', lastOctet: 4 });
    ip = rig.address;
    fake = new FakeOpenStack({
      addresses: [ip],
      pollsToActive: 2,
      onCreate: async (server) => {
        if (server.publicKey) await rig.authorizeRoot([server.publicKey]);
      },
      onAction: async (_id, action) => {
        if (action === 'os-stop') await rig.power(false);
        if (action === 'os-start') await rig.power(true);
      },
    });
    await fake.start();
    s = await tempStore();
  });

  after(async () => {
    await fake?.close();
    await rig?.stop();
    await s?.cleanup();
  });

  const env = () => ({
    HOME: rig.work,
    OS_AUTH_URL: fake.authUrl,
    OS_USERNAME: 'demo',
    OS_PASSWORD: 'secret',
    OS_PROJECT_NAME: 'demo',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    MACHINE_OPENSTACK_POLL_MS: '200',
    DOCKER_CONFIG: join(rig.work, 'docker-config'),
  });
  const { run, withEnv } = cloudCli(() => s, env, 'os1');

  test('create: key pair, security group, server (BUILD shown as Starting), address, then SSH and provisioning', async () => {
    const r = await run([
      'create',
      '-d',
      'openstack',
      '--openstack-flavor-name',
      'm1.small',
      '--openstack-image-name',
      'debian-12',
      '--openstack-net-name',
      'private',
      'os1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(
      out,
      /\(os1\) Creating SSH key\.\.\.[\s\S]*\(os1\) Creating firewall\.\.\.[\s\S]*\(os1\) Creating server\.\.\.[\s\S]*\(os1\) Waiting for server os1 \(id [0-9a-f-]{36}\): Starting \(BUILD\)[\s\S]*\(os1\) Server os1 \(id [0-9a-f-]{36}\) is Running[\s\S]*Docker is up and running!/,
    );
    assert.ok(out.includes(`Server address: ${ip}`));
    assert.equal(fake.keypairs.length, 1);
  });

  test('env, then docker run through TLS on the server; ls', async () => {
    const r = await withEnv(
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never --rm busybox echo hello`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
    const ls = await run(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}} {{.URL}}']);
    assert.equal(ls.stdout.trim(), `os1 openstack Running tcp://${ip}:2376`);
  });

  test('stop waits for SHUTOFF, start for ACTIVE and then Docker', async () => {
    const stop = await run(['stop', 'os1']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await run(['status', 'os1'])).stdout.trim(), 'Stopped');
    const start = await run(['start', 'os1']);
    assert.equal(start.code, 0, start.stderr);
    assert.equal((await run(['status', 'os1'])).stdout.trim(), 'Running');
    const r = await withEnv('docker run --pull=never --rm busybox echo again');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'again\n');
  });

  test('rm deletes the server, its security group and key pair, and nothing else', async () => {
    const r = await run(['rm', '-y', 'os1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Deleted server os1 \([0-9a-f-]{36}\)[\s\S]*Deleted security group docker-machine-os1-[0-9a-f]+[\s\S]*Deleted key pair os1-[0-9a-f]+[\s\S]*Successfully removed os1/,
    );
    assert.deepEqual(fake.inventory(), {
      servers: [],
      keypairs: [],
      floatingIps: [],
      securityGroups: [],
      volumes: [],
      serverGroups: [],
    });
  });
});
