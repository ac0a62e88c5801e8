import { MachineError } from '../../errors.js';

export interface ServerStatus {
  /** The provider's own word for the state ("new", "pending", "initializing"). */
  state: string;
  running: boolean;
  /** The provider says the server will never run (an errored create): stop waiting. */
  failed?: string;
}

/**
 * Polls a new server until the provider says it runs. Never faster than `intervalMs` (what the
 * provider documents, or what its rate limit allows a fleet), bounded by `timeoutMs`; a line
 * names the server, its state and the time waited whenever the state changes, and every 15 s.
 */
export async function waitUntilRunning(o: {
  what: string;
  poll: () => Promise<ServerStatus>;
  intervalMs: number;
  timeoutMs: number;
  log: (line: string) => void;
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
}): Promise<ServerStatus> {
  const started = Date.now();
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last = '';
  let lastLine = started;
  for (;;) {
    const s = await o.poll();
    const waited = Math.round((Date.now() - started) / 1000);
    if (s.running) {
      o.log(`${cap(o.what)} is ${s.state} (after ${waited} s)`);
      return s;
    }
    if (s.failed) throw new MachineError(`${o.what} will not run: ${s.failed} (state ${s.state})`);
    if (s.state !== last || Date.now() - lastLine >= 15_000) {
      o.log(`Waiting for ${o.what}: ${s.state || 'no state yet'}, ${waited} s`);
      last = s.state;
      lastLine = Date.now();
    }
    if (Date.now() - started + o.intervalMs > o.timeoutMs) {
      throw new MachineError(
        `Waited ${waited} s for ${o.what} to run; it is still ${s.state || 'without a state'}. rm removes it; or look at the provider's console`,
      );
    }
    if (o.signal?.aborted) throw new MachineError('interrupted before it finished');
    await sleep(o.intervalMs);
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
