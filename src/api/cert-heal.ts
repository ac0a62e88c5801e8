import { errorMessage } from '../errors.js';
import { type CertProblem, certErrorCode, certHosts, problemText, serverCertProblem } from './cert-health.js';
import { checkConnection } from './connection.js';
import type { ApiContext } from './context.js';
import { loadMachine, type Machine } from './machine.js';
import { type ProvisionOptions, regenerateMachineCerts } from './provision.js';

/**
 * A new server certificate for a machine whose certificate no longer fits it (cert-health.ts),
 * made as regenerate-certs makes it: over SSH, the engine restarted with live-restore so that
 * containers keep running, the docker context rewritten.
 */
export async function reissueServerCert(
  ctx: ApiContext,
  m: Machine,
  problem: CertProblem,
  opts: ProvisionOptions,
): Promise<void> {
  ctx.events({
    kind: 'info',
    machine: m.name,
    message: `${problemText(problem)}: issuing a new one and restarting its engine (containers keep running)...`,
  });
  await regenerateMachineCerts(ctx, m, opts);
}

/**
 * What env and config do when their check found the certificate wanting: under the machine's
 * lock, look again (another command may have healed it meanwhile) and reissue if it still does
 * not fit. Resolves to the problem that was cured, or undefined when there was none left.
 */
export async function healMachineCerts(
  ctx: ApiContext,
  name: string,
  opts: ProvisionOptions & { swarm?: boolean },
): Promise<CertProblem | undefined> {
  return ctx.store.withLock(
    name,
    async () => {
      const m = await loadMachine(ctx.store, name);
      const problem = await currentProblem(ctx, m, !!opts.swarm);
      if (problem) await reissueServerCert(ctx, m, problem, opts);
      return problem;
    },
    { doing: `checking the certificate of ${name}`, log: (message) => ctx.events({ kind: 'info', message }) },
  );
}

/** The store's certificate judged against the machine's names, then what the engine shows. */
async function currentProblem(ctx: ApiContext, m: Machine, swarm: boolean): Promise<CertProblem | undefined> {
  const url = await m.driver.getURL();
  const fromFile = await serverCertProblem(m, await certHosts(m, url));
  if (fromFile) return fromFile;
  try {
    await checkConnection(m, swarm, ctx.store.cacheDir);
    return undefined;
  } catch (err) {
    if (!certErrorCode(err)) return undefined;
    // The check's own words (its cause), without the original's regenerate-certs hint.
    const inner = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    return { kind: 'served', reason: errorMessage(inner) };
  }
}
