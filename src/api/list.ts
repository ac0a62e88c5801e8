import { setMaxListeners } from 'node:events';
import { join, sep } from 'node:path';
import { EngineUnreachableError, type EngineVersion } from '../engine/client.js';
import { isSSHURL } from '../engine/endpoint.js';
import { errorMessage } from '../errors.js';
import { naturalCompare, naturalSort } from '../format/natsort.js';
import { ConfigCache, type FixedURLs } from '../store/config-cache.js';
import type { EngineOptions, HostConfig, SwarmOptions } from '../store/host.js';
import { statSignature, wasMigrated } from '../store/store.js';
import { matchesSwarmFilter, memberOf, members, swarmColumn } from '../swarm/cluster.js';
import type { ApiContext } from './context.js';
import { engineClient, engineURL } from './engine.js';
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
 * row timed out. That is what the original's sorted list of every row gives, without making every
 * row: a `none` machine's URL is in the config cache's index (see FixedURLs), so those rows are
 * decided without parsing their configs, and once one of them matches, only the machines that
 * sort before it are asked. Whether a row timed out matters only when no row matches.
 */
export async function findActive(
  ctx: ApiContext,
  opts: Pick<ListOptions, 'dockerHost' | 'timeoutMs'>,
): Promise<{ name: string | undefined; timedOut: boolean }> {
  const store = ctx.store;
  const names = await store.listNames();
  const cache = ConfigCache.open(join(store.cacheDir, 'configs.json'));
  // The original's sort is stable: of names that compare equal, the one listed first comes first.
  const before = (i: number, j: number) => (naturalCompare(names[i], names[j]) || i - j) < 0;
  const signatures = names.map((n) =>
    // Concatenated, as the store does: path.join's normalising costs a hundred times over.
    statSignature(`${store.machinesDir}${sep}${n}${sep}config.json`),
  );
  let best = -1;
  const unknown: number[] = [];
  names.forEach((name, i) => {
    const st = signatures[i];
    const fixed = st && cache.fixedURLs(name, st);
    if (!fixed) unknown.push(i);
    else if (fixedActive(fixed, opts.dockerHost) && (best < 0 || before(i, best))) best = i;
  });
  const ask = best < 0 ? unknown : unknown.filter((i) => before(i, best));

  const machines: { machine: Machine; index: number }[] = [];
  for (const i of ask) {
    const st = signatures[i];
    let config: HostConfig | undefined = st && cache.get(names[i], st);
    try {
      if (!config) {
        config = await store.load(names[i]);
        if (st && !wasMigrated(config)) cache.put(names[i], st, config);
      }
      machines.push({ machine: await machineFromConfig(config), index: i });
    } catch {
      // A machine whose config does not load is a row with an error: never the active one.
    }
  }
  cache.keepOnly(names);
  await cache.flush();
  if (machines.length === 0) return { name: best < 0 ? undefined : names[best], timedOut: false };

  const rows = await queryRows(
    machines.map((m) => m.machine),
    // The Swarm column, which the masters are for, is not part of the answer.
    new Map(),
    { ...opts, filters: NO_FILTERS, queryEngine: false },
  );
  rows.forEach((r, k) => {
    const i = machines[k].index;
    if ((r.ActiveHost || r.ActiveSwarm) && (best < 0 || before(i, best))) best = i;
  });
  return {
    name: best < 0 ? undefined : names[best],
    timedOut: best < 0 && rows.some((r) => r.State === 'Timeout'),
  };
}

const NO_FILTERS: ListFilters = { driver: [], name: [], label: [], swarm: [], state: [] };

/** hostItem's ActiveHost or ActiveSwarm for a machine that is always Running at a fixed URL. */
function fixedActive(f: FixedURLs, dockerHost: string): boolean {
  if (f.url === '') return false;
  return f.url === dockerHost || (f.swarmHost !== undefined && swarmURL(f.url, f.swarmHost) === dockerHost);
}

async function listRows(ctx: ApiContext, opts: ListOptions): Promise<HostListItem[]> {
  const { machines, broken } = await loadAll(ctx);
  const shown = await filterMachines(machines, opts.filters);
  const rows = await queryRows(shown, swarmMasters(machines), opts, ctx.store.cacheDir);
  for (const b of broken) rows.push(errorItem(b.name, b.error));
  return rows;
}

async function queryRows(
  shown: Machine[],
  masters: Map<string, string>,
  opts: ListOptions,
  /** The store's cache folder, where the engines' TLS sessions are kept between commands. */
  sessionsDir?: string,
): Promise<HostListItem[]> {
  // A bound of 0 s has passed before any answer can come (the original's zero timer fires
  // first): every row is a timeout, whatever a quick refusal would race it to.
  if (opts.timeoutMs <= 0) return shown.map((m) => timeoutItem(m, opts));
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
  const versions: VersionQueries = { sessionsDir, asked: new Map() };
  let rows: HostListItem[];
  try {
    rows = await Promise.all(
      shown.map((m) =>
        Promise.race([
          hostItem(m, masters, opts, ac.signal, versions),
          deadline.then(() => timeoutItem(m, opts)),
        ]),
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

/**
 * The version queries of one list, by engine URL and client certificate files. Machines whose
 * engine is one URL asked with one identity ask one question of one endpoint: its one answer (or
 * error) is every such row's, as at once they would all get the same. Engines reached over SSH
 * go through each machine's own login, and are asked per machine.
 */
interface VersionQueries {
  sessionsDir: string | undefined;
  asked: Map<string, Promise<EngineVersion>>;
}

function queryVersion(
  m: Machine,
  url: string,
  signal: AbortSignal,
  versions: VersionQueries,
): Promise<EngineVersion> {
  const ask = async () => (await engineClient(m, url, undefined, versions.sessionsDir)).version(signal);
  if (isSSHURL(url)) return ask();
  const a = m.config.HostOptions.AuthOptions;
  const key = `${url}\0${a.CaCertPath}\0${a.ClientCertPath}\0${a.ClientKeyPath}`;
  let v = versions.asked.get(key);
  if (!v) {
    v = ask();
    versions.asked.set(key, v);
  }
  return v;
}

async function hostItem(
  m: Machine,
  masters: Map<string, string>,
  opts: ListOptions,
  signal: AbortSignal,
  versions: VersionQueries,
): Promise<HostListItem> {
  const dockerHost = opts.dockerHost;
  const started = nowMs();
  const o = m.config.HostOptions;
  let url = '';
  let state = '';
  let error = '';
  let dockerVersion = 'Unknown';
  try {
    url = await engineURL(m, signal);
  } catch (err) {
    error = errorMessage(err);
  }
  if (error === '' && url !== '') {
    state = 'Running';
    if (opts.queryEngine !== false) {
      try {
        dockerVersion = `v${(await queryVersion(m, url, signal, versions)).Version}`;
      } catch (err) {
        error = certificateError(m, url, err) ?? `Unable to query docker version: ${engineWhy(err)}`;
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

function engineWhy(err: unknown): string {
  return err instanceof EngineUnreachableError ? err.shortMessage : errorMessage(err);
}

/**
 * An engine refused for its certificate, said with the fix: ls changes nothing, env and start
 * reissue it (see cert-health.ts). Judged from the error the version query got: no extra query.
 */
function certificateError(m: Machine, url: string, err: unknown): string | undefined {
  if (!(err instanceof EngineUnreachableError)) return undefined;
  const fix = `run 'docker-machine env ${m.name}' or 'docker-machine regenerate-certs ${m.name}'`;
  switch (err.code) {
    case 'ERR_TLS_CERT_ALTNAME_INVALID': {
      let host = url;
      try {
        host = new URL(url.replace(/^tcp:/, 'https:')).hostname.replace(/^\[|\]$/g, '');
      } catch {}
      return `Certificate does not name ${host}: ${fix}`;
    }
    case 'CERT_HAS_EXPIRED':
      return `Certificate expired: ${fix}`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'CERT_SIGNATURE_FAILURE':
      return `Certificate not signed by the store's CA: ${fix}`;
    default:
      return undefined;
  }
}

/**
 * Milliseconds on a monotonic clock. Not performance.now(): the first use of `performance` loads
 * Node's perf_hooks, about a millisecond of every `ls`.
 */
function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
