import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cleanEnv, cliArgs, cliProgram } from '../helpers/cli.js';
import { type EngineRig, startEngineRig } from '../helpers/engine-rig.js';
import { testHostsAvailable } from '../helpers/testhost.js';

// Creates on an engine that does not have the machine image yet: each rig's engine is new, and
// its store shares the test cache's root file system tarball, so the image is imported, not built.
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

/** How many images the engine imported since `since` (unix seconds), from its own event log. */
async function imports(rig: EngineRig, since: number): Promise<number> {
  const out = await rig.outer([
    'events',
    '--since',
    String(since),
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'type=image',
    '--filter',
    'event=import',
    '--format',
    '{{.Action}}',
  ]);
  return out.split('\n').filter(Boolean).length;
}

async function assertRunning(rig: EngineRig, names: string[]): Promise<void> {
  const ls = await rig.store.run(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}}']);
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual(ls.stdout.trim().split('\n').sort(), names.map((n) => `${n} docker Running`).sort());
  for (const n of names) {
    const r = await rig.store.run(['ssh', n, 'docker', 'info', '--format', '{{.ServerVersion}}']);
    assert.equal(r.code, 0, `${n}: ${r.stderr}`);
  }
}

describe('create -d docker on an engine without the machine image', { skip, timeout: 40 * 60_000 }, () => {
  const rigs: EngineRig[] = [];
  after(async () => {
    for (const rig of rigs) await rig.stop();
  });

  test('a fleet of 3: the image is imported once and every machine is made', async () => {
    const rig = await startEngineRig({ poolPrefix: '172.25' });
    rigs.push(rig);
    const since = Math.floor(Date.now() / 1000) - 1;
    const r = await rig.create(['f1', 'f2', 'f3']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(await imports(rig, since), 1);
    await assertRunning(rig, ['f1', 'f2', 'f3']);
  });

  test('5 create processes at once, the first import holder killed -9: one import, 5 machines', async () => {
    const rig = await startEngineRig({ poolPrefix: '172.26' });
    rigs.push(rig);
    const since = Math.floor(Date.now() / 1000) - 1;
    // A create stopped while it holds this engine's import lock, then killed: the lock it leaves
    // must not hold up the others.
    const marker = join(rig.store.dir, '..', `${rig.store.dir.split('/').pop()}-import-marker`);
    const killed = spawn(
      cliProgram,
      [...cliArgs, 'create', '-d', 'docker', '--docker-host', rig.dockerHost, 'k0'],
      {
        env: cleanEnv({
          MACHINE_STORAGE_PATH: rig.store.dir,
          DM_TEST_PAUSE_AT: 'held@import-',
          DM_TEST_PAUSE_MARKER: marker,
        }),
        stdio: 'ignore',
      },
    );
    const closed = new Promise((res) => killed.on('close', res));
    try {
      const deadline = Date.now() + 300_000;
      while (!existsSync(marker)) {
        assert.equal(killed.exitCode, null, 'the create ended before it took the import lock');
        assert.ok(Date.now() < deadline, 'the create never took the import lock');
        await new Promise((res) => setTimeout(res, 50));
      }
      assert.match(await readFile(marker, 'utf8'), /held .*import-[0-9a-f]+\.lock\n$/);
    } finally {
      killed.kill('SIGKILL');
      await closed;
      await rm(marker, { force: true });
    }
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
    const started = Date.now();
    const results = await Promise.all(names.map((n) => rig.create(n)));
    for (const [i, res] of results.entries()) {
      assert.equal(res.code, 0, `${names[i]}: ${res.stdout}\n${res.stderr}`);
      assert.doesNotMatch(res.stdout + res.stderr, /locked by/);
    }
    // One imported; the others said whom they waited for.
    const importing = results.filter((res) => /Importing the machine image into/.test(res.stdout));
    assert.equal(importing.length, 1, results.map((res) => res.stdout).join('\n----\n'));
    assert.ok(
      results.some((res) =>
        /Waiting for process \d+ \(docker-machine create .*\), which is importing the machine image into /.test(
          res.stdout,
        ),
      ),
    );
    assert.equal(await imports(rig, since), 1);
    process.stdout.write(`# 5 creates at once: ${Math.round((Date.now() - started) / 1000)} s\n`);
    // k0 was killed before its container existed: rm takes its machine lock over and removes it.
    const rmk = await rig.store.run(['rm', '-y', 'k0']);
    assert.equal(rmk.code, 0, rmk.stderr);
    await assertRunning(rig, names);
  });
});
