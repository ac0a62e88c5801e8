import { buildHostOptions } from '../../src/api/host-options.js';
import type { HostConfig } from '../../src/store/host.js';

/** A `none` machine's config for store tests, with labels to vary its content and size. */
export function hostFor(storeRoot: string, name: string, labels: string[] = []): HostConfig {
  return {
    ConfigVersion: 3,
    Driver: { IPAddress: '127.0.0.1:1', MachineName: name, URL: 'tcp://127.0.0.1:1' },
    DriverName: 'none',
    HostOptions: buildHostOptions(storeRoot, name, { engine: { labels } }),
    Name: name,
  };
}
