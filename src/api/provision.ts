import { prepareRSAKey } from '../cert/keys.js';
import type { EngineEndpoint } from '../drivers/driver.js';
import { isSSHEngine } from '../engine/endpoint.js';
import { errorMessage, MachineError } from '../errors.js';
import type { ProvisionContext } from '../provision/context.js';
import { parseOsRelease } from '../provision/os-release.js';
import { detectProvisioner, type Provisioner } from '../provision/provisioner.js';
import type { SSHClient, SSHTarget } from '../ssh/client.js';
import { connectSSH } from '../ssh/connect.js';
import { checkConnection } from './connection.js';
import type { ApiContext } from './context.js';
import { syncMachineContext } from './docker-context.js';
import { engineClient, engineURL } from './engine.js';
import type { Machine } from './machine.js';
import { hasSeededEngine, takeSeededEngine } from './seed-engine.js';
import { sshTarget } from './ssh-target.js';
import { waitFor } from './wait.js';

export { sshTarget };

export interface ProvisionOptions {
  nativeSSH: boolean;
  /** Bound of each wait (machine running, SSH, engine). */
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * The machine's SSH endpoint, or at once one line saying why there is none (a `none` machine has
 * only an engine URL; a config.json may hold a port no connection can use), instead of a wait for
 * SSH that cannot succeed or the ssh client's own complaint.
 */
export async function sshAccess(m: Machine, verb: string): Promise<SSHTarget> {
  const target = await sshTarget(m);
  if (target.host === '' || target.port === 0) {
    throw new MachineError(
      `Error: Cannot ${verb}: machine "${m.name}" (driver ${m.config.DriverName}) has no SSH access`,
    );
  }
  if (!(Number.isInteger(target.port) && target.port >= 1 && target.port <= 65535)) {
    throw new MachineError(
      `Error: Cannot ${verb}: machine "${m.name}" has SSH port ${target.port} in its config.json, which is not 1-65535`,
    );
  }
  return target;
}

/** After the driver made the machine: wait for it, detect its OS, provision, check the engine. */
export async function provisionAfterCreate(
  ctx: ApiContext,
  m: Machine,
  opts: ProvisionOptions,
): Promise<void> {
  const info = (message: string) => ctx.events({ kind: 'info', message });
  // The server certificate's key is made while the machine boots and SSH comes up.
  keyAhead(m);
  info('Waiting for machine to be running, this may take a few minutes...');
  const t = await sshTarget(m);
  await waitFor({
    what: `machine "${m.name}" to be running (SSH at ${t.host}:${t.port})`,
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    progress: info,
    probe: async () => {
      const s = await m.driver.getState(opts.signal);
      if (s !== 'Running') throw new Error(`state ${s || 'unknown'}`);
    },
  });
  info('Detecting operating system of created instance...');
  await provisionSteps(ctx, m, opts, false);
  info('Checking connection to Docker...');
  try {
    await checkConnection(m, false);
  } catch (err) {
    throw new MachineError(`Error checking the host: ${errorMessage(err)}`, { cause: err });
  }
  info('Docker is up and running!');
}

/**
 * Begin the server certificate's key, so that it is made while the machine boots, SSH connects
 * and the OS is read; none when no certificate is coming (an SSH-only engine, a seeded engine,
 * which usually holds).
 */
function keyAhead(m: Machine): void {
  if (!isSSHEngine(m.config) && !hasSeededEngine(m)) prepareRSAKey();
}

/** `provision`: SSH, OS detection, the distribution's steps. */
export function provisionMachine(ctx: ApiContext, m: Machine, opts: ProvisionOptions): Promise<void> {
  return provisionSteps(ctx, m, opts, true);
}

/** `keyAhead`: the caller has not begun the server certificate's key already. */
async function provisionSteps(ctx: ApiContext, m: Machine, opts: ProvisionOptions, keyAhead: boolean) {
  const run = (p: Provisioner, pctx: ProvisionContext) => {
    ctx.events({ kind: 'info', message: `Provisioning with ${p.name}...` });
    return p.provision(pctx);
  };
  await withProvisioner(ctx, m, opts, 'provision', run, { keyAhead });
  await syncMachineContext(ctx, m);
}

/** `regenerate-certs`: a new server certificate and an engine restart, nothing reinstalled. */
export async function regenerateMachineCerts(
  ctx: ApiContext,
  m: Machine,
  opts: ProvisionOptions,
): Promise<void> {
  await withProvisioner(ctx, m, opts, 'regenerate certificates', (p, pctx) => p.regenerateCerts(pctx), {
    keyAhead: true,
  });
  await syncMachineContext(ctx, m);
}

/**
 * After start and restart, as the original's WaitForDocker: SSH answers, the OS is one we know,
 * and the engine answers over TLS (the original only looked for the port with netstat).
 */
export async function waitForDocker(ctx: ApiContext, m: Machine, opts: ProvisionOptions): Promise<void> {
  await withProvisioner(ctx, m, opts, 'wait for Docker', (_p, pctx) => pctx.waitForEngine());
}

/**
 * SSH to the machine, detect its OS, and run `fn` with the provisioner for it. With `keyAhead`,
 * `fn` makes a server certificate, whose key is begun once the machine is known to have SSH.
 */
export async function withProvisioner(
  ctx: ApiContext,
  m: Machine,
  opts: ProvisionOptions,
  verb: string,
  fn: (p: Provisioner, pctx: ProvisionContext) => Promise<void>,
  { keyAhead: ahead = false } = {},
): Promise<void> {
  const info = (message: string) => ctx.events({ kind: 'info', message });
  const target = await sshAccess(m, verb);
  if (ahead) keyAhead(m);
  const ssh = await connectSSH(target, { native: opts.nativeSSH, connectTimeoutMs: 10_000 });
  try {
    info('Waiting for SSH to be available...');
    // The first command that runs reads the OS as well: one round trip less.
    const osr = await waitFor({
      what: `SSH on ${target.user}@${target.host}:${target.port}`,
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      progress: info,
      fatal: (err) => /^SSH (authentication failed|host key for)/.test(errorMessage(err)),
      probe: async () => {
        const r = await ssh.run('cat /etc/os-release', { timeoutMs: 15_000 });
        // 255: ssh's own failure, not the command's.
        if (r.code === 255) throw new Error(`ssh returned 255: ${r.stderr.trim()}`);
        return r;
      },
    });
    info('Detecting the provisioner...');
    if (osr.code !== 0)
      throw new MachineError(`Error detecting OS: cat /etc/os-release failed: ${osr.stderr.trim()}`);
    const os = parseOsRelease(osr.stdout, info);
    const provisioner = detectProvisioner(os);
    const url = await engineURL(m, opts.signal);
    const endpoint = await m.driver.engineEndpoint?.(opts.signal);
    await fn(provisioner, provisionContext(ctx, m, ssh, url, opts, endpoint));
  } finally {
    await ssh.close();
  }
}

function provisionContext(
  ctx: ApiContext,
  m: Machine,
  ssh: SSHClient,
  url: string,
  opts: ProvisionOptions,
  endpoint?: EngineEndpoint,
): ProvisionContext {
  const u = new URL(url.replace(/^tcp:/, 'https:'));
  return {
    name: m.name,
    config: m.config,
    driverName: m.config.DriverName,
    ip: u.hostname.replace(/^\[|\]$/g, ''),
    enginePort: endpoint?.port ?? (Number(u.port) || 2376),
    certSANs: endpoint?.certSANs ?? [],
    ssh,
    seededEngine: takeSeededEngine(m),
    info: (message) => ctx.events({ kind: 'info', message }),
    debug: (message) => ctx.events({ kind: 'debug', message }),
    async waitForEngine() {
      ctx.events({ kind: 'debug', message: `waiting for the engine at ${url}` });
      const client = await engineClient(m, url, 5000);
      try {
        await waitFor({
          what: `the Docker engine at ${url} to answer${url.startsWith('ssh:') ? ' over SSH' : ' over TLS'}`,
          timeoutMs: opts.timeoutMs,
          signal: opts.signal,
          progress: (message) => ctx.events({ kind: 'info', message }),
          probe: () => client.version(),
        });
      } catch (err) {
        // Say why: the unit's own view of the failure.
        const status = await ssh.run('systemctl status docker --no-pager -l 2>&1 | tail -n 15');
        throw new MachineError(`${errorMessage(err)}\nsystemctl status docker:\n${status.stdout.trim()}`);
      }
    },
  };
}
