import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostConfig } from '../store/host.js';
import type { ProvisionContext } from './context.js';
import { ensureEngine } from './engine-install.js';
import { apt } from './packages.js';

const DEBIAN = {
  packages: apt,
  enginePackage: 'docker.io',
  defaultScriptWorks: true,
  osName: 'Debian GNU/Linux 12 (bookworm)',
};

/** A machine over SSH that has (or has not) a dockerd, recording every command it is sent. */
function machine(driver: Record<string, unknown>, dockerd: string | null, pin = '') {
  const sent: string[] = [];
  const infos: string[] = [];
  const ctx = {
    name: 'r1',
    driverName: 'rackspace',
    config: {
      DriverName: 'rackspace',
      Driver: { SSHUser: 'root', ...driver },
      HostOptions: { EngineOptions: { EngineVersion: pin, InstallURL: 'https://get.docker.com' } },
    } as unknown as HostConfig,
    ssh: {
      async run(cmd: string) {
        sent.push(cmd);
        if (/dockerd --version/.test(cmd))
          return dockerd
            ? { code: 0, stdout: `${dockerd}\n`, stderr: '' }
            : { code: 127, stdout: '', stderr: '' };
        return { code: 1, stdout: '', stderr: 'not expected here' };
      },
    },
    info: (l: string) => infos.push(l),
    debug: () => {},
  } as unknown as ProvisionContext;
  return { ctx, sent, infos };
}

test('--rackspace-docker-install false: no install command; an image without Docker is one line', async () => {
  const none = machine({ DockerInstall: 'false' }, null);
  await assert.rejects(
    ensureEngine(none.ctx, '', DEBIAN),
    (e: Error) =>
      e.message ===
      '--rackspace-docker-install false, but the image has no Docker engine (no dockerd): give an image with Docker, or leave the flag out',
  );
  assert.deepEqual(none.sent, ['dockerd --version']);

  // An engine the image brings is kept, even when --engine-version asks for another.
  const has = machine({ DockerInstall: 'false' }, 'Docker version 24.0.7, build 311b9ff', '25.0');
  await ensureEngine(has.ctx, '', DEBIAN);
  assert.deepEqual(has.sent, ['dockerd --version']);
  assert.deepEqual(has.infos, [
    'Docker 24.0.7 kept: --rackspace-docker-install false installs no other version',
  ]);

  // true (the default): the engine is installed as for every driver.
  const on = machine({ DockerInstall: 'true' }, null);
  await assert.rejects(ensureEngine(on.ctx, '', DEBIAN));
  assert.ok(
    on.sent.some((c) => c.includes('get.docker.com')),
    `the install script was tried: ${on.sent.join(' | ')}`,
  );
});
