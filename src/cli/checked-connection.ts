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
 * and client certificate are warned about before they expire. A TLS engine's answer also means
 * the machine folder holds the copies of the client certificates that env and config point docker
 * at. When all is well this costs a few small file reads beyond the check. `wrap` turns a failed
 * check into the command's own error.
 *
 * The engine's answer takes a round trip and the engine's own work: the reads that do not depend
 * on it are done in that time. What they find is only said, and their errors only thrown, once
 * the check has passed, as if they had been made after it.
 */
export async function checkedConnection(
  ctx: CommandContext,
  api: MachineQueries,
  m: Machine,
  swarm: boolean,
  wrap: (err: unknown) => MachineError,
): Promise<string> {
  const heal = certHealEnabled(ctx.env);
  let sent = () => {};
  const onTheWay = new Promise<void>((resolve) => {
    sent = resolve;
  });
  // Each promise is awaited below; until then a rejection is kept, not reported as unhandled.
  const handled = (p: Promise<unknown>) =>
    p.then(
      () => {},
      () => {},
    );
  const checking = api.checkConnection(m, { swarm, sent });
  // Once the handshake's first message is on its way, or the check is over (the Node build's TLS
  // and an SSH-only engine do not say when it has left).
  await Promise.race([onTheWay, handled(checking)]);
  const notes = certNotes(m);
  const copies = isSSHEngine(m.config) ? Promise.resolve() : api.ensureClientCerts(m);
  handled(notes);
  handled(copies);
  let url: string;
  try {
    url = await checking;
  } catch (err) {
    // Copies being written are finished before the command ends, whatever it says.
    await handled(copies);
    if (!heal || !(await curable(m, err))) throw wrap(err);
    url = await healThenCheck(ctx, api, m, swarm, wrap);
    await copies;
    return url;
  }
  await copies;
  // An SSH-only engine has no certificates of ours in the way: nothing to heal or warn about.
  const found = await notes;
  if (found === undefined) return url;
  if (found.expiring && heal) return healThenCheck(ctx, api, m, swarm, wrap);
  if (found.expiring) {
    ctx.out.warn(
      `Warning: ${problemText(found.expiring)}; 'docker-machine regenerate-certs ${m.name}' renews it (MACHINE_NO_CERT_HEAL is set)`,
    );
  }
  for (const w of found.warnings) ctx.out.warn(w);
  return url;
}

/** The store's certificates' dates as the check's pass needs them; undefined for an SSH-only engine. */
async function certNotes(
  m: Machine,
): Promise<{ expiring: ReturnType<typeof serverCertExpiring>; warnings: string[] } | undefined> {
  if (isSSHEngine(m.config)) return undefined;
  return { expiring: serverCertExpiring(m), warnings: sharedCertWarnings(m, await machineTLS(m)) };
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
