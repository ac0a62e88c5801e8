import type { DriverContext, MachineState } from '../drivers/driver.js';
import { MachineError } from '../errors.js';
import type { ApiContext } from './context.js';
import { syncMachineContext } from './docker-context.js';
import { driverContext, type Machine, saveMachine } from './machine.js';
import { waitFor } from './wait.js';

/**
 * start, stop, kill and restart of one machine (spec §2.8, §2.13, §2.17, §2.19, §7.3), with the
 * original's progress lines and errors. Each wait is bounded by `timeoutMs` (--wait-timeout)
 * instead of the original's 60 x 3 s, and names what it waited for.
 */
export interface LifecycleOptions {
  nativeSSH: boolean;
  /** Bound of each wait: the machine's state, a reboot, SSH, the engine. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Printed once after every machine started (literal backticks, as the original). */
export const STARTED_NOTICE =
  'Started machines may have new IP addresses. You may need to re-run the `docker-machine env` command.';
export const RESTARTED_NOTICE =
  'Restarted machines may have new IP addresses. You may need to re-run the `docker-machine env` command.';

export async function startMachine(ctx: ApiContext, m: Machine, opts: LifecycleOptions): Promise<void> {
  info(ctx, m, `Starting "${m.name}"...`);
  await actionForState(ctx, m, opts, 'Running', (dctx) => m.driver.start(dctx));
  info(ctx, m, `Machine "${m.name}" was started.`);
  await waitForDocker(ctx, m, opts);
  if (m.config.HostOptions.SwarmOptions.Role) {
    const { warnIfMoved } = await import('./swarm.js');
    await warnIfMoved(ctx, m);
  }
  await saveMachine(ctx.store, m);
  await syncMachineContext(ctx, m);
}

export async function stopMachine(ctx: ApiContext, m: Machine, opts: LifecycleOptions): Promise<void> {
  info(ctx, m, `Stopping "${m.name}"...`);
  await actionForState(ctx, m, opts, 'Stopped', (dctx) => m.driver.stop(dctx));
  info(ctx, m, `Machine "${m.name}" was stopped.`);
  await saveMachine(ctx.store, m);
}

export async function killMachine(ctx: ApiContext, m: Machine, opts: LifecycleOptions): Promise<void> {
  info(ctx, m, `Killing "${m.name}"...`);
  await actionForState(ctx, m, opts, 'Stopped', (dctx) => m.driver.kill(dctx));
  info(ctx, m, `Machine "${m.name}" was killed.`);
  await saveMachine(ctx.store, m);
}

/** A stopped machine is started; a running one restarted; then, either way, the engine waited for. */
export async function restartMachine(ctx: ApiContext, m: Machine, opts: LifecycleOptions): Promise<void> {
  info(ctx, m, `Restarting "${m.name}"...`);
  const state = await stateOf(m, opts.signal);
  if (state === 'Stopped') {
    // start waits for the engine itself; the original waited a second time here.
    await startMachine(ctx, m, opts);
    return;
  }
  if (state === 'Running') {
    await m.driver.restart(dctxFor(ctx, m, opts));
    await waitForState(m, 'Running', opts);
  }
  await waitForDocker(ctx, m, opts);
  await saveMachine(ctx.store, m);
  await syncMachineContext(ctx, m);
}

/** The original's runActionForState: refuse when already there, act, wait until there. */
async function actionForState(
  ctx: ApiContext,
  m: Machine,
  opts: LifecycleOptions,
  desired: MachineState,
  action: (dctx: DriverContext) => Promise<void>,
): Promise<void> {
  if ((await stateOf(m, opts.signal)) === desired) {
    throw new MachineError(`Machine "${m.name}" is already ${desired.toLowerCase()}.`);
  }
  await action(dctxFor(ctx, m, opts));
  await waitForState(m, desired, opts);
}

function waitForState(m: Machine, desired: MachineState, opts: LifecycleOptions): Promise<void> {
  return waitFor({
    what: `machine "${m.name}" to be ${desired.toLowerCase()}`,
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    probe: async () => {
      const s = await m.driver.getState(opts.signal);
      if (s !== desired) throw new Error(`state ${s || 'unknown'}`);
    },
  });
}

/** A state query that fails counts as "not in that state", as in the original. */
async function stateOf(m: Machine, signal?: AbortSignal): Promise<MachineState> {
  try {
    return await m.driver.getState(signal);
  } catch {
    return '';
  }
}

async function waitForDocker(ctx: ApiContext, m: Machine, opts: LifecycleOptions): Promise<void> {
  const { waitForDocker } = await import('./provision.js');
  await waitForDocker(ctx, m, opts);
}

function dctxFor(ctx: ApiContext, m: Machine, opts: LifecycleOptions): DriverContext {
  return driverContext(ctx.store, m, ctx.events, opts.signal, {
    nativeSSH: opts.nativeSSH,
    timeoutMs: opts.timeoutMs,
  });
}

function info(ctx: ApiContext, m: Machine, message: string): void {
  ctx.events({ kind: 'info', machine: m.name, message });
}
