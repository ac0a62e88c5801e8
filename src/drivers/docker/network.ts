import { MachineError } from '../../errors.js';
import { type DockerAPI, EngineAPIError } from './engine-api.js';

/**
 * The user-defined network the machines share, so that they reach each other by address and by
 * name (the engine's embedded DNS), as swarm needs. Made on first use, never removed by `rm`:
 * other machines may still be on it.
 */
export const DEFAULT_NETWORK = 'docker-machine';
export const LABEL_NETWORK = 'io.docker-machine.network';

interface NetworkInfo {
  Id: string;
  Name: string;
  Driver: string;
}

/**
 * The network, made when missing. `exclusive` runs its function while no other create of this
 * store makes the network (a file lock); a network that exists is used without waiting for it.
 */
export async function ensureNetwork(
  api: DockerAPI,
  name: string,
  log: (l: string) => void,
  exclusive: (fn: () => Promise<void>) => Promise<void>,
): Promise<void> {
  if (await networkThere(api, name)) return;
  await exclusive(async () => {
    if (!(await networkThere(api, name))) await createNetwork(api, name, log);
  });
}

async function networkThere(api: DockerAPI, name: string): Promise<boolean> {
  const found = await api.jsonOrNull<NetworkInfo>('GET', `/networks/${encodeURIComponent(name)}`);
  if (!found) return false;
  if (found.Driver !== 'bridge' && found.Driver !== 'overlay' && found.Driver !== 'macvlan') {
    throw new MachineError(
      `network "${name}" on ${api.where} uses the ${found.Driver} driver; give --docker-network a bridge network`,
    );
  }
  return true;
}

async function createNetwork(api: DockerAPI, name: string, log: (l: string) => void): Promise<void> {
  log(`Creating network ${name}...`);
  try {
    await api.json('POST', '/networks/create', {
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { [LABEL_NETWORK]: 'true' },
    });
  } catch (err) {
    // Another create made it at the same moment: that one is as good.
    if (err instanceof EngineAPIError && err.status === 409) return;
    throw new MachineError(
      `creating network "${name}" on ${api.where} failed: ${err instanceof Error ? err.message : err}`,
    );
  }
}
