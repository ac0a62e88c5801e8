import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ContextTLS,
  contextPaths,
  contextStore,
  currentContext,
  dockerConfigDir,
  readContext,
  removeContext,
  setCurrentContext,
  writeContext,
} from '../docker-context/store.js';
import { isSSHURL } from '../engine/endpoint.js';
import { errorMessage, MachineError } from '../errors.js';
import type { ApiContext } from './context.js';
import { engineURL } from './engine.js';
import type { Machine } from './machine.js';
import { dropSSHEngineAccess, syncSSHEngineAccess } from './ssh-engine-access.js';

/**
 * Every machine is also a docker context of the same name in the docker CLI's own store, so that
 * `docker --context NAME` and `docker context use NAME` reach it without `env`. Contexts follow
 * the machine: made by create, rewritten when its URL or certificates change (start, restart,
 * regenerate-certs, provision), removed by rm. A context of that name that another tool (or
 * another store) made is never touched. MACHINE_DOCKER_CONTEXT=off turns all of it off.
 */
export function contextsEnabled(env: NodeJS.ProcessEnv): boolean {
  return !/^(off|0|false|no)$/i.test(env.MACHINE_DOCKER_CONTEXT ?? '');
}

/** Bring the machine's context up to date with its URL and certificates; warns, never fails. */
export async function syncMachineContext(ctx: ApiContext, m: Machine, url?: string): Promise<void> {
  // The ssh entry an SSH-only machine's context (and `env`) needs follows the same events.
  await syncSSHEngineAccess(ctx, m);
  if (!contextsEnabled(ctx.env)) return;
  const dir = dockerConfigDir(ctx.env);
  try {
    const host = url ?? (await engineURL(m));
    if (!host) return;
    const now = await readContext(dir, m.name);
    if (now.owner === 'other' || (now.owner === 'ours' && now.store !== ctx.store.root)) {
      ctx.events({
        kind: 'warn',
        message: `A docker context named "${m.name}" exists and was not made by this store; it is left as it is (use 'docker-machine env ${m.name}' for this machine)`,
      });
      return;
    }
    // The docker CLI reaches an SSH-only engine with ssh and the store's ssh_config entry.
    const tls = isSSHURL(host) ? undefined : await machineTLS(m);
    if (now.owner === 'ours' && now.host === host && (await sameTLS(dir, m.name, tls))) return;
    await writeContext(dir, {
      name: m.name,
      host,
      description: `docker-machine ${m.name} (${m.config.DriverName})`,
      store: ctx.store.root,
      tls,
    });
  } catch (err) {
    ctx.events({
      kind: 'warn',
      message: `Warning: the docker context "${m.name}" was not updated: ${errorMessage(err)}`,
    });
  }
}

/** Remove the machine's context (only one this store made); a current context falls back to default. */
export async function dropMachineContext(ctx: ApiContext, name: string): Promise<void> {
  await dropSSHEngineAccess(ctx);
  if (!contextsEnabled(ctx.env)) return;
  const dir = dockerConfigDir(ctx.env);
  try {
    if ((await contextStore(dir, name)) !== ctx.store.root) return;
    await removeContext(dir, name);
    if ((await currentContext(dir)) === name) {
      await setCurrentContext(dir, null);
      ctx.events({
        kind: 'info',
        message: `The current docker context was "${name}"; it is now "default"`,
      });
    }
  } catch (err) {
    ctx.events({
      kind: 'warn',
      message: `Warning: the docker context "${name}" was not removed: ${errorMessage(err)}`,
    });
  }
}

/**
 * Make the machine's context the docker CLI's current one (`docker-machine use NAME`), writing
 * it first if it is missing or stale; null goes back to the default context.
 */
export async function useMachineContext(ctx: ApiContext, m: Machine | null): Promise<string> {
  const dir = dockerConfigDir(ctx.env);
  if (m === null) {
    await setCurrentContext(dir, null);
    return 'default';
  }
  const url = await engineURL(m);
  if (!url)
    throw new MachineError(
      `Machine "${m.name}" has no URL yet; start it first: docker-machine start ${m.name}`,
    );
  const now = await readContext(dir, m.name);
  if (now.owner !== 'none' && now.store !== ctx.store.root) {
    throw new MachineError(
      `A docker context named "${m.name}" exists and was not made by this store (${dir}); remove it with 'docker context rm ${m.name}' or use 'docker-machine env ${m.name}'`,
    );
  }
  await syncMachineContext({ ...ctx, env: { ...ctx.env, MACHINE_DOCKER_CONTEXT: 'on' } }, m, url);
  await setCurrentContext(dir, m.name);
  return m.name;
}

async function machineTLS(m: Machine): Promise<ContextTLS | undefined> {
  const d = m.config.HostOptions.AuthOptions.StorePath;
  try {
    const [ca, cert, key] = await Promise.all(
      ['ca.pem', 'cert.pem', 'key.pem'].map((f) => readFile(join(d, f))),
    );
    return { ca, cert, key };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function sameTLS(dir: string, name: string, tls: ContextTLS | undefined): Promise<boolean> {
  const docker = join(contextPaths(dir, name).tls, 'docker');
  try {
    const [ca, cert, key] = await Promise.all(
      ['ca.pem', 'cert.pem', 'key.pem'].map((f) => readFile(join(docker, f))),
    );
    return !!tls && ca.equals(tls.ca) && cert.equals(tls.cert) && key.equals(tls.key);
  } catch {
    return tls === undefined;
  }
}
