import { promises as fsp, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { errorMessage, MachineError } from '../errors.js';
import { processRuns } from '../process-alive.js';

/**
 * File locks that no killed process can leave blocking.
 *
 * The owner's record (pid, process start time, host, command, what it does) is written to a
 * temporary file beside the lock and link()ed into place, so a lock never exists without its
 * owner (EEXIST means taken). A lock whose owner is gone (no such pid, or a pid reused by a
 * process started at another time) is taken over at once; an empty or unreadable one (older
 * versions wrote the pid after creating the file) once it is 2 s old. The holder refreshes the
 * lock file's mtime every few seconds, so a waiter can wait on a long step (an image build) as
 * long as its holder lives, and stop with a clear line when the holder stops refreshing it.
 */

export interface LockOptions {
  /** What the lock guards, for errors: 'Machine "m1"', 'Network docker-machine'. */
  what: string;
  /** What the holder does under it, shown to waiters: 'building the machine image'. */
  doing: string;
  /** Where a waiter says what it waits for (at most every ~10 s). */
  log?: (line: string) => void;
  /**
   * How long to wait for a live holder. Short critical sections keep the default; a lock around
   * a long step passes Infinity, and its waiters wait as long as the holder lives and refreshes it.
   */
  timeoutMs?: number;
  /** After how long without a refresh a live holder counts as stopped (tests shorten it). */
  staleMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** How often a holder refreshes its lock's mtime. */
const HEARTBEAT_MS = 2_000;
/** A live holder silent this long is stopped (SIGSTOP) or hung. */
const STALE_MS = 30_000;
/** An ownerless (empty, unreadable) lock is taken over at this age. */
const ORPHAN_MS = 2_000;
/** Holders from versions before the refresh are waited on no longer than before. */
const LEGACY_BOUND_MS = 60_000;
const SAY_FIRST_MS = 1_000;
const SAY_EVERY_MS = 10_000;

interface Owner {
  pid: number;
  /** /proc/PID/stat field 22 (start time in clock ticks since boot); '' where unknown. */
  start: string;
  host: string;
  cmd: string;
  doing: string;
  /** Written by a version that refreshes the lock's mtime. */
  heartbeat: boolean;
}

/** Tail of the in-process queue per lock path: creates of one fleet wait here, not on the file. */
const queues = new Map<string, Promise<void>>();
/** What this process does under each lock it holds, for its own waiters' messages. */
const heldHere = new Map<string, { doing: string; since: number }>();

export async function withFileLock<T>(path: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(path);
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  const tail = (prev ?? Promise.resolve()).then(() => mine);
  queues.set(path, tail);
  try {
    if (prev) await waitInProcess(prev, path, opts);
    const lock = await acquire(path, opts).catch((err: unknown) => {
      if (err instanceof MachineError) throw err;
      throw new MachineError(`Cannot take the lock of ${opts.what} (${path}): ${errorMessage(err)}`, {
        cause: err,
      });
    });
    heldHere.set(path, { doing: opts.doing, since: Date.now() });
    try {
      await pauseAt('held', path);
      return await fn();
    } finally {
      heldHere.delete(path);
      await lock.release();
    }
  } finally {
    done();
    if (queues.get(path) === tail) queues.delete(path);
  }
}

async function waitInProcess(prev: Promise<void>, path: string, opts: LockOptions): Promise<void> {
  const started = Date.now();
  const bound = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let said = started - SAY_EVERY_MS + SAY_FIRST_MS;
  let finished = false;
  prev.then(() => (finished = true));
  while (!finished) {
    const now = Date.now();
    const held = heldHere.get(path);
    const holder = `this process${held ? `, which is ${held.doing}` : ''}`;
    if (now - started >= bound) {
      throw new MachineError(
        `${opts.what} is locked by ${holder} (${path}); it did not finish within ${Math.round(bound / 1000)} s`,
      );
    }
    if (opts.log && now - said >= SAY_EVERY_MS) {
      said = now;
      if (now - started >= SAY_FIRST_MS) opts.log(`Waiting for ${holder}, ${secs(now - started)} so far...`);
    }
    await Promise.race([prev, sleep(Math.min(250, Math.max(1, bound - (now - started))))]);
  }
}

interface Held {
  release(): Promise<void>;
}

async function acquire(path: string, opts: LockOptions): Promise<Held> {
  await fsp.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = await besideLock(path, 'tmp');
  const fh = await fsp.open(tmp, 'wx', 0o600);
  let linked = false;
  try {
    await fh.writeFile(ownerRecord(opts.doing));
    await pauseAt('temp-written', path);
    await takeTurn(path, tmp, fh, opts);
    linked = true;
    await pauseAt('linked', path);
    await fsp.unlink(tmp);
  } catch (err) {
    if (linked) await unlinkIfOurs(path, (await fh.stat()).ino);
    await fh.close().catch(() => {});
    await fsp.unlink(tmp).catch(() => {});
    throw err;
  }
  const { ino } = await fh.stat();
  // The file stays open: the refresh touches our inode even if the path was taken from us.
  const timer = setInterval(() => {
    const now = new Date();
    fh.utimes(now, now).catch(() => {});
  }, HEARTBEAT_MS);
  timer.unref();
  await sweepStrays(path);
  return {
    async release() {
      clearInterval(timer);
      await pauseAt('releasing', path);
      await unlinkIfOurs(path, ino);
      await fh.close().catch(() => {});
    },
  };
}

/** Only our own lock: one taken over from us (judged dead) belongs to another process now. */
async function unlinkIfOurs(path: string, ino: number): Promise<void> {
  try {
    if ((await fsp.stat(path)).ino === ino) await fsp.unlink(path);
  } catch {}
}

/** Link the owner file into place, waiting out live holders and taking over dead ones. */
async function takeTurn(path: string, tmp: string, fh: FileHandle, opts: LockOptions): Promise<void> {
  const started = Date.now();
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const staleMs = opts.staleMs ?? STALE_MS;
  let said = started - SAY_EVERY_MS + SAY_FIRST_MS;
  let swept = false;
  let delay = 5;
  const ownIno = (await fh.stat()).ino;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) {
      // The lock's mtime is its heartbeat: it must be fresh the moment the link appears.
      const now = new Date();
      await fh.utimes(now, now);
    }
    try {
      await fsp.link(tmp, path);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const v = await judge(path, staleMs);
    if (v.kind === 'gone') continue;
    if (v.kind === 'dead') {
      await takeOver(path, tmp, ownIno, staleMs);
      continue;
    }
    if (!swept) {
      swept = true;
      await sweepStrays(path);
    }
    const now = Date.now();
    const waited = now - started;
    if (v.kind === 'stopped') {
      throw new MachineError(
        `${opts.what} is locked by ${describe(v.owner)}, which has not refreshed its lock for ${secs(v.silentMs)} (is it stopped?) (${path}); resume or end that process, or remove the file if no such process runs`,
      );
    }
    const bound = v.kind === 'alive' && !v.owner.heartbeat ? Math.min(timeout, LEGACY_BOUND_MS) : timeout;
    if (waited >= bound) {
      const who = v.kind === 'alive' ? describe(v.owner) : 'process ?';
      throw new MachineError(
        `${opts.what} is locked by ${who} (${path}); wait for it to finish, or remove the file if no such process runs`,
      );
    }
    if (opts.log && now - said >= SAY_EVERY_MS && waited >= SAY_FIRST_MS) {
      said = now;
      const on =
        v.kind === 'alive'
          ? describe(v.owner)
          : `${path}, which names no owner (taken over once it is ${secs(ORPHAN_MS)} old)`;
      opts.log(`Waiting for ${on}, ${secs(waited)} so far...`);
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
}

type Verdict =
  | { kind: 'gone' }
  | { kind: 'dead' }
  | { kind: 'unknown' }
  | { kind: 'alive'; owner: Owner }
  | { kind: 'stopped'; owner: Owner; silentMs: number };

/** Who holds the lock, its record and its age read from one open file. */
async function judge(path: string, staleMs: number): Promise<Verdict> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw err;
  }
  let text: string;
  let age: number;
  try {
    age = Date.now() - (await fh.stat()).mtimeMs;
    text = await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
  const owner = parseOwner(text);
  if (!owner) return age >= ORPHAN_MS ? { kind: 'dead' } : { kind: 'unknown' };
  if (owner.host !== '' && owner.host !== hostname()) {
    // Another computer's process (a shared store): only its refreshes tell whether it lives.
    return owner.heartbeat && age >= staleMs ? { kind: 'dead' } : { kind: 'alive', owner };
  }
  if (!processAlive(owner.pid, owner.start)) return { kind: 'dead' };
  if (owner.heartbeat && age >= staleMs) return { kind: 'stopped', owner, silentMs: age };
  return { kind: 'alive', owner };
}

/**
 * Remove a dead owner's lock. Several waiters may judge it dead at once, and a lock taken
 * meanwhile must never be removed: removals are serialised by a takeover lock (our owner file
 * linked beside the lock), under which the lock is judged again before it goes. Only
 * takeovers remove another's lock, so what is judged dead there stays the same file until
 * unlinked. The takeover lock is held for a few system calls; one left by a killed process is
 * removed the same careful way.
 */
async function takeOver(path: string, tmp: string, ownIno: number, staleMs: number): Promise<void> {
  const mutex = await takeoverPath(path);
  try {
    await fsp.link(tmp, mutex);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await clearDeadMutex(path, staleMs);
    return;
  }
  try {
    await pauseAt('takeover', path);
    const v = await judge(path, staleMs);
    if (v.kind === 'dead') await fsp.unlink(path).catch(() => {});
  } finally {
    await unlinkIfOurs(mutex, ownIno);
  }
}

/** A takeover lock whose owner died: moved aside, and put back if what moved is alive after all. */
async function clearDeadMutex(path: string, staleMs: number): Promise<void> {
  const mutex = await takeoverPath(path);
  if ((await judge(mutex, staleMs)).kind !== 'dead') return;
  const aside = await besideLock(path, 'stale');
  try {
    await fsp.rename(mutex, aside);
  } catch {
    return;
  }
  if ((await judge(aside, staleMs)).kind !== 'dead') await fsp.link(aside, mutex).catch(() => {});
  await fsp.unlink(aside).catch(() => {});
}

async function takeoverPath(path: string): Promise<string> {
  return join(dirname(path), `${await strayPrefix(path)}takeover`);
}

let besideCount = 0;

/**
 * The name of a file beside the lock: the lock's name, our pid, 8 hex digits unique in this
 * process (a count) and unlikely to be a dead namesake's (random). A lock name near the file-name
 * limit (a long machine name) is replaced by its hash, so the lock stays usable.
 */
async function besideLock(path: string, kind: 'tmp' | 'stale'): Promise<string> {
  const unique = (((Math.random() * 0x10000) << 16) | (++besideCount & 0xffff)) >>> 0;
  return join(
    dirname(path),
    `${await strayPrefix(path)}${process.pid}.${unique.toString(16).padStart(8, '0')}.${kind}`,
  );
}

async function strayPrefix(path: string): Promise<string> {
  const base = basename(path);
  if (base.length <= 200) return `${base}.`;
  // Loaded only here: node:crypto costs every command's start-up (15 ms under Bun).
  const { createHash } = await import('node:crypto');
  return `.lock-${createHash('sha256').update(base).digest('hex').slice(0, 24)}.`;
}

/** Owner files (.tmp), moved-aside locks (.stale) and takeover locks left by processes killed while locking. */
async function sweepStrays(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = await strayPrefix(path);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === `${prefix}takeover`) await clearDeadMutex(path, STALE_MS).catch(() => {});
    const m = /^(\d+)\.[0-9a-f]{8}\.(tmp|stale)$/.exec(name.slice(prefix.length));
    if (!name.startsWith(prefix) || !m) continue;
    const file = join(dir, name);
    try {
      // A .tmp holds its maker's record (with its start time); a .stale holds the dead owner's.
      const rec = m[2] === 'tmp' ? parseOwner(await fsp.readFile(file, 'utf8')) : undefined;
      const pid = Number(m[1]);
      if (rec?.pid === pid ? processAlive(pid, rec.start) : processAlive(pid, '')) continue;
      await fsp.unlink(file);
    } catch {}
  }
}

/**
 * The pid on the first line (what older versions wrote, and read), then the record as JSON.
 */
function ownerRecord(doing: string): string {
  // The program as started (docker-machine, the qemu segment hub, a program using the library).
  const prog = basename(process.argv[1] ?? '') || 'node';
  const cmd = [prog, ...process.argv.slice(2)].join(' ').slice(0, 200);
  const rec = { start: startTime(process.pid), host: hostname(), cmd, doing, heartbeat: true };
  return `${process.pid}\n${JSON.stringify(rec)}\n`;
}

function parseOwner(text: string): Owner | undefined {
  const [first, second] = text.split('\n');
  if (!/^\d+$/.test(first ?? '')) return undefined;
  const pid = Number(first);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    const r = JSON.parse(second ?? '') as Record<string, unknown>;
    if (r && typeof r === 'object') {
      return {
        pid,
        start: typeof r.start === 'string' ? r.start : '',
        host: typeof r.host === 'string' ? r.host : '',
        cmd: typeof r.cmd === 'string' ? r.cmd : '',
        doing: typeof r.doing === 'string' ? r.doing : '',
        heartbeat: r.heartbeat === true,
      };
    }
  } catch {}
  // An older version's lock: its pid, then its command's arguments.
  return { pid, start: '', host: '', cmd: (second ?? '').trim(), doing: '', heartbeat: false };
}

function describe(o: Owner): string {
  return `process ${o.pid}${o.cmd ? ` (${o.cmd})` : ''}${o.doing ? `, which is ${o.doing}` : ''}`;
}

/** The process's start time, so that a pid reused by a new process is not taken for the owner. */
function startTime(pid: number): string {
  return procStat(pid)?.start ?? '';
}

function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after it.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0] ?? '', start: f[19] ?? '' };
  } catch {
    return undefined;
  }
}

function processAlive(pid: number, start: string): boolean {
  if (!processRuns(pid)) return false;
  const st = procStat(pid);
  if (!st) return true;
  // A killed process its parent has not reaped yet still answers kill(0).
  if (st.state === 'Z' || st.state === 'X') return false;
  return start === '' || st.start === '' || st.start === start;
}

function secs(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Test hook: DM_TEST_PAUSE_AT=POINT[@PART] stops this process at POINT (temp-written, takeover,
 * linked, held, releasing) of the first lock whose file name contains PART, after writing
 * "PID POINT PATH" to DM_TEST_PAUSE_MARKER, so that a test can kill it exactly there.
 */
async function pauseAt(point: string, path: string): Promise<void> {
  const want = process.env.DM_TEST_PAUSE_AT;
  if (!want) return;
  const at = want.indexOf('@');
  const p = at < 0 ? want : want.slice(0, at);
  const part = at < 0 ? '' : want.slice(at + 1);
  if (p !== point || !basename(path).includes(part)) return;
  const marker = process.env.DM_TEST_PAUSE_MARKER;
  if (marker) {
    // Written whole, then renamed: a test that sees the file reads the whole line.
    writeFileSync(`${marker}.${process.pid}`, `${process.pid} ${point} ${path}\n`);
    renameSync(`${marker}.${process.pid}`, marker);
  }
  await new Promise<never>(() => setInterval(() => {}, 60_000));
}
