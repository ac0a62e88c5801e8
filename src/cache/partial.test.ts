import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makePartialDir, partialFile, partialOwner, removeLeftoversOf } from './partial.js';

test("partial names carry their maker, and only a dead maker's leftovers of that final name go", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-partial-unit-'));
  try {
    const final = join(dir, 'image');
    const c = spawn('true');
    await new Promise((r) => c.on('close', r));
    const dead = c.pid as number;
    const mine = await makePartialDir(final);
    assert.equal(partialOwner(mine), process.pid);
    assert.equal(partialOwner(partialFile(final)), process.pid);
    assert.equal(partialOwner(join(dir, 'image')), undefined);
    for (const f of [
      `image.build-${dead}-aaaaaa`,
      `image.tmp-${dead}-1x`,
      `other.build-${dead}-aaaaaa`,
      'image.lock',
    ]) {
      if (f.includes('build')) await mkdir(join(dir, f));
      else await writeFile(join(dir, f), '');
    }
    await mkdir(final);
    const removed = await removeLeftoversOf(final);
    assert.deepEqual(removed.sort(), [
      join(dir, `image.build-${dead}-aaaaaa`),
      join(dir, `image.tmp-${dead}-1x`),
    ]);
    assert.deepEqual(
      (await readdir(dir)).sort(),
      ['image', mine.split('/').pop(), 'image.lock', `other.build-${dead}-aaaaaa`].sort(),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
