import { MachineError } from '../../errors.js';
import { isGone } from '../cloud/errors.js';
import type { DriverContext, MachineState } from '../driver.js';
import * as api from './api.js';
import { novaOf, type OpenStackMachine, sleep } from './machine.js';
import { machineState } from './state.js';

/** Start, stop, restart and kill as Nova server actions, and the server's state for ls and status. */

/** A power action, then its outcome waited for (the original returned at once). */
export async function power(
  m: OpenStackMachine,
  ctx: DriverContext,
  body: Record<string, unknown>,
  want: string,
  what: string,
): Promise<void> {
  const id = m.serverId;
  if (!id)
    throw new MachineError(
      `machine "${m.name}" has no server (its create did not finish); remove it with rm`,
    );
  const nova = await novaOf(m, ctx);
  await api.action(nova, id, body);
  const started = Date.now();
  let s = await api.server(nova, id);
  while (!(s.status === want && !s['OS-EXT-STS:task_state'])) {
    if (s.status === 'ERROR')
      throw new MachineError(`${what} of ${m.label()} failed: ${s.fault?.message ?? 'ERROR state'}`);
    if (Date.now() - started > m.timeoutMs)
      throw new MachineError(
        `${what} of ${m.label()}: still ${s.status} after ${Math.round(m.timeoutMs / 1000)} s (--openstack-active-timeout)`,
      );
    await sleep(Math.min(m.pollMs, 2000));
    s = await api.server(nova, id);
  }
}

export async function serverState(m: OpenStackMachine, signal?: AbortSignal): Promise<MachineState> {
  const id = m.serverId;
  if (!id) return 'NotFound';
  try {
    return machineState(
      (await api.server(await novaOf(m, signal ? { debug: () => {}, signal } : undefined), id)).status,
    );
  } catch (err) {
    if (isGone(err)) return 'NotFound';
    throw err;
  }
}
