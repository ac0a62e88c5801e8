import { ensureClientCertCopies } from '../cert/client-copies.js';
import { traceCalls } from '../debug.js';
import { baseDriverFields } from '../drivers/base.js';
import type { DriverContext } from '../drivers/driver.js';
import { isRetiredDriver, loadDriver } from '../drivers/registry.js';
import { retiredMessage } from '../drivers/retired/index.js';
import { errorMessage, MachineError, PreCreateError } from '../errors.js';
import type { ParsedFlags } from '../flags/def.js';
import { flagValueProblem } from '../flags/parse.js';
import { checkEngineVersion } from '../provision/versions.js';
import { type BaseDriverFields, CONFIG_VERSION, type HostConfig } from '../store/host.js';
import { validateMachineName } from '../store/store.js';
import { ensureCertificates } from './certs.js';
import type { ApiContext } from './context.js';
import { createOptionsProblem } from './create-values.js';
import { syncMachineContext } from './docker-context.js';
import { probeEngine } from './engine.js';
import { buildHostOptions, type CreateOptions } from './host-options.js';
import { driverContext, type Machine, saveMachine } from './machine.js';
import { nestedEngineWarning } from './nested-engine.js';
import { configureSwarm, planSwarm, type SwarmPlan } from './swarm.js';

export interface CreateRequest extends CreateOptions {
  name: string;
  driver: string;
  /** The driver's flags (see driverFlags() to build them from a plain object). */
  driverFlags: ParsedFlags;
  signal?: AbortSignal;
  /** Use the built-in SSH client instead of the system's ssh. */
  nativeSSH?: boolean;
  /** Bound of each wait while provisioning; default 120 s. */
  waitTimeoutMs?: number;
}

/**
 * create as an ordered list of steps. Each step records what it made before the next one runs,
 * so that a failure or a kill leaves a machine that `rm` removes completely.
 */
export async function createMachine(ctx: ApiContext, req: CreateRequest): Promise<Machine> {
  return runCreate(ctx, req, await prepareCreate(ctx, req));
}

/** A create that passed its checks; nothing is made yet, in the store or by the driver. */
export interface PreparedCreate {
  machine: Machine;
  driverName: string;
  dctx: DriverContext;
  /** The swarm step to run after provisioning (see ./swarm.ts), or null. */
  swarm: SwarmPlan | null;
}

/**
 * The checks before anything is made: the name, the flags, the certificates, the driver's
 * pre-create check. A fleet runs this for every machine before it creates any.
 */
export async function prepareCreate(
  ctx: ApiContext,
  req: CreateRequest,
  opts: { checkDockerHost?: boolean } = {},
): Promise<PreparedCreate> {
  const { name } = req;
  if (isRetiredDriver(req.driver)) throw new MachineError(retiredMessage(req.driver));
  try {
    validateMachineName(name);
  } catch (err) {
    throw new MachineError(`Error creating machine: ${errorMessage(err)}`);
  }
  const badValue = createOptionsProblem(req);
  if (badValue) throw new MachineError(`Error creating machine: ${badValue}`);
  const swarm = await planSwarm(ctx, req);
  if (req.engine?.version) checkEngineVersion(req.engine.version);
  if (req.engine?.endpoint === 'ssh') sshEndpointFits(req);
  if (await ctx.store.exists(name)) throw new MachineError(`Docker machine "${name}" already exists`);

  const mod = await loadDriver(req.driver);
  const unavailable = mod.unavailable?.(ctx.env);
  if (unavailable) throw new MachineError(unavailable);
  let driver: Machine['driver'];
  try {
    // The command line checked these already; a program calling the API may not have.
    const bad = flagValueProblem(mod.flags, req.driverFlags, ctx.env);
    if (bad) throw new MachineError(bad);
    driver = traceCalls(mod.fromFlags(driverBase(name, ctx.store.root, req), req.driverFlags), `(${name}) `);
  } catch (err) {
    throw new MachineError(`Error setting machine configuration from flags provided: ${errorMessage(err)}`);
  }
  const hostOptions = buildHostOptions(ctx.store.root, name, req, ctx.certs);
  const config: HostConfig = {
    ConfigVersion: CONFIG_VERSION,
    Driver: driver.toJSON(),
    DriverName: mod.name,
    HostOptions: hostOptions,
    Name: name,
  };
  const machine: Machine = { name, config, driver };
  const dctx = driverContext(ctx.store, machine, ctx.events, req.signal, {
    nativeSSH: !!req.nativeSSH,
    timeoutMs: req.waitTimeoutMs ?? 120_000,
  });

  await ensureCertificates(ctx, hostOptions.AuthOptions);

  if (opts.checkDockerHost ?? true) {
    const warning = await nestedEngineWarning(ctx, req);
    if (warning) ctx.events({ kind: 'warn', message: warning });
  }
  ctx.events({ kind: 'info', message: 'Running pre-create checks...' });
  try {
    await driver.preCreateCheck(dctx);
  } catch (err) {
    throw new PreCreateError(errorMessage(err));
  }
  return { machine, driverName: mod.name, dctx, swarm };
}

/** The steps that make the machine, from claiming its name to a provisioned engine. */
export async function runCreate(ctx: ApiContext, req: CreateRequest, p: PreparedCreate): Promise<Machine> {
  // The machine's lock is held from the moment its folder exists to its last save: an rm of the
  // same name waits for the create (or takes over from a killed one) and never removes half of it.
  return ctx.store.withLock(req.name, () => createSteps(ctx, req, p), {
    doing: `creating machine ${req.name}`,
    log: (message) => ctx.events({ kind: 'info', message }),
  });
}

async function createSteps(ctx: ApiContext, req: CreateRequest, p: PreparedCreate): Promise<Machine> {
  const { name } = req;
  const { machine, dctx } = p;
  const { driver } = machine;
  // Claiming the directory is the atomic step: of two creates racing for one name, one wins.
  await ctx.store.claim(name);
  try {
    await saveMachine(ctx.store, machine);
  } catch (err) {
    throw new MachineError(`Error saving host to store before attempting creation: ${errorMessage(err)}`);
  }

  stopIfAborted(req.signal);
  ctx.events({ kind: 'info', message: 'Creating machine...' });
  try {
    await driver.create(dctx);
    await saveMachine(ctx.store, machine);
  } catch (err) {
    throw new MachineError(
      `Error creating machine: Error in driver during machine creation: ${errorMessage(err)}`,
      { cause: err },
    );
  }

  await ensureClientCertCopies(machine.config, { overwrite: true });
  if (p.driverName === 'none') {
    // The original stops here for `none`. We also say whether the engine answers, without
    // failing: the URL may point at an engine that is started later.
    await reportEngine(ctx, machine);
  } else {
    const { provisionAfterCreate } = await import('./provision.js');
    stopIfAborted(req.signal);
    try {
      await provisionAfterCreate(ctx, machine, {
        nativeSSH: !!req.nativeSSH,
        timeoutMs: req.waitTimeoutMs ?? 120_000,
        signal: req.signal,
      });
    } catch (err) {
      throw new MachineError(`Error creating machine: ${errorMessage(err)}`, { cause: err });
    }
  }
  if (p.swarm) {
    stopIfAborted(req.signal);
    try {
      await configureSwarm(ctx, machine, p.swarm, {
        timeoutMs: req.waitTimeoutMs ?? 120_000,
        signal: req.signal,
      });
    } catch (err) {
      throw new MachineError(`Error creating machine: ${errorMessage(err)}`, { cause: err });
    }
  }
  await saveMachine(ctx.store, machine);
  // Provisioning wrote the machine's context already; `none` is not provisioned.
  if (p.driverName === 'none') await syncMachineContext(ctx, machine);
  return machine;
}

/** An interrupted create (Ctrl-C in a fleet) stops at the next step; what it made stays for rm. */
export function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MachineError('interrupted before it finished');
}

async function reportEngine(ctx: ApiContext, machine: Machine): Promise<void> {
  const result = await probeEngine(machine, 3000);
  if (result.ok) {
    ctx.events({ kind: 'info', message: `Docker ${result.version} is up and running at ${result.url}` });
  } else {
    ctx.events({
      kind: 'warn',
      message: `Warning: the engine at ${result.url} does not answer yet (${result.error}). The machine is saved; 'docker-machine ls' shows when it does.`,
    });
  }
}

/**
 * The fields every driver starts from. A machine joining a cluster carries its swarm role, as the
 * original's drivers copied it from the swarm flags, so that drivers with firewalls (amazonec2,
 * google, azure) open the manager's port; an SSH-only engine says so, for them to keep 2376 shut.
 */
function driverBase(name: string, storeRoot: string, req: CreateRequest): BaseDriverFields {
  const base = baseDriverFields(name, storeRoot);
  const s = req.swarm;
  if (req.driver !== 'none' && (s?.master || s?.agent)) {
    base.SwarmMaster = !!s.master;
    base.SwarmHost = s.host || 'tcp://0.0.0.0:3376';
    base.SwarmDiscovery = s.discovery ?? '';
  }
  if (req.engine?.endpoint === 'ssh') base.EngineEndpoint = 'ssh';
  return base;
}

/** An SSH-only engine needs SSH to the machine: a `none` machine has only an engine URL. */
function sshEndpointFits(req: CreateRequest): void {
  if (req.driver === 'none')
    throw new MachineError(
      'Error creating machine: --engine-endpoint ssh needs SSH to the machine, which the none driver has not',
    );
}
