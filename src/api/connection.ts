import { connectionCheckMessage, validateCertificate } from '../engine/check.js';
import { isSSHURL } from '../engine/endpoint.js';
import type { TLSMaterial } from '../engine/tls.js';
import { errorMessage, MachineError } from '../errors.js';
import { engineClient, engineURL, machineTLS } from './engine.js';
import type { Machine } from './machine.js';
import { swarmURL } from './swarm-url.js';

/**
 * The check `env`, `config` and the end of `create` run (spec §4.5): a TLS handshake with the
 * machine's engine using the client certificates. Returns the URL to point docker at. With the
 * store's cache folder, the TLS session is kept there for the next check to resume.
 */
export async function checkConnection(
  m: Machine,
  swarm: boolean,
  cacheDir?: string,
  sent?: () => void,
): Promise<string> {
  const url = await engineURL(m);
  if (isSSHURL(url)) return checkSSHEngine(m, url, swarm);
  let dockerHost = url;
  const s = m.config.HostOptions.SwarmOptions;
  // A Swarm-mode manager's engine is the cluster's endpoint; the port swap is for the original's
  // standalone Swarm, whose manager container listened on a port of its own.
  if (swarm && s.Role !== 'manager') {
    if (!s.Master) {
      throw new MachineError(
        `"${m.name}" is not a swarm master. The --swarm flag is intended for use with swarm masters`,
      );
    }
    dockerHost = swarmURL(url, s.Host);
  }
  let hostPort: string;
  try {
    hostPort = new URL(dockerHost).host;
  } catch (err) {
    throw new MachineError(`Error parsing URL: ${errorMessage(err)}`);
  }
  const tls = await machineTLS(m);
  try {
    await validateCertificate(hostPort, tls, undefined, cacheDir, sent);
  } catch (err) {
    // Nothing on the swarm port says nothing about the certificates: when the engine itself
    // passes, regenerating them (and restarting the engine) would not help.
    if (dockerHost !== url && (await engineAccepts(url, tls, cacheDir)))
      throw new MachineError(SWARM_NOT_STARTED, { cause: err });
    throw new MachineError(connectionCheckMessage(hostPort, errorMessage(err), m.name), { cause: err });
  }
  return dockerHost;
}

const SWARM_NOT_STARTED =
  'Connection to Swarm cannot be checked but the certs are valid. Maybe swarm is not started';

async function engineAccepts(url: string, tls: TLSMaterial, cacheDir: string | undefined): Promise<boolean> {
  try {
    await validateCertificate(new URL(url).host, tls, undefined, cacheDir);
    return true;
  } catch {
    return false;
  }
}

/**
 * An SSH-only engine has no TLS to check: the engine must answer through the machine's SSH, as
 * the docker CLI will reach it. Swarm here is Swarm mode's, whose endpoint is the engine itself;
 * the original's standalone Swarm manager listened on a TCP port such a machine does not open.
 */
async function checkSSHEngine(m: Machine, url: string, swarm: boolean): Promise<string> {
  const s = m.config.HostOptions.SwarmOptions;
  if (swarm && s.Role !== 'manager') {
    throw new MachineError(
      `"${m.name}" is not a Swarm-mode manager; its engine is reached over SSH (${url}), without --swarm`,
    );
  }
  try {
    await (await engineClient(m, url, 15_000)).version();
  } catch (err) {
    throw new MachineError(
      `Cannot reach the engine of "${m.name}" over SSH at ${url}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  return url;
}
