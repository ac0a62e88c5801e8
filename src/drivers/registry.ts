import { MachineError } from '../errors.js';
import type { DriverModule } from './driver.js';

/**
 * Driver modules load on demand so that light commands never pay for a driver they do not use
 * (the docker, qemu and cloud drivers pull in heavy code).
 */
const loaders: Record<string, () => Promise<DriverModule>> = {
  none: async () => (await import('./none/index.js')).noneDriver,
};

export function driverNames(): string[] {
  return Object.keys(loaders).sort();
}

export function hasDriver(name: string): boolean {
  return Object.hasOwn(loaders, name);
}

export async function loadDriver(name: string): Promise<DriverModule> {
  const load = hasDriver(name) ? loaders[name] : undefined;
  if (!load) throw new DriverNotFoundError(name);
  return load();
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
