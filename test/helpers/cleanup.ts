import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processRuns } from '../../src/process-alive.js';

/**
 * Cleanups for what a test process started (dockerd, sshd, bridges), run when it exits, also
 * when it is ended by SIGINT or SIGTERM (a runner's timeout), which skip the 'exit' event's
 * normal path otherwise.
 */
const tasks = new Set<() => void>();
let installed = false;

export function onProcessEnd(task: () => void): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', runAll);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        runAll();
        process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
      });
    }
  }
  tasks.add(task);
  return () => tasks.delete(task);
}

/** Last registered first, like defer: a container goes before its engine, the engine before its bridge. */
function runAll(): void {
  for (const t of [...tasks].reverse()) {
    tasks.delete(t);
    try {
      t();
    } catch {}
  }
}

/**
 * What test runs killed with SIGKILL left (their exit handlers never ran) in their folders named
 * PREFIX... under the temp folder, each holding an `owner` file with the run's pid: the mounts
 * under such a folder, deepest first, then the folder. Only folders whose owner has ended.
 */
export function sweepKilledDirs(prefix: string): void {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(prefix))) {
    const dir = join(tmpdir(), name);
    let owner = Number.NaN;
    try {
      owner = Number.parseInt(readFileSync(join(dir, 'owner'), 'utf8'), 10);
    } catch {}
    if (!Number.isInteger(owner) || owner <= 0 || processRuns(owner)) continue;
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((p) => p.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) {
      try {
        execFileSync('umount', [m], { stdio: 'ignore' });
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Forward rules a killed test left for its machines' bridge (SIGKILL skips onProcessEnd): a rule
 * of this helper's (a dmsw bridge to itself) whose bridge is gone has no live owner.
 */
export function sweepOrphanForwardRules(): void {
  let rules: string[];
  try {
    rules = execFileSync('iptables', ['-S', 'FORWARD'], { encoding: 'utf8' }).split('\n');
  } catch {
    return;
  }
  for (const r of rules) {
    const m = /^-A FORWARD -i (dmsw[0-9a-f]{6}) -o \1 -j ACCEPT$/.exec(r.trim());
    if (!m || existsSync(`/sys/class/net/${m[1]}`)) continue;
    try {
      execFileSync('iptables', ['-D', 'FORWARD', '-i', m[1], '-o', m[1], '-j', 'ACCEPT'], {
        stdio: 'ignore',
      });
    } catch {}
  }
}
