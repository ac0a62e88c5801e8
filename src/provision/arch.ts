import { pacman } from './packages.js';
import type { Detection } from './provisioner.js';
import { systemdProvisioner } from './systemd-family.js';

/** Arch Linux and derivatives (ID_LIKE=arch): `docker` with pacman. */
export const detections: Detection[] = [
  {
    compatible: (os) => os.ID === 'arch' || os.ID_LIKE === 'arch',
    make: (os) =>
      systemdProvisioner({
        name: 'arch',
        osName: os.PRETTY_NAME || 'Arch Linux',
        packages: pacman,
        enginePackage: 'docker',
        defaultScriptWorks: false,
      }),
  },
];
