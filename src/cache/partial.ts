import { readdirSync, rmSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { processRuns } from '../process-alive.js';

/**
 * Files and folders of the cache that take minutes to make (images, root file systems) are made
 * under a partial name beside their final name, FINAL.TAG-PID-XXXXXX, and renamed to FINAL when
 * complete: a final name always holds a complete thing. The pid in the name says who makes it,
 * so that the next run removes what a killed run left (its maker is gone) and never touches what
 * a running one is making, whatever locks there are. (A pid taken again by another process only
 * delays the removal until that one ends.)
 */

const PARTIAL = /\.(?:build|tmp)-(\d+)-[^/]*$/;

/** A new folder under a partial name beside `final`, owned by this process. */
export function makePartialDir(final: string, tag: 'build' | 'tmp' = 'build'): Promise<string> {
  return mkdtemp(`${final}.${tag}-${process.pid}-`);
}

let counter = 0;

/** A partial file name beside `final`, owned by this process (nothing is made). */
export function partialFile(final: string): string {
  return `${final}.tmp-${process.pid}-${++counter}${Date.now().toString(36)}`;
}

/** The pid in a partial name, or undefined for any other name. */
export function partialOwner(name: string): number | undefined {
  const m = PARTIAL.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Remove the partial files and folders in `dir` (those of `final` only, when given) whose maker
 * is no longer running. `remove` removes one (a build folder may hold mounts to undo first).
 * Returns the paths removed.
 */
export async function removeLeftovers(
  dir: string,
  opts: { final?: string; remove?: (path: string) => Promise<void> } = {},
): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const prefix = opts.final === undefined ? '' : `${basename(opts.final)}.`;
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = partialOwner(name);
    if (pid === undefined || processRuns(pid)) continue;
    const path = join(dir, name);
    try {
      await (opts.remove ?? removePartial)(path);
      removed.push(path);
    } catch {
      // Not ours to remove (another user's), or busy: it stays a partial name, never taken for whole.
    }
  }
  return removed;
}

/** removeLeftovers for the partial files of one final path, in its folder. */
export function removeLeftoversOf(
  final: string,
  remove?: (path: string) => Promise<void>,
): Promise<string[]> {
  return removeLeftovers(dirname(final), { final, remove });
}

/**
 * Remove a partial file or build folder. debootstrap mounts /proc and /sys inside the root file
 * system while it installs; a build killed then leaves them mounted, and removing the folder must
 * not reach into them: they are unmounted first.
 */
export async function removePartial(path: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mounts', 'utf8').catch(() => ''))
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => !!m && m.startsWith(`${path}/`))
    .sort((a, b) => b.length - a.length);
  if (mounts.length) {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    for (const m of mounts) await promisify(execFile)('umount', ['-l', m]).catch(() => {});
  }
  await rm(path, { recursive: true, force: true });
}

/** removeLeftoversOf for small files (no mounts inside), for callers that cannot wait. */
export function removeLeftoversOfSync(final: string): void {
  const prefix = `${basename(final)}.`;
  let names: string[] = [];
  try {
    names = readdirSync(dirname(final));
  } catch {}
  for (const name of names) {
    const pid = name.startsWith(prefix) ? partialOwner(name) : undefined;
    if (pid !== undefined && !processRuns(pid))
      rmSync(join(dirname(final), name), { recursive: true, force: true });
  }
}
