import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('./build-once.ts', import.meta.url));

/** A process that builds `target` through buildOnce, appending its pid to `log` when it builds. */
function builder(target: string, log: string, buildMs: number): ChildProcess {
  const script = `
    import { appendFileSync, writeFileSync, renameSync } from 'node:fs';
    import { buildOnce } from ${JSON.stringify(here)};
    await buildOnce(${JSON.stringify(target)}, async () => {
      appendFileSync(${JSON.stringify(log)}, process.pid + '\\n');
      await new Promise((r) => setTimeout(r, ${buildMs}));
      writeFileSync(${JSON.stringify(target)} + '.' + process.pid, 'built by ' + process.pid);
      renameSync(${JSON.stringify(target)} + '.' + process.pid, ${JSON.stringify(target)});
    }, { what: 'the test file' });
  `;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function exited(child: ChildProcess): Promise<number | string> {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
}

function builders(log: string): string[] {
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

test('three processes wanting one cache entry at once: one builds, all get it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-build-once-'));
  try {
    const target = join(dir, 'thing.tar');
    const log = join(dir, 'builds');
    writeFileSync(log, '');
    const codes = await Promise.all([1, 2, 3].map(() => exited(builder(target, log, 1500))));
    assert.deepEqual(codes, [0, 0, 0]);
    assert.equal(builders(log).length, 1);
    assert.equal(readFileSync(target, 'utf8'), `built by ${builders(log)[0]}`);
    assert.equal(existsSync(`${target}.lock`), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a builder killed with SIGKILL mid-build: the next process builds at once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-build-once-'));
  try {
    const target = join(dir, 'thing.tar');
    const log = join(dir, 'builds');
    writeFileSync(log, '');
    const first = builder(target, log, 60_000);
    const firstExit = exited(first);
    const deadline = Date.now() + 30_000;
    while (builders(log).length === 0) {
      assert.ok(Date.now() < deadline, 'the first builder never started building');
      await new Promise((r) => setTimeout(r, 50));
    }
    first.kill('SIGKILL');
    assert.equal(await firstExit, 'SIGKILL');
    assert.equal(existsSync(`${target}.lock`), true, 'the killed builder left its lock');

    const started = Date.now();
    assert.equal(await exited(builder(target, log, 0)), 0);
    const second = builders(log)[1];
    assert.ok(second, 'the second process built');
    assert.equal(readFileSync(target, 'utf8'), `built by ${second}`);
    // Taken over on the dead owner's record, not after a staleness timeout (30 s).
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
    assert.equal(existsSync(`${target}.lock`), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
