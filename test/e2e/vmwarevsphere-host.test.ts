import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateSSHKeyPair } from '../../src/ssh/keys.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { cloudCli } from '../helpers/cloud-host.js';
import {
  type HostEngine,
  hostRootfs,
  importHostImage,
  startHostEngine,
  startTestHost,
  type TestHost,
  testHostsAvailable,
} from '../helpers/testhost.js';
import { startVcsim, type Vcsim, vcsimFlags, vcsimSkipReason } from '../helpers/vcsim.js';

/**
 * A whole machine life on the vmwarevsphere driver: vcsim's clone reports, through its Tools
 * emulation, the address of a real Debian host (systemd, sshd, Docker) of the test's own, and its
 * power events start and stop that host. vcsim runs no guest, so cloud-init never reads the
 * guestinfo: the test does its part, putting the machine's key (read from the store once the VM
 * exists) into the host's authorized keys; SSH and provisioning then run as for the generic driver.
 */
const skip =
  vcsimSkipReason() ||
  (testHostsAvailable() ? false : 'needs root, dockerd, debootstrap and ip (npm test installs them)');
const TEMPLATE = 'tmpl-debian';

function freeSubnet(): string {
  const routes = execFileSync('ip', ['-4', 'route'], { encoding: 'utf8' });
  for (let i = 0; i < 50; i++) {
    const cidr = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
    if (!routes.includes(`${cidr}.`)) return cidr;
  }
  throw new Error('no free 10.2xx.y.0/24 for the test network');
}

describe('create -d vmwarevsphere with a real host behind vcsim', { skip, timeout: 15 * 60_000 }, () => {
  let engine: HostEngine;
  let host: TestHost;
  let sim: Vcsim;
  let s: CliStore;
  let work: string;
  let ip: string;
  const pending: Promise<unknown>[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'dm-vshost-'));
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
      'vsnet',
    ]);
    ip = `${prefix}.4`;
    // The host's own key: none of the driver's, which the test authorises when the VM is made.
    const { publicLine } = await generateSSHKeyPair(join(work, 'unused_key'));
    host = await startTestHost(engine, image, { authorizedKey: publicLine, network: { name: 'vsnet', ip } });
    s = await tempStore();
    sim = await startVcsim({ templates: [TEMPLATE], ipPool: [ip] });
    sim.onEvent((e) => {
      if (e.vm !== 'vs1') return;
      if (e.event === 'created')
        pending.push(
          (async () => {
            // cloud-init's part: the key in guestinfo.userdata, in the login user's authorized keys.
            const pub = (await readFile(join(s.dir, 'machines', 'vs1', 'id_rsa.pub'), 'utf8')).trim();
            await host.exec(`mkdir -p /root/.ssh && printf '%s\\n' '${pub}' >> /root/.ssh/authorized_keys2`);
          })(),
        );
      if (e.event === 'poweredOff') pending.push(engine.docker(['stop', '-t', '20', host.id]));
      if (e.event === 'poweredOn') pending.push(engine.docker(['start', host.id]));
    });
  });

  after(async () => {
    await Promise.allSettled(pending);
    await sim?.close();
    await host?.stop();
    await engine?.stop();
    await s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const env = () => ({
    HOME: work,
    MACHINE_VSPHERE_POLL_MS: '200',
    DOCKER_CONFIG: join(work, 'docker-config'),
  });
  const conn = () => vcsimFlags(sim);
  const { run, withEnv } = cloudCli(() => s, env, 'vs1');

  test('create: clone, power-on, Tools address, then SSH and provisioning', async () => {
    const r = await run([
      'create',
      '-d',
      'vmwarevsphere',
      ...conn(),
      '--vmwarevsphere-clone-from',
      TEMPLATE,
      '--vmwarevsphere-ssh-user',
      'root',
      'vs1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(
      out,
      /\(vs1\) Cloning tmpl-debian[\s\S]*\(vs1\) Powering on VM vs1 \(vm-\d+\)[\s\S]*\(vs1\) VM vs1 \(vm-\d+\) is poweredOn[\s\S]*Docker is up and running!/,
    );
    assert.ok(out.includes(`VM address: ${ip}`));
  });

  test('env, then docker run through TLS on the machine; ls', async () => {
    const r = await withEnv(
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never --rm busybox echo hello`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
    const ls = await run(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}} {{.URL}}']);
    assert.equal(ls.stdout.trim(), `vs1 vmwarevsphere Running tcp://${ip}:2376`);
  });

  test('stop (a guest shutdown) stops the host; start powers on, waits for the address and for Docker', async () => {
    const stop = await run(['stop', 'vs1']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await run(['status', 'vs1'])).stdout.trim(), 'Stopped');
    const start = await run(['start', 'vs1']);
    assert.equal(start.code, 0, start.stderr);
    assert.equal((await run(['status', 'vs1'])).stdout.trim(), 'Running');
    const r = await withEnv('docker run --pull=never --rm busybox echo again');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'again\n');
  });

  test('rm powers the VM off and destroys it with its files', async () => {
    const r = await run(['rm', '-y', 'vs1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Deleted VM vs1 \(vm-\d+\)[\s\S]*Successfully removed vs1/);
    assert.deepEqual(
      (await sim.vms()).filter((v) => !v.template).map((v) => v.name),
      [],
    );
  });
});
