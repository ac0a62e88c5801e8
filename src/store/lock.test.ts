import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { allocateSegmentAddress } from '../drivers/qemu/segment.js';
import { withFileLock } from './lock.js';

const worker = join(import.meta.dirname, '..', '..', 'test', 'helpers', 'lock-worker.ts');

interface Worker {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startWorker(args: string[], env: NodeJS.ProcessEnv = {}): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function killed(w: Worker): Promise<void> {
  if (w.child.pid !== undefined && w.child.exitCode === null && w.child.signalCode === null) {
    w.child.kill('SIGKILL');
  }
  await w.exited;
}

/** How long taking the lock takes in this process (bounded by timeoutMs). */
async function timeToTake(path: string, timeoutMs = 10_000, staleMs?: number): Promise<number> {
  const started = Date.now();
  await withFileLock(path, { what: 'The test lock', doing: 'testing', timeoutMs, staleMs }, async () => {});
  return Date.now() - started;
}

/** A lock of a process that cannot exist (above any pid_max), in the current format. */
function deadRecord(): string {
  return `99999999\n${JSON.stringify({ start: '1', host: hostname(), cmd: 'docker-machine create x', doing: 'x', heartbeat: true })}\n`;
}

describe('file locks', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-lock-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const point of ['temp-written', 'linked', 'held', 'releasing']) {
    test(`a holder killed -9 at "${point}" blocks the next taker under 2 s and leaves no file behind`, async () => {
      const d = join(dir, `kill-${point}`);
      await mkdir(d);
      const lock = join(d, 'x.lock');
      const marker = join(d, '..', `marker-${point}`);
      const w = startWorker([lock, 'hold', point === 'releasing' ? '0' : '60000'], {
        DM_TEST_PAUSE_AT: `${point}@x.lock`,
        DM_TEST_PAUSE_MARKER: marker,
      });
      try {
        await until(`the worker to stop at ${point}`, () => existsSync(marker));
        const [pid, at] = (await readFile(marker, 'utf8')).split(' ');
        assert.equal(Number(pid), w.child.pid);
        assert.equal(at, point);
      } finally {
        await killed(w);
      }
      const took = await timeToTake(lock);
      assert.ok(took < 2000, `took ${took} ms`);
      assert.deepEqual(await readdir(d), [], 'the lock, its owner file and nothing else went');
    });
  }

  test('a waiter killed -9 while taking over a dead lock (holding the takeover lock) blocks no one', async () => {
    const d = join(dir, 'kill-takeover');
    await mkdir(d);
    const lock = join(d, 'x.lock');
    await writeFile(lock, deadRecord());
    const marker = join(dir, 'marker-takeover');
    const w = startWorker([lock, 'hold', '60000'], {
      DM_TEST_PAUSE_AT: 'takeover@x.lock',
      DM_TEST_PAUSE_MARKER: marker,
    });
    try {
      await until('the worker to stop inside the takeover', () => existsSync(marker));
      assert.ok((await readdir(d)).includes('x.lock.takeover'));
    } finally {
      await killed(w);
    }
    const took = await timeToTake(lock);
    assert.ok(took < 2000, `took ${took} ms`);
    assert.deepEqual(await readdir(d), []);
  });

  test('an empty lock file (an older version killed before writing its pid) is taken over once 2 s old', async () => {
    const lock = join(dir, 'empty.lock');
    await writeFile(lock, '');
    const took = await timeToTake(lock);
    assert.ok(took >= 1500 && took < 3500, `took ${took} ms`);
    await writeFile(lock, 'garbage');
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    const again = await timeToTake(lock);
    assert.ok(again < 500, `an old unreadable lock took ${again} ms`);
  });

  test('a lock whose pid now belongs to another process (another start time) is taken over', async () => {
    const lock = join(dir, 'reused.lock');
    const rec = {
      start: '1',
      host: hostname(),
      cmd: 'docker-machine create old',
      doing: 'x',
      heartbeat: true,
    };
    await writeFile(lock, `${process.pid}\n${JSON.stringify(rec)}\n`);
    const took = await timeToTake(lock);
    assert.ok(took < 500, `took ${took} ms`);
  });

  test("an older version's lock: a dead pid is taken over, a live one is waited on and named", async () => {
    const lock = join(dir, 'legacy.lock');
    await writeFile(lock, '99999999\ncreate m1\n');
    assert.ok((await timeToTake(lock)) < 500);
    await writeFile(lock, `${process.pid}\ncreate m1\n`);
    await assert.rejects(
      timeToTake(lock, 300),
      new RegExp(
        `^MachineError: The test lock is locked by process ${process.pid} \\(create m1\\) \\(${lock}\\); wait for it to finish, or remove the file if no such process runs$`,
      ),
    );
    await rm(lock);
  });

  test('a waiter says on whom and for what it waits; a short bound ends with the error naming the holder', async () => {
    const lock = join(dir, 'named.lock');
    const w = startWorker([lock, 'hold', '60000', 'building the machine image']);
    try {
      await until('the holder', () => w.stdout().includes('held'));
      const lines: string[] = [];
      const started = Date.now();
      await assert.rejects(
        withFileLock(
          lock,
          { what: 'Network docker-machine', doing: 'choosing', log: (l) => lines.push(l), timeoutMs: 2500 },
          async () => {},
        ),
        (err: Error) => {
          assert.match(
            err.message,
            new RegExp(
              `^Network docker-machine is locked by process ${w.child.pid} \\(lock-worker\\.ts .*hold 60000 building the machine image\\), which is building the machine image \\(${lock}\\); wait for it to finish`,
            ),
          );
          return true;
        },
      );
      assert.ok(Date.now() - started < 4000);
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(
        lines[0],
        new RegExp(
          `^Waiting for process ${w.child.pid} \\(lock-worker\\.ts .*\\), which is building the machine image, 1 s so far\\.\\.\\.$`,
        ),
      );
    } finally {
      await killed(w);
    }
  });

  test('a waiter on a long step waits while the holder refreshes the lock, and stops at once when it stops', async () => {
    const lock = join(dir, 'long.lock');
    // Held 7 s, longer than the 3 s a silent lock is allowed here: only the refreshes keep it waiting.
    const w = startWorker([lock, 'hold', '7000', 'importing the machine image']);
    await until('the holder', () => w.stdout().includes('held'));
    const took = await timeToTake(lock, Number.POSITIVE_INFINITY, 3000);
    assert.ok(took > 3000, `took ${took} ms`);
    assert.equal(await w.exited, 0);

    const s = startWorker([lock, 'hold', '60000', 'importing the machine image']);
    try {
      await until('the holder', () => s.stdout().includes('held'));
      s.child.kill('SIGSTOP');
      const started = Date.now();
      await assert.rejects(
        timeToTake(lock, Number.POSITIVE_INFINITY, 3000),
        new RegExp(
          `^MachineError: The test lock is locked by process ${s.child.pid} \\(.*\\), which is importing the machine image, which has not refreshed its lock for \\d+ s \\(is it stopped\\?\\)`,
        ),
      );
      assert.ok(Date.now() - started < 6000);
    } finally {
      s.child.kill('SIGCONT');
      await killed(s);
    }
  });

  test("5 processes racing to take over a dead owner's lock: one holder at a time, no count lost", async () => {
    const d = join(dir, 'race');
    await mkdir(d);
    const lock = join(d, 'counter.lock');
    const counter = join(dir, 'race-counter');
    await writeFile(lock, deadRecord());
    const workers = Array.from({ length: 5 }, () => startWorker([lock, 'count', counter, '20']));
    const codes = await Promise.all(workers.map((w) => w.exited));
    for (const [i, code] of codes.entries()) assert.equal(code, 0, workers[i].stderr());
    assert.equal(await readFile(counter, 'utf8'), '100');
    assert.deepEqual(await readdir(d), []);
  });

  test('5 processes, each leaving the lock to a dead owner after every turn: the takeover races keep one holder at a time', async () => {
    const d = join(dir, 'abandon');
    await mkdir(d);
    const lock = join(d, 'counter.lock');
    const counter = join(dir, 'abandon-counter');
    const workers = Array.from({ length: 5 }, () => startWorker([lock, 'count', counter, '20', 'abandon']));
    const codes = await Promise.all(workers.map((w) => w.exited));
    for (const [i, code] of codes.entries()) assert.equal(code, 0, workers[i].stderr());
    assert.equal(await readFile(counter, 'utf8'), '100');
    // The last turn's dead lock stays until someone wants it; nothing else is left.
    assert.deepEqual(await readdir(d), ['counter.lock']);
    assert.ok((await timeToTake(lock)) < 500);
    assert.deepEqual(await readdir(d), []);
  });

  test('in one process, takers queue in memory and say they wait on this process', async () => {
    const lock = join(dir, 'queue.lock');
    let inside = 0;
    let most = 0;
    const lines: string[] = [];
    const one = (i: number) =>
      withFileLock(lock, { what: 'The queue', doing: `step ${i}`, log: (l) => lines.push(l) }, async () => {
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, i === 0 ? 1500 : 5));
        inside--;
        return i;
      });
    const got = await Promise.all(Array.from({ length: 10 }, (_, i) => one(i)));
    assert.deepEqual(got, [...Array(10).keys()]);
    assert.equal(most, 1);
    assert.ok(
      lines.some((l) => /^Waiting for this process, which is step 0, 1 s so far\.\.\.$/.test(l)),
      lines.join('\n'),
    );
    assert.equal(existsSync(lock), false);
  });

  test('a lock name near the file-name limit (a long machine name) still works, its files named by hash', async () => {
    const d = join(dir, 'long-name');
    await mkdir(d);
    const lock = join(d, `${'n'.repeat(245)}.lock`);
    await writeFile(lock, deadRecord());
    let seen: string[] = [];
    await withFileLock(lock, { what: 'A long machine', doing: 'testing' }, async () => {
      seen = await readdir(d);
    });
    assert.deepEqual(seen, [`${'n'.repeat(245)}.lock`]);
    assert.deepEqual(await readdir(d), []);
  });

  test('the qemu segment lock: a process killed -9 while holding it blocks the next allocation under 2 s', async () => {
    const cache = join(dir, 'segment-cache');
    const marker = join(dir, 'segment-marker');
    const w = startWorker([cache, 'segment', 'm1'], {
      DM_TEST_PAUSE_AT: 'held@lock',
      DM_TEST_PAUSE_MARKER: marker,
    });
    try {
      await until('the worker to hold the segment lock', () => existsSync(marker));
    } finally {
      await killed(w);
    }
    const started = Date.now();
    const a = await allocateSegmentAddress(cache, 'm2');
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.equal(a.address, '10.251.0.2/24');
  });
});
