import { loadDriver } from '../drivers/registry.js';
import { flagString } from '../flags/def.js';
import type { DriverJSON } from '../store/host.js';
import type { ApiContext } from './context.js';
import type { CreateRequest } from './create.js';

/**
 * A shell that ran `eval $(docker-machine env X)` has DOCKER_HOST pointing at machine X. A driver
 * whose engine flag defaults to DOCKER_HOST (the docker driver's --docker-host) would then make
 * the new machine inside X, which is rarely what was meant. This finds that case, without any
 * network traffic: the machine's URL as its config.json records it.
 */
export async function nestedEngineWarning(ctx: ApiContext, req: CreateRequest): Promise<string | undefined> {
  const dockerHost = ctx.env.DOCKER_HOST ?? '';
  if (dockerHost === '') return undefined;
  const mod = await loadDriver(req.driver);
  const flag = mod.flags.find((f) => f.envVar === 'DOCKER_HOST');
  // Given on the command line, the engine is the user's deliberate choice.
  if (!flag || req.driverFlags.explicit.has(flag.name)) return undefined;
  if (flagString(req.driverFlags, flag.name) !== dockerHost) return undefined;
  const target = hostPort(dockerHost);
  if (!target) return undefined;
  for (const name of await ctx.store.listNames()) {
    let json: DriverJSON;
    try {
      json = (await ctx.store.load(name)).Driver;
    } catch {
      continue; // a broken machine is reported by the commands that use it
    }
    if (hostPort(recordedURL(json)) === target) {
      return `Warning: DOCKER_HOST (${dockerHost}) is the engine of machine "${name}" of this store, so the new machine would be made inside "${name}"; run 'eval $(docker-machine env -u)' first to use the local engine, or give --${flag.name}`;
    }
  }
  return undefined;
}

/** The engine URL a machine's driver reports, from its recorded fields (getURL may need the network). */
function recordedURL(d: DriverJSON): string {
  if (typeof d.URL === 'string' && d.URL !== '') return d.URL;
  const ip = typeof d.IPAddress === 'string' ? d.IPAddress : '';
  if (ip === '') return '';
  const port = typeof d.EnginePort === 'number' && d.EnginePort > 0 ? d.EnginePort : 2376;
  return `tcp://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

/** "127.0.0.1:2376" for tcp://127.0.0.1:2376 and tcp://localhost:2376; undefined for a socket. */
function hostPort(url: string): string | undefined {
  if (!url.startsWith('tcp://')) return undefined;
  try {
    const u = new URL(url.replace(/^tcp:/, 'http:'));
    const host = u.hostname === 'localhost' ? '127.0.0.1' : u.hostname;
    return `${host}:${u.port || '2376'}`;
  } catch {
    return undefined;
  }
}
