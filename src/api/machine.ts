import { traceCalls } from '../debug.js';
import type { Driver, DriverContext } from '../drivers/driver.js';
import { loadDriver } from '../drivers/registry.js';
import type { HostConfig } from '../store/host.js';
import type { Store } from '../store/store.js';
import type { ProgressListener } from './events.js';
import { waitFor } from './wait.js';

/** A machine as loaded: its config.json data and the driver that manages it. */
export interface Machine {
  readonly name: string;
  config: HostConfig;
  readonly driver: Driver;
}

export async function loadMachine(store: Store, name: string): Promise<Machine> {
  return machineFromConfig(await store.load(name));
}

export async function machineFromConfig(config: HostConfig): Promise<Machine> {
  const mod = await loadDriver(config.DriverName);
  const driver = traceCalls(mod.fromJSON(config.Driver), `(${config.Name}) `);
  return { name: config.Name, config, driver };
}

/** Save the machine with its driver's current JSON; a machine removed meanwhile is not brought back. */
export async function saveMachine(store: Store, m: Machine): Promise<void> {
  m.config = { ...m.config, Driver: m.driver.toJSON() };
  await store.save(m.config, { existing: true });
}

/** How lifecycle operations let a driver reach and wait for its machine. */
export interface DriverReach {
  nativeSSH: boolean;
  /** Bound of each wait the driver makes. */
  timeoutMs: number;
}

export function driverContext(
  store: Store,
  m: Machine,
  listener: ProgressListener,
  signal?: AbortSignal,
  reach: DriverReach = { nativeSSH: false, timeoutMs: 120_000 },
): DriverContext {
  return {
    log: (message) => listener({ kind: 'driver', machine: m.name, message }),
    debug: (message) => listener({ kind: 'debug', machine: m.name, message: `(${m.name}) ${message}` }),
    save: () => saveMachine(store, m),
    signal,
    async ssh() {
      // Loaded on use: only drivers that act over SSH pay for the SSH code.
      const [{ sshTarget }, { connectSSH }] = await Promise.all([
        import('./provision.js'),
        import('../ssh/connect.js'),
      ]);
      return connectSSH(await sshTarget(m), { native: reach.nativeSSH, connectTimeoutMs: 10_000 });
    },
    waitFor: (what, probe, fatal) =>
      waitFor({
        what,
        probe,
        fatal,
        timeoutMs: reach.timeoutMs,
        signal,
        progress: (message) => listener({ kind: 'info', machine: m.name, message }),
      }),
    seedEngine: (req) => import('./seed-engine.js').then((s) => s.seedEngine(m, req)),
  };
}
