import {
  certErrorCode,
  certHealEnabled,
  certHosts,
  healable,
  problemText,
  serverCertExpiring,
  serverCertProblem,
  sharedCertWarnings,
} from '../api/cert-health.js';
import { machineTLS } from '../api/engine.js';
import type { Machine } from '../api/machine.js';
import type { MachineQueries } from '../api/queries.js';
import { isSSHEngine } from '../engine/endpoint.js';
import type { MachineError } from '../errors.js';
import { healCerts } from './cert-heal-hook.js';
import type { CommandContext } from './command.js';

/**
 * The connection check of env and config (the original's, spec §4.5), and what follows from it
 * for the certificates: a server certificate that no longer fits the machine (a new address, an
 * expiry within 30 days, a replaced CA) is reissued, unless MACHINE_NO_CERT_HEAL is set; the CA
 * and client certificate are warned about before they expire. When all is well this costs one
 * small file read beyond the check. `wrap` turns a failed check into the command's own error.
 */
export async function checkedConnection(
  ctx: CommandContext,
  api: MachineQueries,
  m: Machine,
  swarm: boolean,
  wrap: (err: unknown) => MachineError,
): Promise<string> {
  const heal = certHealEnabled(ctx.env);
  let url: string;
  try {
    url = await api.checkConnection(m, { swarm });
  } catch (err) {
    if (!heal || !(await curable(m, err))) throw wrap(err);
    return healThenCheck(ctx, api, m, swarm, wrap);
  }
  // An SSH-only engine has no certificates of ours in the way: nothing to heal or warn about.
  if (isSSHEngine(m.config)) return url;
  const expiring = serverCertExpiring(m);
  if (expiring && heal) return healThenCheck(ctx, api, m, swarm, wrap);
  if (expiring) {
    ctx.out.warn(
      `Warning: ${problemText(expiring)}; 'docker-machine regenerate-certs ${m.name}' renews it (MACHINE_NO_CERT_HEAL is set)`,
    );
  }
  for (const w of sharedCertWarnings(m, await machineTLS(m))) ctx.out.warn(w);
  return url;
}

/** A failed check that a new server certificate may cure: the TLS error says so, or the store's copy does. */
async function curable(m: Machine, err: unknown): Promise<boolean> {
  if (!healable(m)) return false;
  if (certErrorCode(err)) return true;
  try {
    return (await serverCertProblem(m, await certHosts(m))) !== undefined;
  } catch {
    return false;
  }
}

async function healThenCheck(
  ctx: CommandContext,
  api: MachineQueries,
  m: Machine,
  swarm: boolean,
  wrap: (err: unknown) => MachineError,
): Promise<string> {
  await healCerts(ctx, m.name, swarm);
  const healed = await api.load(m.name);
  let url: string;
  try {
    url = await api.checkConnection(healed, { swarm });
  } catch (err) {
    throw wrap(err);
  }
  for (const w of sharedCertWarnings(healed, await machineTLS(healed))) ctx.out.warn(w);
  return url;
}
