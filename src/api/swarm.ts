import { EngineRequestError } from '../engine/client.js';
import { errorMessage, MachineError } from '../errors.js';
import { ipVersion } from '../ip.js';
import type { HostConfig, SwarmRole } from '../store/host.js';
import { chooseCluster, type Member, memberOf, members, withMembership } from '../swarm/cluster.js';
import { type JoinRequest, SwarmEngine, type SwarmInfo } from '../swarm/engine.js';
import { initOptions, joinOptions, nodeLabels, SWARM_PORT, withSwarmPort } from '../swarm/options.js';
import type { ApiContext } from './context.js';
import { engineClient, engineURL } from './engine.js';
import type { CreateOptions } from './host-options.js';
import { loadAll } from './list.js';
import { loadMachine, type Machine, saveMachine } from './machine.js';
import { waitFor } from './wait.js';

/**
 * Swarm mode from the original's create flags: --swarm-master makes the machine a manager (it
 * initialises a cluster, or joins the one that exists as another manager), --swarm makes it a
 * worker. The cluster is reached through the managers' engines over their TLS API; what each
 * machine became is recorded in its config.json (see SwarmOptions.Role).
 */

/** What create checked before making anything, for the swarm step after provisioning. */
export interface SwarmPlan {
  manager: boolean;
  /** The cluster asked for: its name or one of its machines' ('' for the store's only one). */
  key: string;
  /** Another create of this command makes the cluster: wait for it rather than fail or init. */
  awaitCluster: boolean;
  /** Aborted, with the reason, when that create failed: the cluster will not come then. */
  abandoned?: AbortSignal;
  init: ReturnType<typeof initOptions>;
  join: ReturnType<typeof joinOptions>;
  /** --swarm-addr. */
  addr: string;
  labels: Record<string, string>;
}

/** Bound of one call to a manager or to the new node (a join itself takes up to 20 s). */
const CALL_MS = 45_000;
/**
 * Bound of the check of managers before anything is created. A manager without quorum answers
 * /info only after its own 20 s wait for a leader, with the reason in Swarm.Error.
 */
const PROBE_MS = 30_000;

/**
 * The checks of the swarm flags that can be made before the machine exists, so that a typo, a
 * missing cluster or a cluster without a manager that answers costs no machine. Null when no
 * Swarm-mode step is to run.
 */
export async function planSwarm(
  ctx: ApiContext,
  req: CreateOptions & { name: string; driver: string },
): Promise<SwarmPlan | null> {
  const s = req.swarm ?? {};
  const discovery = s.discovery ?? '';
  if (!s.master && !s.agent) {
    if (s.cluster) throw new MachineError('--swarm-cluster needs --swarm or --swarm-master');
    // Nothing of Swarm mode runs: the value is stored as the original stored it, checked as it did.
    checkDiscoveryURL(discovery);
    return null;
  }
  if (req.driver === 'none') {
    checkDiscoveryURL(discovery);
    ctx.events({
      kind: 'warn',
      message:
        'The none driver does not provision its machine: the swarm flags are stored, and the machine joins no cluster.',
    });
    return null;
  }
  if (s.cluster && discovery && s.cluster !== discovery) {
    throw new MachineError(
      `--swarm-cluster ${s.cluster} and --swarm-discovery ${discovery} name different clusters; give one of them`,
    );
  }
  const plan: SwarmPlan = {
    manager: !!s.master,
    key: s.cluster || discovery,
    awaitCluster: !!s.awaitCluster,
    init: initOptions(s.opts ?? []),
    join: joinOptions(s.joinOpts ?? []),
    addr: s.addr ?? '',
    labels: nodeLabels(req.engine?.labels ?? []),
  };
  if (plan.awaitCluster) return plan;
  const all = await loadConfigs(ctx, req.name);
  const choice = resolveCluster(all, plan.key);
  if (choice.kind === 'none' && !plan.manager) {
    throw new MachineError(
      `${choice.name ? `There is no Swarm cluster "${choice.name}"` : 'There is no Swarm cluster'} in the store for ${req.name} to join as a worker: create its first manager with --swarm-master`,
    );
  }
  if (choice.kind === 'found') await findManager(ctx, choice.cluster, choice.members, PROBE_MS);
  return plan;
}

/** The original's check of --swarm-discovery, where the value is only stored. */
function checkDiscoveryURL(discovery: string): void {
  if (discovery !== '' && !/[^:]*:\/\/.*/.test(discovery)) {
    throw new MachineError(
      `Error parsing swarm discovery: Swarm Discovery URL was in the wrong format: ${discovery}`,
    );
  }
}

async function loadConfigs(ctx: ApiContext, except: string): Promise<HostConfig[]> {
  const { machines } = await loadAll(ctx);
  return machines.map((m) => m.config).filter((c) => c.Name !== except);
}

type Resolved = { kind: 'found'; cluster: string; members: Member[] } | { kind: 'none'; name: string };

/** `waiting`: the machine named by key is being created and will record its cluster. */
function resolveCluster(all: HostConfig[], key: string, waiting = false): Resolved {
  const choice = chooseCluster(members(all), key);
  if (choice.kind === 'ambiguous') {
    throw new MachineError(
      `The store holds several Swarm clusters (${choice.names.join(', ')}): name one with --swarm-cluster`,
    );
  }
  if (choice.kind === 'none' && !waiting && key && all.some((c) => c.Name === key)) {
    throw new MachineError(`Machine "${key}" is in no Swarm cluster: name a cluster or one of its machines`);
  }
  return choice;
}

export async function swarmEngineOf(m: Machine, timeoutMs = CALL_MS): Promise<SwarmEngine> {
  return new SwarmEngine(await engineClient(m, await engineURL(m), timeoutMs));
}

interface ManagerReach {
  machine: Machine;
  engine: SwarmEngine;
  info: SwarmInfo;
}

/**
 * A manager of the cluster whose engine answers, is in that cluster and has a leader to talk
 * to. Errors say, for each manager, why it could not serve.
 */
export async function findManager(
  ctx: ApiContext,
  cluster: string,
  all: Member[],
  timeoutMs = CALL_MS,
): Promise<ManagerReach> {
  const managers = all.filter((m) => m.role === 'manager');
  if (managers.length === 0) {
    throw new MachineError(
      `Swarm cluster "${cluster}" has no manager in the store (${all.map((m) => m.name).join(', ')} are workers)`,
    );
  }
  const seen: string[] = [];
  let noLeader: string | undefined;
  for (const mm of managers) {
    try {
      const machine = await loadMachine(ctx.store, mm.name);
      const engine = await swarmEngineOf(machine, timeoutMs);
      const info = await engine.info();
      if (info.Error && isNoLeader(info.Error)) {
        noLeader = mm.name;
        seen.push(`${mm.name}: ${info.Error}`);
        continue;
      }
      if (info.LocalNodeState !== 'active' || !info.ControlAvailable) {
        seen.push(`${mm.name}: its engine is not a swarm manager (swarm state ${info.LocalNodeState})`);
        continue;
      }
      if (mm.clusterId && info.Cluster?.ID && info.Cluster.ID !== mm.clusterId) {
        seen.push(`${mm.name}: its engine is in another cluster (${info.Cluster.ID}, not ${mm.clusterId})`);
        continue;
      }
      try {
        // Only a manager that reaches a leader hands out join tokens.
        await engine.inspect();
      } catch (err) {
        if (isNoLeader(err)) {
          noLeader = mm.name;
          seen.push(`${mm.name}: ${engineText(err)}`);
          continue;
        }
        throw err;
      }
      return { machine, engine, info };
    } catch (err) {
      seen.push(`${mm.name}: ${errorMessage(err).split('\n')[0]}`);
    }
  }
  if (noLeader) {
    throw new MachineError(
      `Swarm cluster "${cluster}" has lost quorum: more than half of its managers must be running for it to accept changes (${seen.join('; ')})`,
    );
  }
  throw new MachineError(`No manager of Swarm cluster "${cluster}" answers (${seen.join('; ')})`);
}

/** The engine's words for a cluster without a leader (a manager waiting for one times out). */
function isNoLeader(err: unknown): boolean {
  return /does not have a leader|no leader|lost quorum|deadline exceeded/i.test(engineText(err));
}

function engineText(err: unknown): string {
  return err instanceof EngineRequestError ? err.engineMessage : errorMessage(err);
}

/** HOST:PORT the new node advertises: --swarm-addr, else its address on the machines' network. */
async function advertiseAddress(ctx: ApiContext, m: Machine, addr: string): Promise<string> {
  if (addr) return withSwarmPort(addr);
  const ip = m.driver.clusterAddress ? await m.driver.clusterAddress() : await m.driver.getIP();
  if (ip.startsWith('127.') || ip === '::1' || ip === 'localhost') {
    ctx.events({
      kind: 'warn',
      message: `Warning: ${m.name} advertises ${ip}, which other machines cannot reach; give --swarm-addr its address on the network the machines share`,
    });
  }
  return ipVersion(ip) === 6 ? `[${ip}]:${SWARM_PORT}` : `${ip}:${SWARM_PORT}`;
}

export interface SwarmStepOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** The swarm step of create, after the engine is up: init or join, labels, the record. */
export async function configureSwarm(
  ctx: ApiContext,
  m: Machine,
  plan: SwarmPlan,
  opts: SwarmStepOptions,
): Promise<void> {
  const info = (message: string) => ctx.events({ kind: 'info', message });
  info('Configuring swarm...');
  const self = await swarmEngineOf(m);
  const own = await self.info();
  if (own.LocalNodeState !== 'inactive') {
    throw new MachineError(
      `The engine of ${m.name} is in a swarm already (state ${own.LocalNodeState}${own.NodeID ? `, node ${own.NodeID}` : ''}): make it leave with 'docker swarm leave', or create it without swarm flags`,
    );
  }
  const advertise = await advertiseAddress(ctx, m, plan.addr);
  let choice = resolveCluster(await loadConfigs(ctx, m.name), plan.key, plan.awaitCluster);
  if (choice.kind === 'none' && plan.awaitCluster) {
    const key = plan.key;
    info(`Waiting for cluster "${key}" to be initialised by its first manager...`);
    choice = await waitFor({
      what: `Swarm cluster "${key}" to be initialised by its first manager`,
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      intervalMs: 500,
      progress: info,
      // A failed manager create never records a cluster: its fleet says so (abandoned), or,
      // for a create of another command, only the bound ends this wait.
      fatal: (err) => err instanceof ClusterAbandoned,
      probe: async () => {
        if (plan.abandoned?.aborted) {
          const why = errorMessage(plan.abandoned.reason).split('\n')[0];
          throw new ClusterAbandoned(`Swarm cluster "${key}" will not be initialised: ${why}`);
        }
        const c = resolveCluster(await loadConfigs(ctx, m.name), key, true);
        if (c.kind === 'none') throw new Error(`no machine of "${key}" has recorded its membership yet`);
        return c;
      },
    });
  }
  if (choice.kind === 'none') {
    if (!plan.manager) throw new MachineError(`There is no Swarm cluster for ${m.name} to join`);
    await initCluster(ctx, m, self, plan, choice.name || m.name, advertise);
    return;
  }
  await joinCluster(ctx, m, self, plan, choice, advertise, opts);
}

class ClusterAbandoned extends MachineError {}

async function initCluster(
  ctx: ApiContext,
  m: Machine,
  self: SwarmEngine,
  plan: SwarmPlan,
  cluster: string,
  advertise: string,
): Promise<void> {
  ctx.events({
    kind: 'info',
    message: `Initialising Swarm cluster "${cluster}" with ${m.name} as its first manager, at ${advertise}...`,
  });
  const { ListenAddr, ...fields } = plan.init;
  let nodeId: string;
  try {
    nodeId = await self.init({
      ...fields,
      ListenAddr: ListenAddr ?? `0.0.0.0:${SWARM_PORT}`,
      AdvertiseAddr: advertise,
    });
  } catch (err) {
    throw new MachineError(`swarm init on ${m.name} failed: ${engineText(err)}`, { cause: err });
  }
  try {
    const after = await self.info();
    if (Object.keys(plan.labels).length) await labelNode(self, nodeId, plan.labels);
    await record(ctx, m, {
      cluster,
      role: 'manager',
      clusterId: after.Cluster?.ID ?? '',
      nodeId,
      advertiseAddr: advertise,
    });
  } catch (err) {
    // Nothing half-made: the engine leaves the cluster it just made.
    await self.leave(true).catch(() => {});
    throw err;
  }
}

async function joinCluster(
  ctx: ApiContext,
  m: Machine,
  self: SwarmEngine,
  plan: SwarmPlan,
  choice: { cluster: string; members: Member[] },
  advertise: string,
  opts: SwarmStepOptions,
): Promise<void> {
  const role: SwarmRole = plan.manager ? 'manager' : 'worker';
  const mgr = await findManager(ctx, choice.cluster, choice.members);
  const tokens = (await mgr.engine.inspect()).JoinTokens;
  // The engine joins through the first address only: the manager that just answered goes first.
  const managers = mgr.info.RemoteManagers ?? [];
  const own = managers.find((r) => r.NodeID === mgr.info.NodeID)?.Addr ?? withSwarmPort(mgr.info.NodeAddr);
  const remote = [own, ...managers.map((r) => r.Addr).filter((a) => a !== own)];
  ctx.events({
    kind: 'info',
    message: `Joining Swarm cluster "${choice.cluster}" as a ${role} through ${mgr.machine.name} (${remote.join(', ')}), at ${advertise}...`,
  });
  const { ListenAddr, ...fields } = plan.join;
  await joinNode(m.name, choice.cluster, self, mgr.engine, {
    ...fields,
    ListenAddr: ListenAddr ?? `0.0.0.0:${SWARM_PORT}`,
    AdvertiseAddr: advertise,
    RemoteAddrs: remote,
    JoinToken: role === 'manager' ? tokens.Manager : tokens.Worker,
  });
  let nodeId = '';
  try {
    nodeId = (await self.info()).NodeID;
    await waitFor({
      what: `node ${m.name} to be Ready in Swarm cluster "${choice.cluster}"`,
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      intervalMs: 250,
      progress: (message) => ctx.events({ kind: 'info', message }),
      probe: async () => {
        const n = await mgr.engine.node(nodeId);
        if (n.Status.State !== 'ready') throw new Error(`node state ${n.Status.State}`);
      },
    });
    if (Object.keys(plan.labels).length) await labelNode(mgr.engine, nodeId, plan.labels);
    await record(ctx, m, {
      cluster: choice.cluster,
      role,
      clusterId: mgr.info.Cluster?.ID ?? '',
      nodeId,
      advertiseAddr: advertise,
    });
  } catch (err) {
    await undoJoin(self, mgr.engine, nodeId);
    throw err;
  }
}

/**
 * swarm join, with the engine's refusal in words that name the cause (a rejected token,
 * managers out of reach); a failed join leaves nothing behind on either side.
 */
export async function joinNode(
  name: string,
  cluster: string,
  self: SwarmEngine,
  manager: SwarmEngine,
  req: JoinRequest,
): Promise<void> {
  try {
    await self.join(req);
  } catch (err) {
    await undoJoin(self, manager);
    throw new MachineError(joinErrorText(name, cluster, req.RemoteAddrs, err), { cause: err });
  }
}

/** The new node leaves, and the managers forget it: no half-registered node stays behind. */
async function undoJoin(self: SwarmEngine, manager: SwarmEngine, nodeId?: string): Promise<void> {
  const id = nodeId || (await self.info().catch(() => null))?.NodeID || '';
  await self.leave(true).catch(() => {});
  if (id) await manager.removeNode(id, true).catch(() => {});
}

function joinErrorText(name: string, cluster: string, remote: string[], err: unknown): string {
  const text = engineText(err);
  if (/join token/i.test(text)) {
    return `The managers of Swarm cluster "${cluster}" rejected ${name}'s join token: ${text}`;
  }
  if (/Timeout was reached|context deadline|connection error|no route|connection refused/i.test(text)) {
    return `${name} could not reach the managers of Swarm cluster "${cluster}" at ${remote.join(', ')}: they must be reachable from ${name} on the network the machines share (${text.split('\n')[0]})`;
  }
  return `${name} could not join Swarm cluster "${cluster}": ${text}`;
}

/** --engine-label values as the node's labels, added to whatever it has. */
async function labelNode(
  manager: SwarmEngine,
  nodeId: string,
  labels: Record<string, string>,
): Promise<void> {
  await manager.updateNode(nodeId, (spec) => ({ ...spec, Labels: { ...(spec.Labels ?? {}), ...labels } }));
}

async function record(
  ctx: ApiContext,
  m: Machine,
  membership: Parameters<typeof withMembership>[1] & {},
): Promise<void> {
  m.config = {
    ...m.config,
    HostOptions: {
      ...m.config.HostOptions,
      SwarmOptions: withMembership(m.config.HostOptions.SwarmOptions, membership),
    },
  };
  await saveMachine(ctx.store, m);
}

/**
 * `env --swarm` / `config --swarm`: the machine to point docker at. A manager is its own; a
 * worker's is a manager of its cluster that runs. Machines outside Swarm mode are themselves
 * (the connection check then applies the original's rules).
 */
export async function swarmManagerFor(ctx: ApiContext, m: Machine): Promise<Machine> {
  const me = memberOf(m.config);
  if (!me || me.role === 'manager') return m;
  const all = members(await loadConfigs(ctx, m.name)).filter((o) => o.cluster === me.cluster);
  const managers = all.filter((o) => o.role === 'manager');
  const seen: string[] = [];
  for (const mm of managers) {
    try {
      const candidate = await loadMachine(ctx.store, mm.name);
      await candidate.driver.getURL();
      return candidate;
    } catch (err) {
      seen.push(`${mm.name}: ${errorMessage(err)}`);
    }
  }
  throw new MachineError(
    managers.length
      ? `No manager of Swarm cluster "${me.cluster}" is running (${seen.join('; ')}): start one`
      : `Swarm cluster "${me.cluster}" has no manager in the store`,
  );
}

/**
 * After a start: a swarm node advertises the address it joined with, so a machine that came back
 * at another address (a container's address is given at each start) is cut off from its
 * cluster. Say so, and what to do, instead of leaving a node that is silently down.
 */
export async function warnIfMoved(ctx: ApiContext, m: Machine): Promise<void> {
  const s = m.config.HostOptions.SwarmOptions;
  if (!s.AdvertiseAddr || s.Address || !m.driver.clusterAddress) return;
  let now: string;
  try {
    now = await m.driver.clusterAddress();
  } catch {
    return;
  }
  const was = s.AdvertiseAddr.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (now === was) return;
  ctx.events({
    kind: 'warn',
    message: `Warning: ${m.name} came back at ${now}, not at ${was}, the address its node advertises in Swarm cluster "${s.Discovery}": the cluster cannot reach it there. Remove it (docker-machine rm ${m.name}) and create it again with the same swarm flags`,
  });
}
