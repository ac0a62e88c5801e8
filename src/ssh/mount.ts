import { MachineError } from '../errors.js';
import type { SSHTarget } from './client.js';
import { optionArgs, sshOptions } from './options.js';
import { localPath, splitRemote } from './scp.js';

/** What `mount [[user@]machine:][path] [mountpoint]` names. */
export interface MountSpec {
  machine: string;
  user?: string;
  /** The machine's directory; '' is the user's home. */
  path: string;
  /** The local directory; by default the same path as on the machine. */
  mountpoint: string;
}

/** The original's rules: no `machine:` means the machine called "default". */
export function parseMountArgs(source: string, mountpoint?: string): MountSpec {
  const remote = splitRemote(source) ?? { machine: 'default', path: source };
  const where = mountpoint ?? remote.path;
  if (where === '') {
    throw new MachineError(
      `Error: no mount point for "${source}": give the local directory as the second argument`,
    );
  }
  return { ...remote, mountpoint: where };
}

/** sshfs's arguments: the same ssh options as every other connection to the machine. */
export function sshfsArgs(target: SSHTarget, path: string, mountpoint: string): string[] {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return [
    '-F',
    '/dev/null',
    ...optionArgs(sshOptions(target)).map(fuseOption),
    '-p',
    String(target.port),
    `${target.user}@${host}:${path}`,
    localPath(mountpoint),
  ];
}

/** FUSE splits -o values at commas: a comma (or backslash) in a path is escaped. */
function fuseOption(arg: string): string {
  return arg === '-o' ? arg : arg.replace(/[\\,]/g, (c) => `\\${c}`);
}

/** The unmount command for this system: fusermount on Linux, umount where FUSE is macFUSE. */
export function unmountCommand(
  mountpoint: string,
  platform: NodeJS.Platform = process.platform,
): { program: string; args: string[] } {
  if (platform === 'darwin') return { program: 'umount', args: [localPath(mountpoint)] };
  return { program: 'fusermount', args: ['-u', localPath(mountpoint)] };
}
