import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';

/**
 * Build a file or folder of the shared test cache once, even when several test processes want
 * it at the same moment (a run from empty caches starts them together): the first takes a lock
 * folder holding its pid and builds, the others wait for the result. A lock whose process is
 * gone is taken over; the build writes beside `target` and renames into place itself.
 */
export async function buildOnce(
  target: string,
  build: () => Promise<void>,
  opts: { what: string; waitMs?: number },
): Promise<void> {
  const lock = `${target}.building`;
  const deadline = Date.now() + (opts.waitMs ?? 20 * 60_000);
  for (;;) {
    if (existsSync(target)) return;
    let mine = false;
    try {
      mkdirSync(lock);
      mine = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (mine) {
      try {
        writeFileSync(`${lock}/pid`, String(process.pid));
        if (!existsSync(target)) await build();
        return;
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    }
    if (ownerGone(lock)) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`${opts.what}: another test process (${lock}) has been building it too long`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** True when the lock's process has ended; a lock without a pid yet gets 5 s to write one. */
function ownerGone(lock: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(`${lock}/pid`, 'utf8'), 10);
  } catch {
    try {
      return Date.now() - statSync(lock).mtimeMs > 5000;
    } catch {
      return false;
    }
  }
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
