import { MachineError } from '../errors.js';
import * as amazon from './amazon.js';
import * as arch from './arch.js';
import * as boot2docker from './boot2docker.js';
import type { ProvisionContext } from './context.js';
import * as coreos from './coreos.js';
import * as debian from './debian.js';
import type { OsRelease } from './os-release.js';
import * as redhat from './redhat.js';
import * as suse from './suse.js';

export interface Provisioner {
  /** As the original prints it: `Provisioning with debian...`. */
  readonly name: string;
  provision(ctx: ProvisionContext): Promise<void>;
  /** New server certificate on the machine and an engine restart; no package is touched. */
  regenerateCerts(ctx: ProvisionContext): Promise<void>;
  /** A newer engine (or the pinned one), a restart, and the wait for the API. */
  upgrade(ctx: ProvisionContext): Promise<void>;
}

/** A family's claim on a host, by its /etc/os-release (spec §5.1). */
export interface Detection {
  compatible(os: OsRelease): boolean;
  make(os: OsRelease): Provisioner;
}

/**
 * In order: the original's predicates by ID first (its map made them exclusive; Fedora CoreOS,
 * which says ID=fedora, comes before Fedora), then derivatives by ID_LIKE.
 */
const registry: Detection[] = [
  ...boot2docker.detections,
  ...coreos.detections,
  ...debian.detections,
  ...redhat.detections,
  ...amazon.detections,
  ...suse.detections,
  ...arch.detections,
  ...debian.likeDetections,
  ...redhat.likeDetections,
];

export function detectProvisioner(os: OsRelease): Provisioner {
  const e = registry.find((r) => r.compatible(os));
  if (!e) {
    throw new MachineError(
      `OS type not recognized${os.PRETTY_NAME ? `: ${os.PRETTY_NAME}` : ''} (this release provisions Debian, Ubuntu 15.04 and later, RHEL, CentOS, Fedora, Rocky, AlmaLinux, Oracle Linux, Amazon Linux, SUSE, Arch, Flatcar, Fedora CoreOS and boot2docker)`,
    );
  }
  return e.make(os);
}
