import { majorVersion } from './os-release.js';
import { dnf, yum } from './packages.js';
import type { Detection } from './provisioner.js';
import { systemdProvisioner } from './systemd-family.js';

/**
 * Amazon Linux (the original did not recognise it): `docker` from Amazon's own repositories,
 * yum on Amazon Linux 2, dnf on 2023. get.docker.com refuses it.
 */
export const detections: Detection[] = [
  {
    compatible: (os) => os.ID === 'amzn',
    make: (os) =>
      systemdProvisioner({
        name: 'amazon',
        osName: os.PRETTY_NAME || 'Amazon Linux',
        packages: majorVersion(os) >= 2022 ? dnf : yum,
        enginePackage: 'docker',
        defaultScriptWorks: false,
      }),
  },
];
