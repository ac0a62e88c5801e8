import type { EngineClient } from '../engine/client.js';
import { isSSHEngine, isSSHURL, sshEngineURL } from '../engine/endpoint.js';
import { readTLSConfig } from '../engine/tls.js';
import { errorMessage, MachineError } from '../errors.js';
import type { Machine } from './machine.js';

/**
 * The machine's engine through the client certificates its AuthOptions name (the shared ones
 * in $STORE/certs, as the original reads them; the copies in the machine folder are for docker).
 */
export async function engineClient(
  m: Machine,
  url: string,
  timeoutMs?: number,
  /** The store's cache folder, to resume the TLS session of an earlier command (see session-file.ts). */
  sessionsDir?: string,
): Promise<EngineClient> {
  // The client (and node:https behind it) is read by the commands that ask engines, not by the
  // ones that only name them (url, env, config).
  const { EngineClient } = await import('../engine/client.js');
  if (isSSHURL(url)) {
    const { sshTarget } = await import('./ssh-target.js');
    return new EngineClient(url, null, { timeoutMs, ssh: await sshTarget(m) });
  }
  return new EngineClient(url, await machineTLS(m), { timeoutMs, sessionsDir });
}

/**
 * The URL clients reach the machine's engine at: the driver's tcp:// URL, or for an SSH-only
 * engine (--engine-endpoint ssh) ssh://USER@HOST:PORT of the machine's SSH. The driver's URL is
 * asked for either way: it is where a stopped machine says so, in the driver's own words.
 */
export async function engineURL(m: Machine, signal?: AbortSignal): Promise<string> {
  const url = await m.driver.getURL(signal);
  if (!isSSHEngine(m.config) || url === '') return url;
  const { sshTarget } = await import('./ssh-target.js');
  return sshEngineURL(await sshTarget(m));
}

// Machines of one store share their client certificates: read them once per process (ls over
// a hundred machines would otherwise read the same three files a hundred times).
const tlsCache = new Map<string, ReturnType<typeof readTLSConfig>>();

export function machineTLS(m: Machine): ReturnType<typeof readTLSConfig> {
  const auth = m.config.HostOptions.AuthOptions;
  const key = `${auth.CaCertPath}\0${auth.ClientCertPath}\0${auth.ClientKeyPath}`;
  let tls = tlsCache.get(key);
  if (!tls) {
    tls = readTLSConfig({
      caCertPath: auth.CaCertPath,
      clientCertPath: auth.ClientCertPath,
      clientKeyPath: auth.ClientKeyPath,
    });
    tlsCache.set(key, tls);
    // A failed read is not cached: the next machine may be asked again after a fix.
    tls.catch(() => tlsCache.delete(key));
  }
  return tls;
}

/** The engine's version string without the leading v, as `version NAME` prints it. */
export async function engineVersion(m: Machine, signal?: AbortSignal): Promise<string> {
  const url = await engineURL(m, signal);
  try {
    const client = await engineClient(m, url);
    const v = await client.version(signal);
    return v.Version;
  } catch (err) {
    throw new MachineError(`Unable to query docker version: ${errorMessage(err)}`, { cause: err });
  }
}

export type EngineProbe =
  | { ok: true; url: string; version: string }
  | { ok: false; url: string; error: string };

export async function probeEngine(m: Machine, timeoutMs: number): Promise<EngineProbe> {
  let url = '';
  try {
    url = await engineURL(m);
    const client = await engineClient(m, url, timeoutMs);
    const v = await client.version(AbortSignal.timeout(timeoutMs));
    return { ok: true, url, version: v.Version };
  } catch (err) {
    return { ok: false, url, error: errorMessage(err) };
  }
}
