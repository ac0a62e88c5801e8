import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { errorMessage, MachineError } from '../errors.js';
import { driverNames, driverNeeds, hasDriver } from './registry.js';

/**
 * The driver `create` uses when it is given no -d and MACHINE_DRIVER is unset (the original fell
 * back to virtualbox): the first candidate, in order, that is registered and can run here.
 */

export type Probe = { ok: true; why: string } | { ok: false; why: string };

export interface Candidate {
  name: string;
  /** The condition, for `create --help`. */
  when: string;
  /** Whether it can run here and why (or why not); bounded in time. */
  probe(env: NodeJS.ProcessEnv): Promise<Probe>;
}

/** How long a local engine may take to answer the ping (a loaded laptop, not a remote host). */
export const PING_TIMEOUT_MS = 3000;

export function localDockerHost(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

const docker: Candidate = {
  name: 'docker',
  when: 'when a Docker engine answers at $DOCKER_HOST, else at unix:///var/run/docker.sock',
  async probe(env) {
    const host = localDockerHost(env);
    try {
      const { DockerAPI } = await import('./docker/engine-api.js');
      await new DockerAPI({ host, certPath: env.DOCKER_CERT_PATH ?? '' }).ping(PING_TIMEOUT_MS);
      return { ok: true, why: `the Docker engine at ${host} answers` };
    } catch (err) {
      return { ok: false, why: errorMessage(err) };
    }
  },
};

const qemu: Candidate = {
  name: 'qemu',
  when: `when ${qemuBinary()} is installed`,
  async probe(env) {
    const found = await onPath(qemuBinary(), env);
    return found
      ? { ok: true, why: `${found} is installed` }
      : { ok: false, why: `no ${qemuBinary()} on the PATH` };
  },
};

/** The original's default, where VirtualBox is installed (VBoxManage found as the driver finds it). */
const virtualbox: Candidate = {
  name: 'virtualbox',
  when: 'when VBoxManage is on the PATH',
  async probe(env) {
    const { findVBoxManage } = await import('./virtualbox/vboxmanage.js');
    const found = findVBoxManage(env);
    return found
      ? { ok: true, why: `${found} is installed` }
      : { ok: false, why: 'no VBoxManage on the PATH' };
  },
};

/**
 * In the order they are tried; one that is not registered (yet) is skipped. VirtualBox before
 * QEMU: who installed it chose it, as the original's users did; QEMU is often there for others.
 */
export const candidates: Candidate[] = [docker, virtualbox, qemu];

export interface DefaultChoice {
  name: string;
  /** One line for stderr: which driver and why. */
  message: string;
}

export async function chooseDefaultDriver(
  env: NodeJS.ProcessEnv,
  list: Candidate[] = candidates,
  registered: (name: string) => boolean = hasDriver,
): Promise<DefaultChoice> {
  const failed = new Map<string, string>();
  for (const c of list) {
    if (!registered(c.name)) continue;
    const r = await c.probe(env);
    if (r.ok) return { name: c.name, message: `No driver given: using "${c.name}" (${r.why})` };
    failed.set(c.name, r.why);
  }
  const each = driverNames()
    .map((n) => `${n} needs ${driverNeeds(n)}${failed.has(n) ? ` (${failed.get(n)})` : ''}`)
    .join('; ');
  throw new MachineError(
    `Error: no driver given and none can be chosen: ${each}. Choose one with --driver (-d) NAME or $MACHINE_DRIVER`,
  );
}

/** For `create --help`: the rule, with the registered candidates. */
export function defaultDriverHelp(registered: (name: string) => boolean = hasDriver): string {
  const list = candidates
    .filter((c) => registered(c.name))
    .map((c) => `${c.name} ${c.when}`)
    .join(', else ');
  return `Without --driver and $MACHINE_DRIVER, create uses ${list}, and says which on stderr; else it fails, saying what each driver needs.`;
}

function qemuBinary(): string {
  const arch = process.arch === 'arm64' ? 'aarch64' : process.arch === 'x64' ? 'x86_64' : process.arch;
  return `qemu-system-${arch}`;
}

/** The first executable `name` on $PATH, found without running anything. */
async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}
