import type { OsRelease } from './os-release.js';
import type { Detection } from './provisioner.js';
import { systemdProvisioner } from './systemd-family.js';

/**
 * Container OSes whose engine is part of the OS image and updates with it: Flatcar (CoreOS's
 * successor), Fedora CoreOS, and CoreOS itself. No package step; the daemon is configured with
 * the same systemd drop-in as elsewhere.
 */
function osImageFamily(name: string, os: OsRelease, osUpdate: string) {
  return systemdProvisioner({
    name,
    osName: os.PRETTY_NAME || name,
    packages: null,
    enginePackage: 'docker',
    defaultScriptWorks: false,
    osUpdate,
  });
}

export const detections: Detection[] = [
  {
    compatible: (os) => os.ID === 'flatcar',
    make: (os) =>
      osImageFamily('flatcar', os, 'Flatcar updates it with the OS (update_engine; flatcar-update)'),
  },
  {
    compatible: (os) => os.ID === 'fedora' && os.VARIANT_ID === 'coreos',
    make: (os) =>
      osImageFamily(
        'fedora-coreos',
        os,
        'Fedora CoreOS updates it with the OS (zincati; rpm-ostree upgrade)',
      ),
  },
  {
    compatible: (os) => os.ID === 'coreos',
    make: (os) => osImageFamily('coreOS', os, 'CoreOS updates it with the OS (update_engine)'),
  },
];
