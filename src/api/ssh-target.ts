import { join } from 'node:path';
import type { SSHTarget } from '../ssh/client.js';
import type { Machine } from './machine.js';

/** The machine's SSH endpoint with its pinned host keys. */
export async function sshTarget(m: Machine): Promise<SSHTarget> {
  return {
    host: await m.driver.getSSHHostname(),
    port: await m.driver.getSSHPort(),
    user: m.driver.getSSHUsername() || 'root',
    keyPath: m.driver.getSSHKeyPath(),
    knownHostsPath: join(m.config.HostOptions.AuthOptions.StorePath, 'known_hosts'),
  };
}
