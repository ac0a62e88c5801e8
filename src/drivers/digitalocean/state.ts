import type { MachineState } from '../driver.js';
import type { Droplet } from './api.js';

/** Droplet status to machine state (spec §7.2, as the original): archive and others are no state. */
export function machineState(status: Droplet['status'] | string): MachineState {
  switch (status) {
    case 'new':
      return 'Starting';
    case 'active':
      return 'Running';
    case 'off':
      return 'Stopped';
    default:
      return '';
  }
}

/** The droplet's public IPv4: what SSH and the engine are reached at. */
export function publicIPv4(d: Droplet): string {
  return d.networks?.v4?.find((n) => n.type === 'public')?.ip_address ?? '';
}
