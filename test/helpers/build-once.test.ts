import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildOnce } from './build-once.js';

const here = fileURLToPath(new URL('./build-once.ts', import.meta.url));

/** A process that builds `target` through buildOnce, appending its pid to `log` when it builds. */
function builder(target: string, log: string): Promise<number> {
  const script = `
    import { appendFileSync, writeFileSync, renameSync } from 'node:fs';
    import { buildOnce } from ${JSON.stringify(here)};
    await buildOnce(${JSON.stringify(target)}, async () => {
      appendFileSync(${JSON.stringify(log)}, process.pid + '\\n');
      await new Promise((r) => setTimeout(r, 1500));
      writeFileSync(${JSON.stringify(target)} + '.' + process.pid, 'built');
      renameSync(${JSON.stringify(target)} + '.' + process.pid, ${JSON.stringify(target)});
    }, { what: 'the test file' });
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

test('three processes wanting one cache entry at once: one builds, all get it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-build-once-'));
  try {
    const target = join(dir, 'thing.tar');
    const log = join(dir, 'builds');
    writeFileSync(log, '');
    const codes = await Promise.all([builder(target, log), builder(target, log), builder(target, log)]);
    assert.deepEqual(codes, [0, 0, 0]);
    assert.equal(readFileSync(log, 'utf8').split('\n').filter(Boolean).length, 1);
    assert.equal(readFileSync(target, 'utf8'), 'built');
    assert.equal(existsSync(`${target}.building`), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a lock left by a process that is gone is taken over; one with no pid after 5 s too', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-build-once-'));
  try {
    const target = join(dir, 'thing.tar');
    mkdirSync(`${target}.building`);
    // Pids are below 2^22 on Linux: this one runs nowhere.
    writeFileSync(`${target}.building/pid`, String(2 ** 22 + 7));
    let built = 0;
    const started = Date.now();
    await buildOnce(
      target,
      async () => {
        built++;
        writeFileSync(target, 'x');
      },
      { what: 'the test file' },
    );
    assert.equal(built, 1);
    assert.ok(Date.now() - started < 2000);

    const other = join(dir, 'other.tar');
    mkdirSync(`${other}.building`);
    await buildOnce(other, async () => writeFileSync(other, 'y'), { what: 'the other file' });
    assert.equal(readFileSync(other, 'utf8'), 'y');
    assert.ok(Date.now() - started >= 5000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
