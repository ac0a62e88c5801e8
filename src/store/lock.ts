import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { MachineError } from '../errors.js';

/**
 * A lock file made with O_EXCL and holding the owner's pid. A lock whose process is gone is
 * taken over, so a killed command never blocks the next one for good.
 */
export async function withFileLock<T>(
  path: string,
  what: string,
  fn: () => Promise<T>,
  timeoutMs = 60_000,
): Promise<T> {
  await fsp.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    try {
      const fh = await fsp.open(path, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n${process.argv.slice(2).join(' ')}\n`);
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await lockHolder(path);
    if (holder !== undefined && !alive(holder)) {
      // The holder died; remove its lock unless another waiter already did.
      await fsp.unlink(path).catch(() => {});
      continue;
    }
    if (Date.now() >= deadline) {
      throw new MachineError(
        `${what} is locked by process ${holder ?? '?'} (${path}); wait for it to finish, or remove the file if no such process runs`,
      );
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
  try {
    return await fn();
  } finally {
    await fsp.unlink(path).catch(() => {});
  }
}

async function lockHolder(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await fsp.readFile(path, 'utf8')).split('\n')[0], 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
