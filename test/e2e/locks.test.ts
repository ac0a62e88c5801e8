import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliStore, cleanEnv, cliArgs, cliProgram, type RunResult, tempStore } from '../helpers/cli.js';

// A none machine's URL: nothing needs to answer there.
const URL_FLAGS = ['-d', 'none', '--url', 'tcp://127.0.0.1:2376'];

/** A CLI process stopped by the lock's test hook at POINT of the lock whose file name holds PART. */
async function pausedThenKilled(s: CliStore, args: string[], pause: string): Promise<void> {
  const marker = join(s.dir, '..', `${s.dir.split('/').pop()}-marker`);
  await rm(marker, { force: true });
  const child = spawn(cliProgram, [...cliArgs, ...args], {
    env: cleanEnv({ MACHINE_STORAGE_PATH: s.dir, DM_TEST_PAUSE_AT: pause, DM_TEST_PAUSE_MARKER: marker }),
    stdio: 'ignore',
  });
  const closed = new Promise((r) => child.on('close', r));
  try {
    const deadline = Date.now() + 60_000;
    while (!existsSync(marker)) {
      if (child.exitCode !== null)
        throw new Error(`${args.join(' ')} ended (${child.exitCode}) before ${pause}`);
      if (Date.now() > deadline) throw new Error(`${args.join(' ')} never reached ${pause}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(await readFile(marker, 'utf8'), new RegExp(`^${child.pid} ${pause.split('@')[0]} `));
  } finally {
    child.kill('SIGKILL');
    await closed;
    await rm(marker, { force: true });
  }
}

/** The lock a process killed long ago left: its pid cannot exist (above any pid_max). */
async function plantDeadLock(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, '99999999\ncreate old\n');
}

/** No lock wait reached 1 s: waiters say so from the first second on. */
function assertNoWait(r: RunResult): void {
  assert.doesNotMatch(r.stdout + r.stderr, /Waiting for/);
}

describe('locks left by killed commands', () => {
  let s: CliStore;
  before(async () => {
    s = await tempStore();
  });
  after(async () => {
    await s.cleanup();
  });

  test('an empty machines/.locks/NAME.lock (a process killed before writing its pid) delays rm -y NAME by 2 s at most', async () => {
    for (const n of ['fresh', 'empty']) {
      const c = await s.run(['create', ...URL_FLAGS, n]);
      assert.equal(c.code, 0, c.stderr);
    }
    let started = Date.now();
    const plain = await s.run(['rm', '-y', 'fresh']);
    const baseline = Date.now() - started;
    assert.equal(plain.code, 0, plain.stderr);

    const lock = join(s.dir, 'machines', '.locks', 'empty.lock');
    await writeFile(lock, '');
    started = Date.now();
    const r = await s.run(['rm', '-y', 'empty']);
    const took = Date.now() - started;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Successfully removed empty/);
    assert.ok(took - baseline < 2500, `rm took ${took} ms, ${baseline} ms without the lock`);
    assert.equal(existsSync(join(s.dir, 'machines', 'empty')), false);

    // Left long ago (the case): taken over at once.
    const c = await s.run(['create', ...URL_FLAGS, 'empty']);
    assert.equal(c.code, 0, c.stderr);
    await writeFile(lock, '');
    const old = new Date(Date.now() - 3600_000);
    await utimes(lock, old, old);
    const again = await s.run(['rm', '-y', 'empty']);
    assert.equal(again.code, 0, again.stderr);
    assertNoWait(again);
  });

  for (const point of ['temp-written', 'takeover', 'linked', 'held', 'releasing']) {
    test(`create killed -9 at "${point}" of the machine's lock: the next create of that name does not wait`, async () => {
      const name = `m-${point}`;
      if (point === 'takeover') await plantDeadLock(join(s.dir, 'machines', '.locks', `${name}.lock`));
      await pausedThenKilled(s, ['create', ...URL_FLAGS, name], `${point}@${name}.lock`);
      // Killed at "releasing" the machine was made; before, its folder did not exist yet.
      if (point === 'releasing') {
        const inspect = await s.run(['inspect', name]);
        assert.equal(inspect.code, 0, inspect.stderr);
        const r = await s.run(['rm', '-y', name]);
        assert.equal(r.code, 0, r.stderr);
        assertNoWait(r);
      }
      const r = await s.run(['create', ...URL_FLAGS, name]);
      assert.equal(r.code, 0, r.stderr);
      assertNoWait(r);
      const locks = await readdir(join(s.dir, 'machines', '.locks'));
      assert.deepEqual(
        locks.filter((f) => f.startsWith(`${name}.`)),
        [],
        'no lock or stray owner file is left',
      );
    });

    test(`create killed -9 at "${point}" of the store's certificates lock: the next create does not wait`, async () => {
      const fresh = await tempStore();
      try {
        if (point === 'takeover') await plantDeadLock(join(fresh.dir, 'machines', '.locks', '.certs.lock'));
        await pausedThenKilled(fresh, ['create', ...URL_FLAGS, 'c1'], `${point}@.certs.lock`);
        const r = await fresh.run(['create', ...URL_FLAGS, 'c2']);
        assert.equal(r.code, 0, r.stderr);
        assertNoWait(r);
        const ls = await fresh.run(['ls', '-q']);
        assert.deepEqual(ls.stdout.trim().split('\n'), ['c2']);
        const locks = await readdir(join(fresh.dir, 'machines', '.locks'));
        assert.deepEqual(locks, [], 'no lock or stray owner file is left');
      } finally {
        await fresh.cleanup();
      }
    });
  }
});

describe('create racing rm of the same name', () => {
  let s: CliStore;
  before(async () => {
    s = await tempStore();
    // The CA exists first, so that each create is as short as the race needs.
    const r = await s.run(['create', ...URL_FLAGS, 'warm']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await s.cleanup();
  });

  test('40 rounds: the machine is whole or gone, and rm never claims to have removed one that exists', async () => {
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 40; round++) {
      const name = 'racer';
      // Half the rounds start rm first, so both orders are tried.
      const jobs =
        round % 2 === 0
          ? [s.run(['create', ...URL_FLAGS, name]), s.run(['rm', '-y', name])]
          : [s.run(['rm', '-y', name]), s.run(['create', ...URL_FLAGS, name])].reverse();
      const [create, remove] = await Promise.all(jobs);
      const where = `round ${round}\ncreate: ${create.code} ${create.stdout}${create.stderr}\nrm: ${remove.code} ${remove.stdout}${remove.stderr}`;
      const folder = join(s.dir, 'machines', name);
      const exists = existsSync(folder);
      if (exists) {
        const inspect = await s.run(['inspect', name]);
        assert.equal(inspect.code, 0, `the machine came back broken: ${inspect.stderr}\n${where}`);
        assert.equal(JSON.parse(inspect.stdout).Name, name, where);
        assert.equal(create.code, 0, where);
      }
      const rmSaid = /Successfully removed racer/.test(remove.stdout);
      assert.equal(remove.code === 0, rmSaid, where);
      if (rmSaid) assert.equal(exists, false, `rm said it removed ${name}, which exists\n${where}`);
      assert.doesNotMatch(remove.stderr, /ENOTEMPTY|EEXIST|ENOENT/, where);
      const key = `${create.code === 0 ? 'created' : 'create failed'}, ${rmSaid ? 'removed' : 'rm failed'}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      // Each round starts without the machine.
      if (exists) {
        const r = await s.run(['rm', '-y', name]);
        assert.equal(r.code, 0, r.stderr);
      }
      const left = (await readdir(join(s.dir, 'machines'))).filter((f) => f !== '.locks' && f !== 'warm');
      assert.deepEqual(left, [], `nothing is left aside\n${where}`);
    }
    // Both orders happened: a race that never interleaves proves nothing.
    assert.ok(outcomes.size >= 2, JSON.stringify([...outcomes]));
    process.stdout.write(`# outcomes: ${JSON.stringify([...outcomes])}\n`);
  });
});
