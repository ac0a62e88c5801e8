import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { HOSTKEYS_UNIT, IMAGE_CHANGES, PACKAGES, SUITE, SYSTEM_CONF } from './image.js';

// docker/machine-image/Dockerfile builds, where a registry is reachable, the image the driver
// builds with debootstrap: these keep the two recipes from drifting apart.
const dir = join(import.meta.dirname, '..', '..', '..', 'docker', 'machine-image');
const dockerfile = () => readFile(join(dir, 'Dockerfile'), 'utf8');

/** The Dockerfile's instructions, comments left out and continuation lines joined. */
function instructions(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter(Boolean);
}

test("the Dockerfile installs exactly the recipe's packages, in its order, from the same suite", async () => {
  const ins = instructions(await dockerfile());
  assert.equal(ins[0], `FROM debian:${SUITE}`);
  const install = ins.find((l) => l.includes('apt-get install'));
  assert.ok(install, 'no apt-get install in the Dockerfile');
  const m = /apt-get install -y --no-install-recommends (.*?) &&/.exec(install);
  assert.ok(m, install);
  assert.deepEqual(m[1].split(' '), PACKAGES);
});

test('the Dockerfile copies the same files, enables the same units and sets the same CMD and ENV', async () => {
  assert.equal(await readFile(join(dir, 'ssh-hostkeys.service'), 'utf8'), HOSTKEYS_UNIT);
  assert.equal(await readFile(join(dir, '10-machine.conf'), 'utf8'), SYSTEM_CONF);
  const ins = instructions(await dockerfile());
  assert.ok(ins.includes('COPY ssh-hostkeys.service /etc/systemd/system/ssh-hostkeys.service'));
  assert.ok(ins.includes('COPY 10-machine.conf /etc/systemd/system.conf.d/10-machine.conf'));
  const run = ins.filter((l) => l.startsWith('RUN ')).join(' && ');
  for (const step of [
    'rm -f /etc/ssh/ssh_host_*',
    'systemctl enable ssh ssh-hostkeys docker',
    ': > /etc/machine-id',
    'mkdir -p -m 0700 /root/.ssh',
  ]) {
    assert.ok(run.includes(step), `missing "${step}"`);
  }
  assert.deepEqual(
    ins.filter((l) => /^(CMD|ENV|ENTRYPOINT|STOPSIGNAL) /.test(l)),
    IMAGE_CHANGES,
  );
});
