import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { IMAGE_CHANGES, IMAGE_FILES, PACKAGES, SUITE } from './image.js';

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
  const ins = instructions(await dockerfile());
  const copies = ins.filter((l) => l.startsWith('COPY '));
  assert.equal(copies.length, IMAGE_FILES.length, copies.join('\n'));
  for (const [path, content] of IMAGE_FILES) {
    const copy = copies.find((l) => l.endsWith(` /${path}`));
    assert.ok(copy, `no COPY to /${path}`);
    const source = copy.split(' ')[1];
    assert.equal(
      await readFile(join(dir, source), 'utf8'),
      content,
      `${source} differs from the recipe's /${path}`,
    );
  }
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
