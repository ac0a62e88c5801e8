import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball } from '../helpers/busybox.js';
import { type CliStore, repoRoot, tempStore } from '../helpers/cli.js';
import { type CloudHost, cloudCli, startCloudHost } from '../helpers/cloud-host.js';
import { testHostsAvailable } from '../helpers/testhost.js';

/**
 * A whole machine life on the hyperv driver against the fake powershell, with a real Debian host
 * (systemd, sshd, Docker) standing in for the VM at the address the fake's Start-VM reports: a
 * Docker network of the test's own engine. What the seed would do in a real guest (the user
 * `docker` with the machine's key) the test does on the host when the key appears. The VM's power
 * is the fake's state only: stop does not stop the host.
 */
const skip = (() => {
  if (!testHostsAvailable()) return 'needs root, dockerd, debootstrap and ip (npm test installs them)';
  try {
    execFileSync('sh', ['-c', 'command -v qemu-img && command -v genisoimage'], { stdio: 'ignore' });
  } catch {
    return 'needs qemu-img and genisoimage';
  }
  return false;
})();

const FAKE = join(repoRoot, 'test', 'fakes', 'hyperv', 'powershell');

describe('create -d hyperv against the fake powershell with a real host at the reported address', {
  skip,
  timeout: 15 * 60_000,
}, () => {
  let rig: CloudHost;
  let s: CliStore;
  let work: string;
  let ip: string;
  let unwatch: (() => void) | undefined;

  before(async () => {
    rig = await startCloudHost({ name: 'hvhost', at: 'own-address', lastOctet: 10 });
    work = rig.work;
    ip = rig.address;
    s = await tempStore();
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(work, 'base.qcow2'), '64M']);
    await writeFile(
      join(work, 'state.json'),
      JSON.stringify({
        module: true,
        rights: { HyperVAdministrator: true, Administrator: false },
        switches: [{ Name: 'External LAN', SwitchType: 'External' }],
        vms: {},
      }),
    );
  });

  after(async () => {
    unwatch?.();
    await rig?.stop();
    await s?.cleanup();
  });

  const env = () => ({
    MACHINE_HYPERV_POWERSHELL: FAKE,
    FAKE_HYPERV_NODE: process.execPath,
    FAKE_HYPERV_STATE: join(work, 'state.json'),
    FAKE_HYPERV_LOG: join(work, 'commands.log'),
    FAKE_HYPERV_IP: ip,
    DOCKER_CONFIG: join(work, 'docker-config'),
  });
  const { run, withEnv } = cloudCli(() => s, env, 'hv1');
  const vms = () => JSON.parse(readFileSync(join(work, 'state.json'), 'utf8')).vms;

  test('create: disk, seed, VM, start, the reported address, then SSH as docker and provisioning', async () => {
    // The seed's part in a real guest: the user docker (in the group docker.io made), with sudo
    // and the machine's key.
    const pub = join(s.dir, 'machines', 'hv1', 'id_rsa.pub');
    unwatch = rig.whenKeyWritten(pub, (k) => rig.addSudoUser('docker', [k]));
    const r = await run([
      'create',
      '-d',
      'hyperv',
      '--hyperv-image',
      join(work, 'base.qcow2'),
      '--hyperv-disk-size',
      '1024',
      '--hyperv-cpu-count',
      '2',
      'hv1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout + r.stderr,
      /\(hv1\) Creating VM\.\.\.[\s\S]*\(hv1\) Starting VM\.\.\.[\s\S]*\(hv1\) Waiting for host to start\.\.\.[\s\S]*Docker is up and running!/,
    );
    assert.equal(vms().hv1.State, 'Running');
    assert.equal(vms().hv1.ProcessorCount, 2);
  });

  test('env, then docker run through TLS on the machine; ls shows its URL', async () => {
    const r = await withEnv(
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never --rm busybox echo hello`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
    const ls = await run(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}} {{.URL}}']);
    assert.equal(ls.stdout.trim(), `hv1 hyperv Running tcp://${ip}:2376`);
  });

  test('stop, then start: Stop-VM and Start-VM, the address again, the engine answers', async () => {
    const stop = await run(['stop', 'hv1']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await run(['status', 'hv1'])).stdout.trim(), 'Stopped');
    const start = await run(['start', 'hv1']);
    assert.equal(start.code, 0, start.stderr);
    assert.equal((await run(['status', 'hv1'])).stdout.trim(), 'Running');
    const r = await withEnv('docker run --pull=never --rm busybox echo again');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'again\n');
  });

  test('rm: the VM turned off and removed, the machine folder gone', async () => {
    const r = await run(['rm', '-y', 'hv1']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(vms(), {});
    assert.equal(existsSync(join(s.dir, 'machines', 'hv1')), false);
    const log = readFileSync(join(work, 'commands.log'), 'utf8');
    assert.match(log, /Hyper-V\\\\Stop-VM -Name 'hv1' -TurnOff/);
    assert.match(log, /Hyper-V\\\\Remove-VM -Name 'hv1' -Force/);
  });
});
