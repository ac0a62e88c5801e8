import { num } from '../base.js';
import type { DriverContext, MachineState } from '../driver.js';
import { sleep, TASK_TIMEOUT_MS, type VSphereMachine } from './machine.js';
import { textOf, type VimClient } from './soap/client.js';
import type { MoRef } from './soap/envelope.js';
import { VimFault } from './soap/fault.js';

/** The VM's power: on, a guest shutdown, off, and its destruction at rm. */

/** summary.runtime.powerState to a machine state, as the original mapped it (suspended: None). */
export function machineState(powerState: string): MachineState {
  if (powerState === 'poweredOn') return 'Running';
  if (powerState === 'poweredOff') return 'Stopped';
  return '';
}

export async function powerState(c: VimClient, vm: MoRef): Promise<string> {
  return textOf((await c.props(vm, ['runtime.powerState']))['runtime.powerState']);
}

export async function powerOn(c: VimClient, vm: MoRef, what: string, signal?: AbortSignal): Promise<void> {
  await c.runTask('PowerOnVM_Task', vm, '', what, TASK_TIMEOUT_MS, signal);
}

export async function powerOff(c: VimClient, vm: MoRef, signal?: AbortSignal): Promise<void> {
  await c
    .runTask('PowerOffVM_Task', vm, '', `powering off VM ${vm.value}`, TASK_TIMEOUT_MS, signal)
    .catch((err) => {
      // Already off (a guest shutdown finished meanwhile): what was wanted.
      if (!(err instanceof VimFault && err.code === 'InvalidPowerState')) throw err;
    });
}

/** ShutdownGuest, then the power state polled: true once off within timeoutMs. */
export async function shutdownGuest(
  m: VSphereMachine,
  c: VimClient,
  vm: MoRef,
  timeoutMs: number,
): Promise<boolean> {
  try {
    await c.call('ShutdownGuest', vm, '');
  } catch (err) {
    if (err instanceof VimFault && err.code === 'InvalidPowerState') return true;
    if (err instanceof VimFault && /ToolsUnavailable|NotSupported/.test(err.code)) return false;
    throw err;
  }
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if ((await powerState(c, vm)) !== 'poweredOn') return true;
    await sleep(Math.min(m.pollMs, 2000));
  }
  return false;
}

/** Powers the VM off (after a guest shutdown, when rm is given time for one) and destroys it with its files. */
export async function destroy(m: VSphereMachine, ctx: DriverContext, c: VimClient, vm: MoRef): Promise<void> {
  if ((await powerState(c, vm)) === 'poweredOn') {
    const graceS = num(m.json, 'GracefulShutdownTimeout');
    if (graceS > 0 && (await shutdownGuest(m, c, vm, graceS * 1000))) {
      // shut down in time
    } else await powerOff(c, vm, ctx.signal);
  }
  await c.runTask('Destroy_Task', vm, '', `destroying VM ${vm.value}`, TASK_TIMEOUT_MS, ctx.signal);
}
