/**
 * A child process for the lock tests. Usage:
 *   lock-worker.ts LOCK hold MS DOING       take LOCK, print "held", keep it MS ms
 *   lock-worker.ts LOCK count COUNTER N [abandon]
 *                                           N times under LOCK: mark COUNTER.inside (O_EXCL, so an
 *                                           overlap fails), increment COUNTER, unmark; with abandon,
 *                                           then replace the lock by a dead process's and leave it
 *   lock-worker.ts LOCK take TIMEOUT_MS     take LOCK with that bound, print the ms it took
 *   lock-worker.ts CACHE segment NAME       allocate NAME an address on the qemu segment of CACHE
 * DM_TEST_PAUSE_AT / DM_TEST_PAUSE_MARKER stop it at a point of the lock's life (see lock.ts).
 */
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { withFileLock } from '../../src/store/lock.js';

const [path, op, a, b] = process.argv.slice(2);
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  switch (op) {
    case 'hold':
      await withFileLock(
        path,
        { what: 'The test lock', doing: b ?? 'holding it for a test', log },
        async () => {
          process.stdout.write('held\n');
          await new Promise((r) => setTimeout(r, Number(a)));
        },
      );
      return;
    case 'count':
      for (let i = 0; i < Number(b); i++) {
        await withFileLock(path, { what: 'The counter', doing: 'counting', log }, async () => {
          const mark = await fsp.open(`${a}.inside`, 'wx');
          await mark.close();
          const n = Number((await fsp.readFile(a, 'utf8').catch(() => '0')) || '0');
          await new Promise((r) => setTimeout(r, 2));
          await fsp.writeFile(a, String(n + 1));
          await fsp.unlink(`${a}.inside`);
          if (process.argv[6] === 'abandon') {
            // As if this holder died here: the lock now names a process that cannot exist, and
            // (being another file) it is not ours to release. The waiters race to take it over.
            const dead = `${path}.abandon-${process.pid}`;
            await fsp.writeFile(
              dead,
              `99999999\n${JSON.stringify({ start: '1', host: hostname(), heartbeat: true })}\n`,
            );
            await fsp.rename(dead, path);
          }
        });
      }
      return;
    case 'take': {
      const started = Date.now();
      await withFileLock(
        path,
        { what: 'The test lock', doing: 'taking it', log, timeoutMs: Number(a) },
        async () => {
          process.stdout.write(`${Date.now() - started}\n`);
        },
      );
      return;
    }
    case 'segment': {
      const { allocateSegmentAddress } = await import('../../src/drivers/qemu/segment.js');
      process.stdout.write(`${(await allocateSegmentAddress(path, a)).address}\n`);
      return;
    }
    default:
      throw new Error(`unknown op ${op}`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
