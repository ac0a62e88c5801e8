/**
 * tcp://<host of the machine URL>:<port of the swarm host>: the original's toSwarmURL, which
 * replaces the machine URL's port with the swarm host's.
 */
export function swarmURL(machineURL: string, swarmHost: string): string {
  const mPort = machineURL.slice(machineURL.lastIndexOf(':') + 1);
  const sPort = swarmHost.slice(swarmHost.lastIndexOf(':') + 1);
  return machineURL.replace(`:${mPort}`, `:${sPort}`);
}
