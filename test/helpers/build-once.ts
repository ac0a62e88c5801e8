import { existsSync } from 'node:fs';
import { withFileLock } from '../../src/store/lock.js';

/**
 * Build a file or folder of the shared test cache once, even when several test processes want
 * it at the same moment (a run from empty caches starts them together). The product's own file
 * lock guards the build, so a killed builder's lock is taken over at once and a waiter waits as
 * long as the builder lives. The build writes beside `target` and renames into place itself.
 */
export async function buildOnce(
  target: string,
  build: () => Promise<void>,
  opts: { what: string; log?: (line: string) => void },
): Promise<void> {
  if (existsSync(target)) return;
  await withFileLock(
    `${target}.lock`,
    { what: opts.what, doing: `building ${opts.what}`, timeoutMs: Number.POSITIVE_INFINITY, log: opts.log },
    async () => {
      if (!existsSync(target)) await build();
    },
  );
}
