import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateSSHKeyPair } from '../../src/ssh/keys.js';
import { type CliStore, cliShell, runProcess, tempStore } from '../helpers/cli.js';
import { genericCreateArgs } from '../helpers/generic-rig.js';
import { mirrorDir, serveMirror } from '../helpers/mirror.js';
import {
  type HostEngine,
  hostRootfs,
  importHostImage,
  startHostEngine,
  startTestHost,
  type TestHost,
  testHostsAvailable,
} from '../helpers/testhost.js';

// A Debian host with no Docker and no way out but a package mirror the test serves on its own
// bridge: create installs the engine from the distribution's packages (get.docker.com is
// unreachable, as on an air-gapped network).
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

describe('create -d generic on a host without Docker', { skip, timeout: 15 * 60_000 }, () => {
  let s: CliStore;
  let engine: HostEngine;
  let host: TestHost;
  let mirror: { url: string; close(): void };
  let work: string;
  let key: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'dm-install-'));
    key = join(work, 'id_rsa');
    const { publicLine } = await generateSSHKeyPair(key);
    const log = (l: string) => process.stderr.write(`${l}\n`);
    const [tarball, debs] = await Promise.all([
      hostRootfs({ withDocker: false }, log),
      mirrorDir(['docker.io'], log),
    ]);
    engine = await startHostEngine();
    mirror = await serveMirror(debs, engine.gateway);
    const image = await importHostImage(engine, tarball, 'dm-testhost:plain');
    host = await startTestHost(engine, image, { authorizedKey: publicLine, extraPorts: 1 });
    await host.exec(`echo 'deb [trusted=yes] ${mirror.url}/ ./' > /etc/apt/sources.list`);
    s = await tempStore();
  });

  after(async () => {
    await host?.stop();
    mirror?.close();
    await engine?.stop();
    await s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the engine is installed from the distribution packages and answers over TLS', async () => {
    assert.notEqual((await host.exec('command -v dockerd || echo none')).trim().startsWith('/'), true);
    const r = await s.run(genericCreateArgs(host, key, 'plain1'), { timeoutMs: 600_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /\nInstalling Docker\.\.\.\n/);
    assert.match(r.stdout, /did not run .*trying the distribution's packages/);
    assert.match(r.stdout, /\nDocker is up and running!\n/);
    assert.equal((await host.exec('command -v dockerd')).trim(), '/usr/sbin/dockerd');
    const v = await runProcess(
      'bash',
      ['-c', `eval "$(${cliShell} env plain1)" && docker version --format '{{.Server.Version}}'`],
      { env: { MACHINE_STORAGE_PATH: s.dir, DOCKER_CONFIG: join(work, 'docker-config') } },
    );
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^20\.10\.\d+/);
  });
});
