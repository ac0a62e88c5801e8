import { MachineError } from '../errors.js';
import type { DriverModule } from './driver.js';

interface DriverEntry {
  /** One line for help and the drivers table. */
  description: string;
  load(): Promise<DriverModule>;
}

/**
 * Driver modules load on demand so that light commands never pay for a driver they do not use
 * (the docker, qemu and cloud drivers pull in heavy code).
 */
const drivers: Record<string, DriverEntry> = {
  generic: {
    description: 'an existing Linux server reached by SSH, made into a TLS-secured Docker host',
    load: async () => (await import('./generic/index.js')).genericDriver,
  },
  none: {
    description: 'an existing Docker engine, reached by its URL; nothing is created or provisioned',
    load: async () => (await import('./none/index.js')).noneDriver,
  },
};

export function driverNames(): string[] {
  return Object.keys(drivers).sort();
}

export function hasDriver(name: string): boolean {
  return Object.hasOwn(drivers, name);
}

export function driverDescription(name: string): string {
  return hasDriver(name) ? drivers[name].description : '';
}

export async function loadDriver(name: string): Promise<DriverModule> {
  if (!hasDriver(name)) throw new DriverNotFoundError(name);
  return drivers[name].load();
}

export class DriverNotFoundError extends MachineError {
  readonly driverName: string;
  constructor(name: string) {
    super(
      `Driver "${name}" not found. Available drivers: ${driverNames().join(', ')}. Run 'docker-machine create --help' to see them.`,
    );
    this.driverName = name;
  }
}
