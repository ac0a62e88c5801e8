import { errorMessage, MachineError } from '../errors.js';
import { type Member, memberOf, members, withMembership } from '../swarm/cluster.js';
import type { SwarmEngine } from '../swarm/engine.js';
import type { ApiContext } from './context.js';
import { loadAll } from './list.js';
import { loadMachine, type Machine, saveMachine } from './machine.js';
import { findManager, swarmEngineOf } from './swarm.js';
import { waitFor } from './wait.js';

/**
 * The swarm part of `rm`, before the driver removes the machine: a node leaves its cluster as
 * an operator would take it out (demote a manager, drain, leave, remove it from the managers'
 * list), so the cluster keeps no node that will never come back. Without force, anything that
 * stops that stops the rm; with force, it is said and the machine goes anyway.
 */

/** Bound of a drain: the tasks move to other nodes, or the rm goes on without waiting more. */
const DRAIN_MS = 60_000;
const DEMOTE_MS = 30_000;

export async function leaveCluster(ctx: ApiContext, m: Machine, force: boolean): Promise<void> {
  const me = memberOf(m.config);
  if (!me) return;
  const warn = (message: string) => ctx.events({ kind: 'warn', message });
  try {
    await takeOut(ctx, m, me, force, warn);
  } catch (err) {
    // With force the machine goes whatever happened to its node.
    if (!force) throw err;
    warn(`Warning: taking ${m.name} out of Swarm cluster "${me.cluster}": ${errorMessage(err)}`);
  }
}

async function takeOut(
  ctx: ApiContext,
  m: Machine,
  me: Member,
  force: boolean,
  warn: (message: string) => void,
): Promise<void> {
  const { machines } = await loadAll(ctx);
  const mates = members(machines.map((o) => o.config)).filter(
    (o) => o.cluster === me.cluster && o.name !== me.name,
  );
  const otherManagers = mates.filter((o) => o.role === 'manager');

  if (me.role === 'manager' && otherManagers.length === 0) {
    const workers = mates.map((o) => o.name);
    const also = workers.length ? ` (its workers ${workers.join(', ')} leave it too)` : '';
    if (!force) {
      throw new MachineError(
        `${m.name} is the last manager of Swarm cluster "${me.cluster}": removing it ends the cluster${also}. Use 'docker-machine rm -f ${m.name}' to remove it anyway`,
      );
    }
    warn(`Removing the last manager of Swarm cluster "${me.cluster}": the cluster ends${also}`);
    await bestEffort(warn, `${m.name} leaving the cluster`, async () => (await swarmEngineOf(m)).leave(true));
    for (const w of mates) await dissolveMember(ctx, w, warn);
    return;
  }

  let mgr: Awaited<ReturnType<typeof findManager>>;
  try {
    mgr = await findManager(ctx, me.cluster, otherManagers);
  } catch (err) {
    if (!force) {
      throw new MachineError(
        `${errorMessage(err)}, so ${m.name} cannot be taken out of the cluster: start a manager, or use 'docker-machine rm -f ${m.name}' (its node then stays in the cluster's list as down)`,
      );
    }
    warn(`${errorMessage(err)}: ${m.name}'s node stays in the cluster's list as down`);
    await bestEffort(warn, `${m.name} leaving the cluster`, async () => (await swarmEngineOf(m)).leave(true));
    return;
  }

  const step = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      if (!force) throw new MachineError(`${what} failed: ${errorMessage(err)}`, { cause: err });
      warn(`Warning: ${what} failed (${errorMessage(err)}); removing it anyway`);
    }
  };
  const manager = mgr.engine;
  const nodeId = me.nodeId;
  const node = nodeId ? await manager.node(nodeId).catch(() => null) : null;
  if (!node) {
    // The managers no longer know it (removed by hand): only the machine's own engine may care.
    await bestEffort(warn, `${m.name} leaving the cluster`, async () => (await swarmEngineOf(m)).leave(true));
    return;
  }
  if (node.Spec.Role === 'manager') {
    ctx.events({
      kind: 'info',
      message: `Demoting ${m.name} to a worker of Swarm cluster "${me.cluster}"...`,
    });
    await step(`Demoting ${m.name}`, async () => {
      await manager.updateNode(nodeId, (spec) => ({ ...spec, Role: 'worker' }));
      await waitFor({
        what: `${m.name} to stop being a manager`,
        timeoutMs: DEMOTE_MS,
        intervalMs: 250,
        probe: async () => {
          if ((await manager.node(nodeId)).ManagerStatus) throw new Error('still a manager');
        },
      });
    });
  }
  ctx.events({ kind: 'info', message: `Draining ${m.name}: its tasks move to the other nodes...` });
  await step(`Draining ${m.name}`, async () => {
    await manager.updateNode(nodeId, (spec) => ({ ...spec, Availability: 'drain' }));
    await drained(manager, nodeId).catch((err) =>
      // Tasks that do not stop in time stop when the node leaves; the rm goes on.
      warn(
        `Warning: ${m.name} still runs tasks after ${DRAIN_MS / 1000} s (${errorMessage(err)}); it leaves anyway`,
      ),
    );
  });
  await bestEffort(warn, `${m.name} leaving the cluster`, async () => (await swarmEngineOf(m)).leave(true));
  await step(`Removing ${m.name}'s node from Swarm cluster "${me.cluster}"`, () =>
    manager.removeNode(nodeId, true),
  );
}

async function drained(manager: SwarmEngine, nodeId: string): Promise<void> {
  await waitFor({
    what: 'its tasks to stop',
    timeoutMs: DRAIN_MS,
    intervalMs: 500,
    probe: async () => {
      const left = (await manager.runningTasks(nodeId)).filter((t) => t.Status.State === 'running');
      if (left.length) throw new Error(`${left.length} task(s) running`);
    },
  });
}

/** A worker of a cluster that ended: its engine leaves, and its record says it is in none. */
async function dissolveMember(ctx: ApiContext, w: Member, warn: (m: string) => void): Promise<void> {
  await ctx.store.withLock(
    w.name,
    async () => {
      const machine = await loadMachine(ctx.store, w.name);
      await bestEffort(warn, `${w.name} leaving the cluster`, async () =>
        (await swarmEngineOf(machine)).leave(true),
      );
      const s = machine.config.HostOptions.SwarmOptions;
      machine.config = {
        ...machine.config,
        HostOptions: { ...machine.config.HostOptions, SwarmOptions: withMembership(s, null) },
      };
      await saveMachine(ctx.store, machine);
    },
    { doing: `taking machine ${w.name} out of its ended cluster` },
  );
}

/** What rm cannot do on a machine that does not answer (stopped, gone) is said, not fatal. */
async function bestEffort(warn: (m: string) => void, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const text = errorMessage(err);
    if (/not part of a swarm/i.test(text)) return;
    warn(`Warning: ${what}: ${text.split('\n')[0]}`);
  }
}
