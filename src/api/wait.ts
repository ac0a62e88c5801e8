import { errorMessage, MachineError } from '../errors.js';

/**
 * Poll until `probe` succeeds or the time is up. Every wait names what it waits for, reports
 * progress, and its error says how long it waited and what it saw last: the original's
 * "Maximum number of retries (60) exceeded" said none of that.
 */
export async function waitFor<T>(opts: {
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  probe: () => Promise<T>;
  progress?: (line: string) => void;
  signal?: AbortSignal;
  /** Errors that waiting cannot fix (a refused key, a changed host key): thrown at once. */
  fatal?: (err: unknown) => boolean;
}): Promise<T> {
  const started = Date.now();
  let last = 'nothing yet';
  let lastReport = started;
  for (;;) {
    try {
      return await opts.probe();
    } catch (err) {
      if (opts.fatal?.(err)) throw err;
      last = errorMessage(err).split('\n')[0];
    }
    const waited = Date.now() - started;
    if (waited >= opts.timeoutMs || opts.signal?.aborted) {
      throw new MachineError(`Waited ${Math.round(waited / 1000)} s for ${opts.what}; last seen: ${last}`);
    }
    if (opts.progress && Date.now() - lastReport >= 10_000) {
      lastReport = Date.now();
      opts.progress(`Still waiting for ${opts.what} (${Math.round(waited / 1000)} s; last seen: ${last})`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
  }
}
