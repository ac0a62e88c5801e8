import { hasDriver } from '../drivers/registry.js';
import { hasContent, readFileSync } from '../runtime/fs.js';
import { join } from '../runtime/path.js';
import type { Store } from '../store/store.js';
import type { CertProblem } from './cert-health.js';
import type { ApiContext } from './context.js';
import { engineURL, engineVersion, machineTLS } from './engine.js';
import type { findActive, HostListItem, ListOptions, loadAll } from './list.js';
import { loadMachine, type Machine } from './machine.js';

/** The files ensureClientCertCopies puts in the machine folder. */
const CERT_COPIES = ['ca.pem', 'cert.pem', 'key.pem'];

/**
 * The operations that read the store and ask engines, without changing a machine: what the light
 * commands (ls, active, env, config, url, ip, inspect) use. Kept apart from MachineAPI, which
 * adds the rest, so that the light bundle holds none of create's, provisioning's or SSH's code.
 */
// Each command reads only the code it uses: the listing code (list.ts, list-filter.ts) is not read
// by the commands that name one machine, nor the connection check by url, ip or inspect; hence the
// import()s below.
export class MachineQueries {
  readonly ctx: ApiContext;

  constructor(ctx: ApiContext) {
    this.ctx = ctx;
  }

  get store(): Store {
    return this.ctx.store;
  }

  /** Whether the store holds a machine of this name. */
  exists(name: string): Promise<boolean> {
    return this.ctx.store.exists(name);
  }

  /** Names of the machines in the store, sorted. */
  names(): Promise<string[]> {
    return this.ctx.store.listNames();
  }

  load(name: string): Promise<Machine> {
    return loadMachine(this.ctx.store, name);
  }

  /** Names of the machines whose configs load (broken ones left out, as `ls -q` does). */
  async loadableNames(): Promise<string[]> {
    const names = await this.ctx.store.listNames();
    const drivers = await this.ctx.store.driverNames(names);
    return names.filter((_, i) => {
      const d = drivers[i];
      return typeof d === 'string' && hasDriver(d);
    });
  }

  /** Loadable machines and the ones whose config is broken. */
  async loadAll(): ReturnType<typeof loadAll> {
    return (await import('./list.js')).loadAll(this.ctx);
  }

  /** The rows of `ls`. */
  async list(opts: Partial<ListOptions> & { filter?: string[] } = {}): Promise<HostListItem[]> {
    const [{ listMachines }, { parseFilters }] = await Promise.all([
      import('./list.js'),
      import('./list-filter.js'),
    ]);
    return listMachines(this.ctx, {
      filters: opts.filters ?? parseFilters(opts.filter ?? []),
      timeoutMs: opts.timeoutMs ?? 10_000,
      dockerHost: opts.dockerHost ?? this.ctx.env.DOCKER_HOST ?? '',
      queryEngine: opts.queryEngine,
    });
  }

  /**
   * The first machine by name that `dockerHost` points at; when there is none, whether any machine
   * timed out (with a match, the machines after it are not asked).
   */
  async active(opts: { dockerHost: string; timeoutMs: number }): ReturnType<typeof findActive> {
    return (await import('./list.js')).findActive(this.ctx, opts);
  }

  /**
   * The machine `env --swarm` points docker at: a Swarm-mode manager itself, a worker's running
   * manager; any other machine itself (the connection check then says whether it is a master).
   */
  async swarmManager(m: Machine): Promise<Machine> {
    if (!m.config.HostOptions.SwarmOptions.Role) return m;
    const { swarmManagerFor } = await import('./swarm.js');
    return swarmManagerFor(this.ctx, m);
  }

  /** TLS handshake with the machine's engine; returns the URL to point docker at. */
  async checkConnection(m: Machine, opts: { swarm?: boolean; sent?: () => void } = {}): Promise<string> {
    const { checkConnection } = await import('./connection.js');
    return checkConnection(m, !!opts.swarm, this.ctx.store.cacheDir, opts.sent);
  }

  /**
   * Whether the store's server certificate still fits the machine: names its address (and the
   * driver's extra names), was signed by the store's CA, does not expire within 30 days.
   * Undefined when it fits or there is none to judge (see cert-health.ts); changes nothing.
   */
  async certificateProblem(m: Machine): Promise<CertProblem | undefined> {
    const { certHosts, serverCertProblem } = await import('./cert-health.js');
    return serverCertProblem(m, await certHosts(m));
  }

  /** Make sure the machine folder holds the client certificates docker reads (DOCKER_CERT_PATH). */
  async ensureClientCerts(m: Machine): Promise<void> {
    // Nearly always all three are there: seeing that needs neither the copying code nor the
    // promise API of node:fs (a millisecond and a half to load). An empty copy is made again.
    const dir = m.config.HostOptions.AuthOptions.StorePath;
    if (CERT_COPIES.every((f) => hasContent(join(dir, f))) && (await copiesCurrent(m, dir))) return;
    const { ensureClientCertCopies } = await import('../cert/client-copies.js');
    return ensureClientCertCopies(m.config, { overwrite: true });
  }

  engineVersion(m: Machine, signal?: AbortSignal): Promise<string> {
    return engineVersion(m, signal);
  }

  /** Where clients reach the engine: tcp://HOST:PORT, or ssh://USER@HOST:PORT for an SSH-only one. */
  engineURL(m: Machine, signal?: AbortSignal): Promise<string> {
    return engineURL(m, signal);
  }
}

/**
 * Whether the machine folder's copies of the CA and client certificate are the store's own: after
 * regenerate-certs --client-certs renewed them, every other machine's copies are the old ones,
 * which docker (DOCKER_CERT_PATH) would go on using until they expire. Two small reads.
 */
async function copiesCurrent(m: Machine, dir: string): Promise<boolean> {
  let tls: Awaited<ReturnType<typeof machineTLS>>;
  try {
    tls = await machineTLS(m);
  } catch {
    return true; // nothing to compare with: the copies are left as they are
  }
  try {
    return (
      readFileSync(join(dir, 'cert.pem')).equals(tls.cert) && readFileSync(join(dir, 'ca.pem')).equals(tls.ca)
    );
  } catch {
    return false;
  }
}
