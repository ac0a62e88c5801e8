import { errorMessage, goQuote, MachineError, PreCreateError } from '../errors.js';
import { validateMachineName } from '../store/store.js';
import { ensureCertificates } from './certs.js';
import type { ApiContext } from './context.js';
import { type CreateRequest, type PreparedCreate, prepareCreate, runCreate } from './create.js';
import { type ProgressEvent, tracked } from './events.js';
import { buildHostOptions } from './host-options.js';
import type { Machine } from './machine.js';
import { nestedEngineWarning } from './nested-engine.js';

/**
 * A fleet: several machines from one `create`, made in parallel. Every name is checked, and every
 * machine passes its pre-create check, before any is made; then the creates run, a bounded number
 * at once, each exactly as a single create runs (so a failed one is left in the store for `rm`,
 * as a failed single create is). Every progress event carries its machine's name.
 */

/** Creates running at once when the caller does not say: all of them, up to this many. */
export const DEFAULT_PARALLEL = 10;

export interface FleetRequest {
  /** One request per machine (src/cli/create.ts builds them with requestsFor). */
  machines: CreateRequest[];
  /** How many creates run at once; default min(machines, DEFAULT_PARALLEL). */
  parallel?: number;
  /** Aborting stops every create at its next step and starts no more. */
  signal?: AbortSignal;
}

export interface FleetFailure {
  name: string;
  /** The create's error (may span lines; the first is the summary). */
  error: string;
  exitCode: number;
  /** Whether the machine is in the store (it then holds what the create made: `rm -y` removes it). */
  inStore: boolean;
}

export interface FleetResult {
  /** In the order of the request. */
  created: Machine[];
  failed: FleetFailure[];
}

export async function createFleet(ctx: ApiContext, req: FleetRequest): Promise<FleetResult> {
  const names = req.machines.map((r) => r.name);
  await checkNames(ctx, names);
  const parallel = req.parallel ?? Math.min(names.length, DEFAULT_PARALLEL);
  if (!Number.isInteger(parallel) || parallel < 1) {
    throw new MachineError(
      `parallel ${parallel}: expected the number of machines to create at once, at least 1`,
    );
  }
  const requests = req.machines.map((r) => ({ ...r, signal: req.signal ?? r.signal }));
  ctx.events({
    kind: 'info',
    message:
      names.length === 1
        ? `Creating 1 machine: ${names[0]}`
        : `Creating ${names.length} machines, ${parallel} at a time: ${names.join(', ')}`,
  });
  // Once for all: the CA and its lines before the machines' own, and one warning, not one each.
  const first = requests[0];
  await ensureCertificates(ctx, buildHostOptions(ctx.store.root, first.name, first, ctx.certs).AuthOptions);
  const warning = await nestedEngineWarning(ctx, first);
  if (warning) ctx.events({ kind: 'warn', message: warning });

  const checked = await eachLimited(requests, parallel, (r) =>
    prepareCreate(machineContext(ctx, r.name), r, { checkDockerHost: false }),
  );
  const refused = checked.flatMap((c, i) => (c.status === 'rejected' ? [[names[i], c.reason] as const] : []));
  if (refused.length > 0) {
    // The same error for every machine (a bad flag) is one line naming them all.
    const byMessage = new Map<string, string[]>();
    for (const [name, err] of refused) {
      const error = errorMessage(err).split('\n')[0];
      ctx.events({
        kind: 'state',
        machine: name,
        operation: 'create',
        state: 'failed',
        message: `create ${name}: ${error}`,
        error,
        step: 'Running pre-create checks...',
      });
      byMessage.set(errorMessage(err), [...(byMessage.get(errorMessage(err)) ?? []), name]);
    }
    const lines = [...byMessage].map(([message, which]) => `${which.join(', ')}: ${message}`);
    const allPreCreate = refused.every(([, err]) => err instanceof PreCreateError);
    throw new MachineError([...lines, 'No machine was created.'].join('\n'), {
      exitCode: allPreCreate ? 3 : 1,
    });
  }
  const prepared = checked.map((c) => (c as PromiseFulfilledResult<PreparedCreate>).value);

  // Machines waiting for the cluster that the first one makes stop waiting once its create fails.
  const firstFailed = new AbortController();
  const waiters = prepared.filter((p, i) => i > 0 && p.swarm?.awaitCluster);
  for (const p of waiters) if (p.swarm) p.swarm.abandoned = firstFailed.signal;
  const made = await eachLimited(
    requests,
    parallel,
    async (r, i) => {
      try {
        return await tracked(ctx, r.name, 'create', (c) => runCreate(c, r, prepared[i]));
      } catch (err) {
        if (i === 0 && waiters.length > 0) {
          firstFailed.abort(new Error(`its first manager ${r.name} was not created (${errorMessage(err)})`));
        }
        throw err;
      }
    },
    () => !req.signal?.aborted,
  );
  const result: FleetResult = { created: [], failed: [] };
  for (const [i, m] of made.entries()) {
    if (m.status === 'fulfilled') {
      result.created.push(m.value);
      continue;
    }
    const message = errorMessage(m.reason);
    if (m.reason instanceof NotStarted) {
      const error = 'interrupted before it started';
      ctx.events({
        kind: 'state',
        machine: names[i],
        operation: 'create',
        state: 'failed',
        message: `create ${names[i]}: ${error}`,
        error,
        step: 'create',
      });
    }
    result.failed.push({
      name: names[i],
      error: req.signal?.aborted && !message.includes('interrupted') ? `interrupted: ${message}` : message,
      exitCode: m.reason instanceof MachineError ? m.reason.exitCode : 1,
      inStore: await ctx.store.exists(names[i]),
    });
  }
  return result;
}

/**
 * All names are usable, or nothing is made: each one valid, none given twice, none taken. One
 * line per problem.
 */
async function checkNames(ctx: ApiContext, names: string[]): Promise<void> {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    // An empty name, or one with spaces or a newline, is quoted: visible, and on its own line.
    const shown = name === '' || /[\s\x00-\x1f\x7f]/.test(name) ? goQuote(name) : name;
    if (seen.has(name)) {
      problems.push(`${shown}: the name is given more than once`);
      continue;
    }
    seen.add(name);
    try {
      validateMachineName(name);
    } catch (err) {
      problems.push(`${shown}: ${errorMessage(err)}`);
      continue;
    }
    if (await ctx.store.exists(name)) problems.push(`${name}: Docker machine "${name}" already exists`);
  }
  if (problems.length > 0) throw new MachineError([...problems, 'No machine was created.'].join('\n'));
}

/** The context of one machine of the fleet: its events carry its name. */
function machineContext(ctx: ApiContext, name: string): ApiContext {
  return {
    ...ctx,
    events: (e) =>
      ctx.events({ ...e, machine: e.machine ?? name, operation: e.operation ?? 'create' } as ProgressEvent),
  };
}

/** A machine whose create never began (the fleet was interrupted first). */
class NotStarted extends MachineError {}

/**
 * fn over items with at most `limit` running at once, settled in the order of the items. Items
 * not started when `mayStart` turns false are rejected as not started.
 */
async function eachLimited<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  mayStart: () => boolean = () => true,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      if (!mayStart()) {
        results[i] = { status: 'rejected', reason: new NotStarted('interrupted before it started') };
        continue;
      }
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i], i) };
      } catch (err) {
        results[i] = { status: 'rejected', reason: err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
