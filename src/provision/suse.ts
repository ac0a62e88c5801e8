import { MachineError } from '../errors.js';
import { mustRun } from './context.js';
import { isLike, type OsRelease } from './os-release.js';
import { zypper } from './packages.js';
import type { Detection } from './provisioner.js';
import { systemdProvisioner } from './systemd-family.js';

/**
 * SUSE Linux Enterprise and openSUSE: `docker` with zypper. On SLES the package is in the
 * containers module, which must be added to the registration first. get.docker.com has no
 * SUSE support (the original ignored --engine-install-url here).
 */
export function suseFamily(os: OsRelease) {
  const sles = !(os.ID ?? '').startsWith('opensuse');
  return systemdProvisioner({
    name: 'SUSE',
    osName: os.PRETTY_NAME || 'SUSE',
    packages: zypper,
    enginePackage: 'docker',
    defaultScriptWorks: false,
    firewalld: true,
    beforePackages: sles
      ? async (ctx, sudo) => {
          try {
            await mustRun(
              ctx,
              `${sudo}SUSEConnect -p sle-module-containers/${os.VERSION_ID ?? ''}/$(uname -m)`,
            );
          } catch (err) {
            throw new MachineError(
              `Error while adding the 'containers' module, make sure this machine is registered either against SUSE Customer Center (SCC) or to a local Subscription Management Tool (SMT): ${(err as Error).message}`,
            );
          }
        }
      : undefined,
  });
}

export const detections: Detection[] = [
  { compatible: (os) => isLike(os, 'suse') || os.ID === 'sles', make: suseFamily },
];
