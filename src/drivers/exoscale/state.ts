import type { MachineState } from '../driver.js';

/**
 * Instance state to machine state. The original mapped its v1 states (spec §7.2); Stopping is
 * said as what it is here (the original called it Running), destroying as Stopping.
 */
export function machineState(state: string): MachineState {
  switch (state) {
    case 'starting':
      return 'Starting';
    case 'running':
      return 'Running';
    case 'stopping':
    case 'destroying':
      return 'Stopping';
    case 'stopped':
    case 'destroyed':
    case 'expunging':
      return 'Stopped';
    case 'migrating':
      return 'Paused';
    case 'error':
      return 'Error';
    default:
      return '';
  }
}

/** The original's SSH user for a template without a default user, from its name. */
export function sshUserFor(templateName: string): string {
  const n = templateName.toLowerCase();
  for (const [word, user] of [
    ['ubuntu', 'ubuntu'],
    ['centos', 'centos'],
    ['redhat', 'cloud-user'],
    ['red hat', 'cloud-user'],
    ['fedora', 'fedora'],
    ['coreos', 'core'],
    ['debian', 'debian'],
  ] as const) {
    if (n.includes(word)) return user;
  }
  return 'root';
}
