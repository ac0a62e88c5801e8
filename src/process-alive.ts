/**
 * Whether a process with this pid runs on this machine: kill(pid, 0) succeeds, or is refused
 * because the process is another user's (EPERM). Lock owners, builders of cache files, folders
 * being removed and qemu members are all judged by it.
 */
export function processRuns(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
