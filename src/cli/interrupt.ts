/**
 * Ctrl-C (SIGINT) and SIGTERM for a command that stops its work in order: the first one calls
 * `stop`; a second one, or work that has not stopped within `graceMs`, ends the process (after
 * `giveUp`). Returns the function that removes the handlers.
 */
export function onInterrupt(
  stop: (signal: NodeJS.Signals) => void,
  opts: { graceMs?: number; giveUp?: () => void } = {},
): () => void {
  let stopping = false;
  const end = (signal: NodeJS.Signals) => {
    opts.giveUp?.();
    process.exit(exitCodeOf(signal));
  };
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return end(signal);
    stopping = true;
    stop(signal);
    setTimeout(() => end(signal), opts.graceMs ?? 15_000).unref();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** As a shell reports a process ended by the signal: 128 + its number. */
export function exitCodeOf(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}
