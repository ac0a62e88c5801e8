import { MachineError } from '../errors.js';
import type { ProvisionContext } from './context.js';
import { debianFamily } from './debian.js';
import type { OsRelease } from './os-release.js';

export interface Provisioner {
  /** As the original prints it: `Provisioning with debian...`. */
  readonly name: string;
  provision(ctx: ProvisionContext): Promise<void>;
  /** New server certificate on the machine and an engine restart; no package is touched. */
  regenerateCerts(ctx: ProvisionContext): Promise<void>;
}

interface Entry {
  compatible(os: OsRelease): boolean;
  make(os: OsRelease): Provisioner;
}

/** Distributions this release provisions; each predicate as the original's (spec §5.1). */
const registry: Entry[] = [
  { compatible: (os) => os.ID === 'debian', make: () => debianFamily('debian') },
  {
    compatible: (os) => os.ID === 'ubuntu' && Number.parseFloat(os.VERSION_ID ?? '') >= 15.04,
    make: () => debianFamily('ubuntu(systemd)'),
  },
];

export function detectProvisioner(os: OsRelease): Provisioner {
  const e = registry.find((r) => r.compatible(os));
  if (!e) {
    throw new MachineError(
      `OS type not recognized${os.PRETTY_NAME ? `: ${os.PRETTY_NAME}` : ''} (this release provisions Debian and Ubuntu)`,
    );
  }
  return e.make(os);
}
