import { isLike, type OsRelease } from './os-release.js';
import { apt } from './packages.js';
import type { Detection } from './provisioner.js';
import { systemdProvisioner } from './systemd-family.js';

/**
 * Debian and Ubuntu with systemd. A host that already runs an engine keeps it (the fast path:
 * no package installs, no reinstall); else the install script when the machine can fetch it,
 * else Debian's docker.io.
 */
export function debianFamily(name: string, os: OsRelease) {
  return systemdProvisioner({
    name,
    osName: os.PRETTY_NAME || name,
    packages: apt,
    enginePackage: 'docker.io',
    defaultScriptWorks: true,
  });
}

const ubuntuVersion = (os: OsRelease) => Number.parseFloat(os.VERSION_ID ?? '');

export const detections: Detection[] = [
  { compatible: (os) => os.ID === 'debian', make: (os) => debianFamily('debian', os) },
  {
    compatible: (os) => os.ID === 'ubuntu' && ubuntuVersion(os) >= 15.04,
    make: (os) => debianFamily('ubuntu(systemd)', os),
  },
];

/** Debian derivatives the original did not know (Raspberry Pi OS, Mint): by ID_LIKE, after every ID. */
export const likeDetections: Detection[] = [
  {
    compatible: (os) => os.ID !== 'ubuntu' && (isLike(os, 'debian') || isLike(os, 'ubuntu')),
    make: (os) => debianFamily(os.ID || 'debian', os),
  },
];
