import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Moto } from '../fakes/amazonec2/moto.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { type CloudHost, cloudCli, startCloudHost } from '../helpers/cloud-host.js';
import { testHostsAvailable } from '../helpers/testhost.js';

/**
 * A whole machine life on the amazonec2 driver against moto_server, with a real Debian host
 * (systemd, sshd, Docker) standing in for the instance: moto's subnet has the CIDR of a Docker
 * network of the test's own engine, and the host runs at the private address moto gives the
 * first instance of a fresh subnet (.4). The driver uses the private address; the public
 * address moto also hands out is a real AWS range and is never contacted.
 */
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

describe('create -d amazonec2 against moto_server with a real host at the instance address', {
  skip,
  timeout: 15 * 60_000,
}, () => {
  const moto = new Moto();
  let rig: CloudHost;
  let s: CliStore;
  let net: { vpc: string; subnet: string };
  let unwatch: (() => void) | undefined;

  before(async () => {
    await moto.start();
    rig = await startCloudHost({ name: 'ec2host', at: 'own-address', lastOctet: 4 });
    net = await moto.network(rig.subnet!);
    s = await tempStore();
  });

  after(async () => {
    unwatch?.();
    await rig?.stop();
    await moto.stop();
    await s?.cleanup();
  });

  const env = () => ({
    HOME: rig.work,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: 'AKIDHOSTTEST',
    AWS_SECRET_ACCESS_KEY: 'host-test-secret',
    AWS_ENDPOINT_URL_EC2: moto.proxyUrl,
    DOCKER_CONFIG: join(rig.work, 'docker-config'),
  });
  const { run, withEnv } = cloudCli(() => s, env, 'ec1');

  test('create: key pair, security group, instance, its private address, then SSH and provisioning', async () => {
    // cloud-init's part on EC2: the key pair's public key in the login user's authorized keys.
    const pub = join(s.dir, 'machines', 'ec1', 'id_rsa.pub');
    unwatch = rig.whenKeyWritten(pub, (k) => rig.authorizeRoot([k]));
    const r = await run([
      'create',
      '-d',
      'amazonec2',
      '--amazonec2-ami',
      'ami-12c6146b',
      '--amazonec2-vpc-id',
      net.vpc,
      '--amazonec2-subnet-id',
      net.subnet,
      '--amazonec2-use-private-address',
      '--amazonec2-ssh-user',
      'root',
      '--amazonec2-tags',
      'team,a',
      'ec1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(
      out,
      new RegExp(
        `\\(ec1\\) Creating SSH key\\.\\.\\.[\\s\\S]*\\(ec1\\) Security group docker-machine created \\(sg-\\w+\\)[\\s\\S]*\\(ec1\\) Waiting for instance ec1 \\(i-\\w+\\) to be running\\.\\.\\.[\\s\\S]*\\(ec1\\) Instance ec1 \\(i-\\w+\\) is running \\(after \\d+ s\\)[\\s\\S]*\\(ec1\\) Instance address: ${rig.address.replace(/\./g, '\\.')}[\\s\\S]*Docker is up and running!`,
      ),
    );
    const inv = await moto.inventory();
    assert.equal(inv.instances.length, 1);
    assert.deepEqual(inv.keys, ['ec1']);
  });

  test('env, then docker run through TLS on the instance', async () => {
    const r = await withEnv(
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never --rm busybox echo hello`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
    const ls = await run(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}} {{.URL}}']);
    assert.equal(ls.stdout.trim(), `ec1 amazonec2 Running tcp://${rig.address}:2376`);
  });

  test('stop stops the instance; start starts it, waits until running and for Docker', async () => {
    const stop = await run(['stop', 'ec1']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await run(['status', 'ec1'])).stdout.trim(), 'Stopped');
    // The host goes down with its instance and comes back with it.
    await rig.power(false);
    await rig.power(true);
    const start = await run(['start', 'ec1']);
    assert.equal(start.code, 0, start.stderr);
    assert.equal((await run(['status', 'ec1'])).stdout.trim(), 'Running');
    const r = await withEnv('docker run --pull=never --rm busybox echo again');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'again\n');
  });

  test('rm terminates the instance, deletes the security group and key pair it made: moto is left empty', async () => {
    const r = await run(['rm', '-y', 'ec1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Deleted instance ec1 \(i-\w+\)[\s\S]*Deleted security group docker-machine \(sg-\w+\)[\s\S]*Deleted key pair ec1 \(ec1\)[\s\S]*Successfully removed ec1/,
    );
    assert.deepEqual(await moto.inventory(), { instances: [], keys: [], groups: [], spot: [] });
  });
});
