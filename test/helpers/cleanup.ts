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
