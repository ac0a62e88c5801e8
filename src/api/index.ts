/**
 * The library API: every operation behind the CLI, usable from another program.
 *
 *   import { MachineAPI } from 'docker-machine';
 *   const api = new MachineAPI({ storePath: '/tmp/store', events: (e) => console.log(e.message) });
 *   await api.create({ name: 'dev', driver: 'none', driverFlags: await api.driverFlags('none', { url: 'tcp://127.0.0.1:2376' }) });
 *   for (const row of await api.list()) console.log(row.Name, row.State, row.DockerVersion);
 */
import type { Driver } from '../drivers/driver.js';
import { loadDriver } from '../drivers/registry.js';
import { MachineError } from '../errors.js';
import type { FlagDef, FlagValue, ParsedFlags } from '../flags/def.js';
import { envOrDefault, parseGoBool, parseGoInt } from '../flags/parse.js';
import type { ApplyMachine, ApplyPlan, ApplyRequest, ApplyResult } from './apply.js';
import type { CertProblem } from './cert-health.js';
import { type ApiOptions, openContext } from './context.js';
import type { CopyRequest } from './copy.js';
import type { CreateRequest } from './create.js';
import { type ProgressListener, toJsonEvent, tracked } from './events.js';
import type { ExportRequest, ImportRequest } from './export.js';
import type { FleetFailure, FleetRequest, FleetResult } from './fleet.js';
import type { HostListItem } from './list.js';
import { type Machine, saveMachine } from './machine.js';
import type { MountRequest } from './mount.js';
import { MachineQueries } from './queries.js';
import { type RemoveResult, removeMachine } from './remove.js';

export type { HostConfig } from '../store/host.js';
export type { CertProblem } from './cert-health.js';
export { MachineError, NotExistError, PreCreateError, ToolExitError, UsageError } from './errors.js';
export type { JsonEvent, Operation, ProgressEvent } from './events.js';
export type {
  ApplyMachine,
  ApplyPlan,
  ApplyRequest,
  ApplyResult,
  CopyRequest,
  CreateRequest,
  Driver,
  ExportRequest,
  FleetFailure,
  FleetRequest,
  FleetResult,
  HostListItem,
  ImportRequest,
  Machine,
  MountRequest,
  ProgressListener,
  RemoveResult,
};
export { toJsonEvent };

/** Options of start, stop, restart and kill. */
export interface LifecycleRequest {
  nativeSSH?: boolean;
  /** Bound of each wait (state, reboot, SSH, engine); default 120 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

function lifecycleOptions(r: LifecycleRequest) {
  return { nativeSSH: !!r.nativeSSH, timeoutMs: r.timeoutMs ?? 120_000, signal: r.signal };
}

/** The options of `new MachineAPI(...)` (see ApiOptions). */
export type MachineAPIOptions = ApiOptions;

/** Everything MachineQueries reads, plus the operations that make, change and remove machines. */
export class MachineAPI extends MachineQueries {
  constructor(opts: MachineAPIOptions = {}) {
    super(openContext(opts));
  }

  save(m: Machine): Promise<void> {
    return saveMachine(this.ctx.store, m);
  }

  /** Loaded on use: creating pulls in key generation (node:crypto), which light commands never need. */
  async create(req: CreateRequest): Promise<Machine> {
    const { createMachine } = await import('./create.js');
    return tracked(this.ctx, req.name, 'create', (ctx) => createMachine(ctx, req));
  }

  /**
   * Several machines at once (a fleet): every name and pre-create check passes before any machine
   * is made, then the creates run in parallel; progress events carry each one's name. Failures
   * are in the result, not thrown; only a refused fleet (nothing made) throws.
   */
  async createMany(req: FleetRequest): Promise<FleetResult> {
    const { createFleet } = await import('./fleet.js');
    return createFleet(this.ctx, req);
  }

  /**
   * A declarative fleet (docs/apply.md): what is missing is created, what differs is reported
   * (recreated with `recreate`), what an apply of the same label made and is no longer listed is
   * removed with `prune`. Failures are in the result, as with createMany.
   */
  async apply(req: ApplyRequest): Promise<ApplyResult> {
    const { applyFleet } = await import('./apply.js');
    return applyFleet(this.ctx, req);
  }

  /**
   * apply with a file (YAML or JSON, docs/apply.md): read and checked as `apply -f` does (a bad
   * file throws one line, FILE:LINE: FIELD: ...), then planned (dryRun) or applied.
   */
  async applyFile(
    path: string,
    opts: Omit<ApplyRequest, 'label' | 'machines'> & { dryRun?: boolean; nativeSSH?: boolean } = {},
  ): Promise<ApplyResult> {
    const { loadApplyFile } = await import('../apply/file.js');
    const file = await loadApplyFile(path, { env: this.ctx.env, nativeSSH: opts.nativeSSH });
    const req: ApplyRequest = { ...opts, label: file.label, machines: file.machines };
    if (opts.dryRun) return { plan: await this.planApply(req), removed: [], removeFailed: [] };
    return this.apply(req);
  }

  /** What apply would do, changing nothing (each machine's line is also a progress event). */
  async planApply(req: ApplyRequest): Promise<ApplyPlan> {
    const { planApply } = await import('./apply.js');
    return planApply(this.ctx, req);
  }

  /** Reported as failed (while resolving) when the folder stays, as the CLI's rm then fails. */
  remove(name: string, opts: { force?: boolean } = {}): Promise<RemoveResult> {
    let result: RemoveResult | undefined;
    return tracked(this.ctx, name, 'rm', async (ctx) => {
      result = await removeMachine(ctx, name, !!opts.force);
      if (!result.removed) throw new Error(result.driverError ?? `Can't remove "${name}"`);
      return result;
    }).catch((err) => {
      if (result) return result;
      throw err;
    });
  }

  /** Provision the machine again: hostname, engine (kept when present), certificates, daemon options. */
  async provision(m: Machine, opts: { nativeSSH?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const { provisionMachine } = await import('./provision.js');
    await provisionMachine(this.ctx, m, {
      nativeSSH: !!opts.nativeSSH,
      timeoutMs: opts.timeoutMs ?? 120_000,
    });
  }

  /** A new server certificate on the machine and an engine restart (containers keep running). */
  async regenerateCerts(
    m: Machine,
    opts: { nativeSSH?: boolean; timeoutMs?: number; clientCerts?: boolean } = {},
  ): Promise<void> {
    if (opts.clientCerts) {
      this.ctx.events({ kind: 'info', message: 'Regenerating local certificates' });
      const [{ ensureCertificates }, { RENEW_WITHIN_MS }, { readFile }] = await Promise.all([
        import('./certs.js'),
        import('./cert-health.js'),
        import('node:fs/promises'),
      ]);
      const auth = m.config.HostOptions.AuthOptions;
      const caBefore = await readFile(auth.CaCertPath).catch(() => undefined);
      // The explicit command renews what expires within 30 days, as env and start warn.
      await ensureCertificates(this.ctx, auth, { renewWithinMs: RENEW_WITHIN_MS });
      const caAfter = await readFile(auth.CaCertPath).catch(() => undefined);
      if (caBefore && caAfter && !caBefore.equals(caAfter)) {
        this.ctx.events({
          kind: 'warn',
          message: `The store's CA is new: the other machines' server certificates were signed by the old one; each gets a new one at its next start, env or config (or run 'docker-machine regenerate-certs NAME')`,
        });
      }
    }
    const { isSSHEngine } = await import('../engine/endpoint.js');
    if (isSSHEngine(m.config)) {
      this.ctx.events({
        kind: 'info',
        machine: m.name,
        message: `${m.name} has no server certificate: its engine is reached over SSH only (--engine-endpoint ssh)`,
      });
      return;
    }
    const { regenerateMachineCerts } = await import('./provision.js');
    await regenerateMachineCerts(this.ctx, m, {
      nativeSSH: !!opts.nativeSSH,
      timeoutMs: opts.timeoutMs ?? 120_000,
    });
  }

  /**
   * A new server certificate when the machine's no longer fits it: an address it does not name,
   * an expiry within 30 days, a CA since replaced, or an engine refused for its certificate.
   * Runs under the machine's lock; resolves to what was cured, or undefined when all was well.
   */
  async healCertificates(
    name: string,
    opts: { nativeSSH?: boolean; timeoutMs?: number; swarm?: boolean } = {},
  ): Promise<CertProblem | undefined> {
    const { healMachineCerts } = await import('./cert-heal.js');
    return healMachineCerts(this.ctx, name, {
      nativeSSH: !!opts.nativeSSH,
      timeoutMs: opts.timeoutMs ?? 120_000,
      swarm: opts.swarm,
    });
  }

  /**
   * Make the machine's docker context the docker CLI's current one (written first if missing or
   * stale); null makes "default" current again. Resolves to the context now current.
   */
  async useContext(m: Machine | null): Promise<string> {
    const { useMachineContext } = await import('./docker-context.js');
    return useMachineContext(this.ctx, m);
  }

  /**
   * The machine in one sealed file (AES-256-GCM, key from the passphrase by scrypt): its
   * config.json, its folder's keys and certificates, the CA certificate and client pair it uses,
   * and the CA's private key only with withCA. Disk images stay behind (docs/export.md).
   */
  async exportMachine(name: string, req: ExportRequest): Promise<Buffer> {
    const { exportMachine } = await import('./export.js');
    return exportMachine(this.ctx, name, req);
  }

  /**
   * Add a machine from exportMachine's file to this store, under req.name or its own, with its
   * paths moved to this store and its docker context made. A wrong passphrase, a changed file or
   * a taken name is refused before anything is written.
   */
  async importMachine(data: Buffer, req: ImportRequest): Promise<Machine> {
    const { importMachine } = await import('./export.js');
    return importMachine(this.ctx, data, req);
  }

  /** Start a stopped machine and wait for its engine (see STARTED_NOTICE in ./lifecycle.js). */
  async start(m: Machine, opts: LifecycleRequest = {}): Promise<void> {
    const { startMachine } = await import('./lifecycle.js');
    await tracked(this.ctx, m.name, 'start', (ctx) => startMachine(ctx, m, lifecycleOptions(opts)));
  }

  async stop(m: Machine, opts: LifecycleRequest = {}): Promise<void> {
    const { stopMachine } = await import('./lifecycle.js');
    await tracked(this.ctx, m.name, 'stop', (ctx) => stopMachine(ctx, m, lifecycleOptions(opts)));
  }

  /** Restart (generic: reboot over SSH) and wait for the engine; a stopped machine is started. */
  async restart(m: Machine, opts: LifecycleRequest = {}): Promise<void> {
    const { restartMachine } = await import('./lifecycle.js');
    await tracked(this.ctx, m.name, 'restart', (ctx) => restartMachine(ctx, m, lifecycleOptions(opts)));
  }

  async kill(m: Machine, opts: LifecycleRequest = {}): Promise<void> {
    const { killMachine } = await import('./lifecycle.js');
    await tracked(this.ctx, m.name, 'kill', (ctx) => killMachine(ctx, m, lifecycleOptions(opts)));
  }

  /** A session on the machine wired to this process's terminal; resolves to the remote exit code. */
  async ssh(
    name: string,
    opts: { command?: string | null; tty?: boolean; nativeSSH?: boolean } = {},
  ): Promise<number> {
    const { sshSession } = await import('./ssh.js');
    return sshSession(this.ctx, name, {
      command: opts.command ?? null,
      tty: !!opts.tty,
      nativeSSH: !!opts.nativeSSH,
    });
  }

  /** Copy files to, from or between machines with scp (rsync with `delta`). */
  async copy(req: CopyRequest): Promise<void> {
    const { copyFiles } = await import('./copy.js');
    return copyFiles(this.ctx, req);
  }

  /** Mount a machine's directory locally with sshfs. */
  async mount(req: MountRequest): Promise<void> {
    const { mountMachineDir } = await import('./mount.js');
    return mountMachineDir(this.ctx, req);
  }

  async unmount(req: MountRequest): Promise<void> {
    const { unmountMachineDir } = await import('./mount.js');
    return unmountMachineDir(this.ctx, req);
  }

  /**
   * A newer engine (or the pinned --engine-version) from where create installed it, then a
   * restart that keeps containers running, and a wait for the API.
   */
  async upgrade(m: Machine, opts: LifecycleRequest = {}): Promise<void> {
    const { upgradeMachine } = await import('./upgrade.js');
    await upgradeMachine(this.ctx, m, lifecycleOptions(opts));
  }

  /**
   * A driver's flags from a plain object ({ url: '...' }), with env vars and defaults applied.
   * Each value is taken as the command line would take it (a number, or a string of one, for an
   * integer flag): a value of the wrong kind, or a name that is not one of the driver's flags, is
   * one error naming it, not a setting silently left at zero. The flags' own checks run in create,
   * as for the command line.
   */
  async driverFlags(driver: string, values: Record<string, FlagValue> = {}): Promise<ParsedFlags> {
    const mod = await loadDriver(driver);
    const known = new Set(mod.flags.map((d) => d.name));
    const unknown = Object.keys(values).find((k) => !known.has(k));
    if (unknown !== undefined) {
      throw new MachineError(
        `${driver}: no driver flag --${unknown}; see 'docker-machine create -d ${driver} --help'`,
      );
    }
    const parsed: ParsedFlags = { values: new Map(), explicit: new Set() };
    for (const d of mod.flags) {
      if (Object.hasOwn(values, d.name)) {
        parsed.values.set(d.name, driverFlagValue(driver, d, values[d.name]));
        parsed.explicit.add(d.name);
      } else {
        parsed.values.set(d.name, envOrDefault(d, this.ctx.env));
      }
    }
    return parsed;
  }
}

/** One value given to driverFlags(), as the flag's kind takes it; anything else is refused. */
function driverFlagValue(driver: string, d: FlagDef, v: FlagValue): FlagValue {
  const refuse = (want: string) =>
    new MachineError(`${driver}: flag --${d.name} takes ${want}, not ${JSON.stringify(v)}`);
  switch (d.kind) {
    case 'int': {
      const n = typeof v === 'string' ? parseGoInt(v) : v;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw refuse('an integer');
      return n;
    }
    case 'bool': {
      const b = typeof v === 'string' ? parseGoBool(v) : v;
      if (typeof b !== 'boolean') throw refuse('true or false');
      return b;
    }
    case 'stringSlice':
      if (typeof v === 'string') return [v];
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw refuse('a list of strings');
      return v;
    default:
      if (typeof v !== 'string') throw refuse('a string');
      return v;
  }
}
