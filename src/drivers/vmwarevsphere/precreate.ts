import { stat } from 'node:fs/promises';
import { MachineError } from '../../errors.js';
import { str } from '../base.js';
import type { DriverContext } from '../driver.js';
import type { VSphereMachine } from './machine.js';
import { place } from './placement.js';

const isFile = async (path: string) => !!(await stat(path).catch(() => undefined))?.isFile();

/** The machine's name, creation type and files checked, then the VM placed; nothing is made. */
export async function preCreateCheck(m: VSphereMachine, ctx: DriverContext): Promise<void> {
  const name = m.name;
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(name))
    throw new MachineError(
      `the VM's guest host name would be ${name}: letters, digits, . and - only, at most 63`,
    );
  const type = m.creationType;
  const from = str(m.json, 'CloneFrom');
  if ((type === 'vm' || type === 'template' || type === 'library') && !from)
    throw new MachineError(
      `--vmwarevsphere-creation-type ${type} needs --vmwarevsphere-clone-from (the ${type === 'library' ? 'library item' : type} to start from)`,
    );
  if (type === 'legacy') {
    const iso = str(m.json, 'Boot2DockerURL');
    if (!iso)
      throw new MachineError(
        'creation type legacy needs a boot ISO (--vmwarevsphere-boot2docker-url): boot2docker is gone; or clone a cloud-init template with --vmwarevsphere-clone-from NAME',
      );
    if (!/^https?:\/\//.test(iso) && !(await isFile(iso)))
      throw new MachineError(`the boot ISO ${iso} (--vmwarevsphere-boot2docker-url) could not be found`);
  }
  const cc = str(m.json, 'CloudConfig');
  if (cc && !(await isFile(cc)))
    throw new MachineError(`cloud-config file ${cc} (--vmwarevsphere-cloud-config) could not be found`);
  const ci = str(m.json, 'CloudInit');
  if (ci && !/^https?:\/\//.test(ci) && !(await isFile(ci)))
    throw new MachineError(
      `cloud-init file ${ci} (--vmwarevsphere-cloudinit) could not be found; give a file or an http(s) URL`,
    );
  await m.session(ctx, (c) => place(m, c));
}
