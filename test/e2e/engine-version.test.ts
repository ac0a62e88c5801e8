import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { generateSSHKeyPair } from '../../src/ssh/keys.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { type CliStore, cliShell, runProcess, tempStore } from '../helpers/cli.js';
import { mirrorDir, packagesIndex, serveMirror } from '../helpers/mirror.js';
import {
  type HostEngine,
  hostRootfs,
  importHostImage,
  startHostEngine,
  startTestHost,
  type TestHost,
  testHostsAvailable,
} from '../helpers/testhost.js';

const run = promisify(execFile);

/** The docker.io package version installed on a host. */
const debVersion = async (h: TestHost) => (await h.exec(`dpkg-query -W -f '\${Version}' docker.io`)).trim();

// Real Debian hosts whose only package source is a mirror this test serves on its own bridge:
// a pinned engine version from it, a version it does not have, and `upgrade` to a newer
// docker.io (Debian's own package, rebuilt with a higher version) with a container running.
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

describe('--engine-version and upgrade on Debian hosts, from a package mirror', {
  skip,
  timeout: 20 * 60_000,
}, () => {
  let s: CliStore;
  let engine: HostEngine;
  let plain: TestHost;
  let withDocker: TestHost;
  let mirror: { url: string; close(): void };
  let work: string;
  let key: string;
  /** The docker.io version the Debian mirror holds, and our rebuild of it one step newer. */
  let debianVersion: string;
  let newerVersion: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'dm-engver-'));
    key = join(work, 'id_rsa');
    const { publicLine } = await generateSSHKeyPair(key);
    const log = (l: string) => process.stderr.write(`${l}\n`);
    const [plainTar, dockerTar, base] = await Promise.all([
      hostRootfs({ withDocker: false }, log),
      hostRootfs({ withDocker: true }, log),
      mirrorDir(['docker.io'], log),
    ]);
    engine = await startHostEngine();
    [plain, withDocker] = await Promise.all([
      importHostImage(engine, plainTar, 'dm-testhost:plain').then((image) =>
        startTestHost(engine, image, { authorizedKey: publicLine, extraPorts: 1 }),
      ),
      importHostImage(engine, dockerTar, 'dm-testhost:docker').then((image) =>
        startTestHost(engine, image, { authorizedKey: publicLine, extraPorts: 1 }),
      ),
    ]);
    const installed = await debVersion(withDocker);
    const dir = await newerMirror(join(base, 'debs'), join(work, 'mirror'), `${installed}+dmtest1`);
    debianVersion = dir.debianVersion;
    newerVersion = `${installed}+dmtest1`;
    mirror = await serveMirror(dir.path, engine.gateway);
    for (const h of [plain, withDocker]) {
      await h.exec(`echo 'deb [trusted=yes] ${mirror.url}/ ./' > /etc/apt/sources.list`);
    }
    s = await tempStore();
  });

  after(async () => {
    await plain?.stop();
    await withDocker?.stop();
    mirror?.close();
    await engine?.stop();
    await s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const create = (h: TestHost, name: string, extra: string[]) =>
    s.run(
      [
        'create',
        '-d',
        'generic',
        '--generic-ip-address',
        '127.0.0.1',
        '--generic-ssh-port',
        String(h.sshPort),
        '--generic-ssh-key',
        key,
        '--generic-engine-port',
        String(h.ports[0]),
        ...extra,
        name,
      ],
      { timeoutMs: 600_000 },
    );

  const withEnv = (name: string, script: string) =>
    runProcess('bash', ['-c', `eval "$(${cliShell} env ${name})" && ${script}`], {
      env: { MACHINE_STORAGE_PATH: s.dir, DOCKER_CONFIG: join(work, 'docker-config') },
      timeoutMs: 120_000,
    });

  test('a version the mirror does not have: the error names it and the source apt looked in', async () => {
    const r = await create(plain, 'nosuch', ['--engine-version', '99.1.0']);
    assert.equal(r.code, 1, r.stdout);
    const found = [newerVersion, debianVersion].join(', ');
    assert.equal(
      r.stderr,
      `Error creating machine: docker.io 99.1.0 (--engine-version) is not in the machine's package sources: apt looked in ${mirror.url} ./ Packages and found only ${found}\n`,
    );
    assert.equal((await plain.exec('command -v dockerd || echo none')).trim(), 'none');
    assert.equal((await s.run(['rm', '-y', 'nosuch'])).code, 0);
  });

  test('--engine-version installs that version from the mirror, not the install script', async () => {
    const r = await create(plain, 'pinned', ['--engine-version', debianVersion]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /\nInstalling Docker\.\.\.\n/);
    assert.ok(
      r.stdout.includes(`\nInstalled docker.io ${debianVersion} from ${mirror.url} ./ Packages\n`),
      r.stdout,
    );
    assert.ok(!r.stdout.includes('install script'), 'the install script is not tried');
    assert.match(r.stdout, /\nDocker is up and running!\n/);
    assert.equal(await debVersion(plain), debianVersion);
    const v = await withEnv('pinned', "docker version --format '{{.Server.Version}}'");
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `${debianVersion.replace(/-[^-]*$/, '')}\n`);
    // Upgrading a pinned machine keeps the pinned version although the mirror has a newer one.
    const u = await s.run(['upgrade', 'pinned'], { timeoutMs: 300_000 });
    assert.equal(u.code, 0, `${u.stdout}\n${u.stderr}`);
    assert.equal(await debVersion(plain), debianVersion);
  });

  test('upgrade: the newer docker.io from the mirror; a running container survives; the engine answers', async () => {
    const c = await create(withDocker, 'up1', []);
    assert.equal(c.code, 0, `${c.stdout}\n${c.stderr}`);
    const started = await withEnv(
      'up1',
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never -d --name keep busybox sleep 100000 >/dev/null && docker inspect -f '{{.State.StartedAt}}' keep`,
    );
    assert.equal(started.code, 0, started.stderr);
    const r = await s.run(['upgrade', 'up1'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(
      r.stdout,
      'Waiting for SSH to be available...\nDetecting the provisioner...\nUpgrading docker...\nRestarting docker...\n',
    );
    assert.equal(await debVersion(withDocker), newerVersion);
    const after = await withEnv('up1', "docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' keep");
    assert.equal(after.stdout, `true ${started.stdout}`);
    const ls = await s.run(['ls', '--filter', 'name=up1', '--format', '{{.State}} {{.DockerVersion}}']);
    assert.match(ls.stdout, /^Running v20\.10\.\d+/);
  });
});

/**
 * A mirror with the base mirror's packages and one more docker.io: Debian's own package with
 * only its version raised, so that apt sees an upgrade and installs real binaries.
 */
async function newerMirror(
  baseDebs: string,
  out: string,
  version: string,
): Promise<{ path: string; debianVersion: string }> {
  const debs = join(out, 'debs');
  await mkdir(debs, { recursive: true });
  const names = readdirSync(baseDebs).filter((n) => n.endsWith('.deb'));
  for (const n of names) symlinkSync(join(baseDebs, n), join(debs, n));
  const original = names.find((n) => n.startsWith('docker.io_'));
  if (!original) throw new Error(`no docker.io package in ${baseDebs}`);
  const tree = join(out, 'tree');
  await run('dpkg-deb', ['-R', join(baseDebs, original), tree]);
  const controlPath = join(tree, 'DEBIAN', 'control');
  const control = await readFile(controlPath, 'utf8');
  const debianVersion = /^Version: (.*)$/m.exec(control)![1];
  await writeFile(controlPath, control.replace(/^Version: .*$/m, `Version: ${version}`));
  // Uncompressed: xz would take a minute on a loaded machine, for a file that never leaves it.
  await run('dpkg-deb', ['-Znone', '-b', tree, join(debs, 'docker.io_dmtest_amd64.deb')], {
    maxBuffer: 16 * 1024 * 1024,
  });
  await rm(tree, { recursive: true, force: true });
  writeFileSync(join(out, 'Packages'), packagesIndex(debs));
  return { path: out, debianVersion };
}
