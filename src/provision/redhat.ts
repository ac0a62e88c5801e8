import { isLike, majorVersion, type OsRelease } from './os-release.js';
import { dnf, yum } from './packages.js';
import type { Detection } from './provisioner.js';
import { systemdProvisioner } from './systemd-family.js';

/** ID -> the name the original prints (`Provisioning with redhat...`). */
const NAMES: Record<string, string> = {
  rhel: 'redhat',
  centos: 'centos',
  fedora: 'fedora',
  ol: 'ol',
  rocky: 'rocky',
  almalinux: 'almalinux',
};

/** Distributions whose get.docker.com script runs (it refuses Rocky, Alma and Oracle Linux). */
const SCRIPT_WORKS = new Set(['centos', 'fedora', 'rhel']);

/**
 * Fedora packages the engine as moby-engine. RHEL 8 and later and their rebuilds package none:
 * docker-ce comes from Docker's repository (which the install script adds), or from a mirror
 * of it the machine is pointed at. EL 7 had `docker` (Oracle Linux: `docker-engine`) and yum.
 */
export function redhatFamily(os: OsRelease) {
  const id = os.ID ?? '';
  const fedora = id === 'fedora' || (!NAMES[id] && isLike(os, 'fedora') && !isLike(os, 'rhel'));
  const el7 = !fedora && majorVersion(os) <= 7;
  return systemdProvisioner({
    name: NAMES[id] ?? id,
    osName: os.PRETTY_NAME || id,
    packages: el7 ? yum : dnf,
    enginePackage: fedora ? 'moby-engine' : el7 ? (id === 'ol' ? 'docker-engine' : 'docker') : 'docker-ce',
    defaultScriptWorks: SCRIPT_WORKS.has(id),
    firewalld: true,
  });
}

export const detections: Detection[] = [
  {
    // Fedora CoreOS says ID=fedora too: its VARIANT_ID sends it to the OS-image family.
    compatible: (os) => Object.hasOwn(NAMES, os.ID ?? '') && os.VARIANT_ID !== 'coreos',
    make: redhatFamily,
  },
];

/** Rebuilds the original did not know (EuroLinux, Navy Linux, ...): by ID_LIKE, after every ID. */
export const likeDetections: Detection[] = [
  {
    compatible: (os) => ['rhel', 'centos', 'fedora'].some((l) => isLike(os, l)),
    make: redhatFamily,
  },
];
