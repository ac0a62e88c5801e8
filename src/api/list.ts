import { setMaxListeners } from 'node:events';
import { errorMessage } from '../errors.js';
import { naturalSort } from '../format/natsort.js';
import type { EngineOptions, SwarmOptions } from '../store/host.js';
import { matchesSwarmFilter, memberOf, members, swarmColumn } from '../swarm/cluster.js';
import type { ApiContext } from './context.js';
import { engineClient } from './engine.js';
import { hasFilters, type ListFilters, matchLabel } from './list-filter.js';
import { type Machine, machineFromConfig } from './machine.js';
import { swarmURL } from './swarm-url.js';

/** One row of `ls`, with the field names its --format templates use. */
export interface HostListItem {
  Name: string;
  Active: string;
  ActiveHost: boolean;
  ActiveSwarm: boolean;
  DriverName: string;
  State: string;
  URL: string;
  SwarmOptions: SwarmOptions | null;
  Swarm: string;
  EngineOptions: EngineOptions | null;
  Error: string;
  DockerVersion: string;
  /** Milliseconds the machine took to answer. */
  ResponseTime: number;
}

export interface ListOptions {
  filters: ListFilters;
  /** Per-machine bound on the state and engine queries. */
  timeoutMs: number;
  /** $DOCKER_HOST, to mark the active machine. */
  dockerHost: string;
  /** Ask each engine its version (the DOCKER column); `active` needs only URLs. Default true. */
  queryEngine?: boolean;
}

export interface LoadedList {
  machines: Machine[];
  /** Machines whose config could not be loaded, with the reason. */
  broken: { name: string; error: string }[];
}

export async function loadAll(ctx: ApiContext): Promise<LoadedList> {
  const names = await ctx.store.listNames();
  const configs = await ctx.store.loadMany(names);
  const results = await Promise.allSettled(
    configs.map((c) => (c instanceof Error ? Promise.reject(c) : machineFromConfig(c))),
  );
  const out: LoadedList = { machines: [], broken: [] };
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') out.machines.push(r.value);
    else out.broken.push({ name: names[i], error: errorMessage(r.reason).replaceAll('\n', '') });
  });
  return out;
}

/** The machines that pass the filters (state filters query each machine's driver). */
export async function filterMachines(all: Machine[], f: ListFilters): Promise<Machine[]> {
  if (!hasFilters(f)) return all;
  const masters = swarmMasters(all);
  const keep = await Promise.all(
    all.map(async (m) => {
      const o = m.config.HostOptions;
      if (f.driver.length && !f.driver.some((d) => d.toLowerCase() === m.config.DriverName.toLowerCase())) {
        return false;
      }
      if (f.name.length && !f.name.some((re) => re.test(m.name))) return false;
      if (!matchLabel(f.label, o.EngineOptions.Labels)) return false;
      if (f.swarm.length && !matchSwarm(m, all, masters, f.swarm)) return false;
      if (f.state.length) {
        let state: string;
        try {
          state = await m.driver.getState();
        } catch {
          state = 'Error';
        }
        if (!f.state.some((s) => s.toLowerCase() === state.toLowerCase())) return false;
      }
      return true;
    }),
  );
  return all.filter((_, i) => keep[i]);
}

/** A Swarm-mode member by its cluster (see swarm/cluster.ts); others by their master, as the original. */
function matchSwarm(m: Machine, all: Machine[], masters: Map<string, string>, values: string[]): boolean {
  const me = memberOf(m.config);
  if (me) return matchesSwarmFilter(me, members(all.map((x) => x.config)), values);
  const d = m.config.HostOptions.SwarmOptions.Discovery;
  const master = d ? masters.get(d) : undefined;
  return !!master && values.some((v) => v.toLowerCase() === master.toLowerCase());
}

function swarmMasters(all: Machine[]): Map<string, string> {
  const masters = new Map<string, string>();
  for (const m of all) {
    const s = m.config.HostOptions.SwarmOptions;
    if (s.Master && s.Discovery) masters.set(s.Discovery, m.name);
  }
  return masters;
}

/** Every row of `ls`, in its order: machines queried in parallel, each bounded by the timeout. */
export async function listMachines(ctx: ApiContext, opts: ListOptions): Promise<HostListItem[]> {
  return naturalSort(await listRows(ctx, opts), (r) => r.Name);
}

/**
 * What `active` prints: the first machine by name that $DOCKER_HOST points at, and whether any
 * row timed out. Only the matching rows are sorted (sorting all of a hundred cost more than
 * finding them); the sort is stable, so the first match is the one the sorted list shows first.
 */
export async function findActive(
  ctx: ApiContext,
  opts: Omit<ListOptions, 'queryEngine'>,
): Promise<{ name: string | undefined; timedOut: boolean }> {
  const rows = await listRows(ctx, { ...opts, queryEngine: false });
  const active = naturalSort(
    rows.filter((r) => r.ActiveHost || r.ActiveSwarm),
    (r) => r.Name,
  );
  return { name: active[0]?.Name, timedOut: rows.some((r) => r.State === 'Timeout') };
}

async function listRows(ctx: ApiContext, opts: ListOptions): Promise<HostListItem[]> {
  const { machines, broken } = await loadAll(ctx);
  const shown = await filterMachines(machines, opts.filters);
  const masters = swarmMasters(machines);
  // One deadline and one abort for the whole list: every query starts at once, so a timer per
  // machine would say the same thing a hundred times (and cost as much as the local rows).
  const ac = new AbortController();
  // Every row's queries listen on this one signal (and stop listening when done): no leak to warn of.
  setMaxListeners(0, ac.signal);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      ac.abort();
      resolve();
    }, opts.timeoutMs);
  });
  let rows: HostListItem[];
  try {
    rows = await Promise.all(
      shown.map((m) =>
        Promise.race([hostItem(m, masters, opts, ac.signal), deadline.then(() => timeoutItem(m, opts))]),
      ),
    );
  } catch (err) {
    // Rows still querying have no one to answer to. (When every row has its answer nothing is
    // left to stop, and the abort, with the DOMException it makes, costs more than a row.)
    ac.abort();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  for (const b of broken) rows.push(errorItem(b.name, b.error));
  return rows;
}

function errorItem(name: string, error: string): HostListItem {
  return {
    Name: name,
    Active: '',
    ActiveHost: false,
    ActiveSwarm: false,
    DriverName: 'not found',
    State: 'Error',
    URL: '',
    SwarmOptions: null,
    Swarm: '',
    EngineOptions: null,
    Error: error,
    DockerVersion: '',
    ResponseTime: 0,
  };
}

function timeoutItem(m: Machine, opts: ListOptions): HostListItem {
  return {
    ...errorItem(m.name, ''),
    DriverName: m.config.DriverName,
    State: 'Timeout',
    ResponseTime: opts.timeoutMs,
  };
}

async function hostItem(
  m: Machine,
  masters: Map<string, string>,
  opts: ListOptions,
  signal: AbortSignal,
): Promise<HostListItem> {
  const dockerHost = opts.dockerHost;
  const started = nowMs();
  const o = m.config.HostOptions;
  let url = '';
  let state = '';
  let error = '';
  let dockerVersion = 'Unknown';
  try {
    url = await m.driver.getURL(signal);
  } catch (err) {
    error = errorMessage(err);
  }
  if (error === '' && url !== '') {
    state = 'Running';
    if (opts.queryEngine !== false) {
      try {
        const client = await engineClient(m, url);
        dockerVersion = `v${(await client.version(signal)).Version}`;
      } catch (err) {
        error = `Unable to query docker version: ${errorMessage(err)}`;
      }
    }
  } else {
    try {
      state = await m.driver.getState(signal);
    } catch (err) {
      if (error === '') error = errorMessage(err);
    }
  }
  if (error === 'Host is not running') error = '';

  const s = o.SwarmOptions;
  const activeHost = state === 'Running' && url !== '' && url === dockerHost;
  // A Swarm-mode manager's URL is its engine's, which ActiveHost covers.
  const activeSwarm =
    s.Master && !s.Role && state === 'Running' && url !== '' && swarmURL(url, s.Host) === dockerHost;
  let swarm = swarmColumn(s) ?? '';
  if (swarm === '' && s.Discovery) {
    swarm = masters.get(s.Discovery) ?? '';
    if (s.Master) swarm += ' (master)';
  }
  return {
    Name: m.name,
    Active: activeHost ? '*' : activeSwarm ? '* (swarm)' : '-',
    ActiveHost: activeHost,
    ActiveSwarm: activeSwarm,
    DriverName: m.config.DriverName,
    State: state,
    URL: url,
    SwarmOptions: s,
    Swarm: swarm,
    EngineOptions: o.EngineOptions,
    Error: error.replaceAll('\n', ' ').trim(),
    DockerVersion: dockerVersion,
    ResponseTime: Math.round(nowMs() - started),
  };
}

/**
 * Milliseconds on a monotonic clock. Not performance.now(): the first use of `performance` loads
 * Node's perf_hooks, about a millisecond of every `ls`.
 */
function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
