import { MachineError } from '../errors.js';
import type { SSHTarget } from './client.js';
import { hostBlock, sshOptions } from './options.js';

/** One side of `scp` as the user wrote it: a local path or `[user@]machine:path`. */
export type Endpoint =
  | { kind: 'local'; path: string }
  | { kind: 'machine'; machine: string; user?: string; path: string };

/** A side ready to copy: a machine side carries the SSH endpoint it is reached at. */
export type CopyEndpoint =
  | { kind: 'local'; path: string }
  | { kind: 'machine'; machine: string; path: string; target: SSHTarget };

export interface CopyFlags {
  recursive: boolean;
  quiet: boolean;
}

/** `[user@]machine:path` split in its parts; undefined when the argument has no machine part. */
export function splitRemote(arg: string): { machine: string; user?: string; path: string } | undefined {
  const colon = arg.indexOf(':');
  if (colon < 0) return undefined;
  const host = arg.slice(0, colon);
  // As scp decides: a slash before the colon makes it a local path (./a:b).
  if (host.includes('/')) return undefined;
  const at = host.lastIndexOf('@');
  const machine = host.slice(at + 1);
  const user = at >= 0 ? host.slice(0, at) : undefined;
  if (machine === '' || user === '' || user?.startsWith('-')) {
    throw new MachineError(
      `Invalid argument "${arg}": expected a local path or [user@]machine:path, e.g. default:/tmp/file`,
    );
  }
  return { machine, user, path: arg.slice(colon + 1) };
}

/** `path`, `localhost:path` (local, as in the original), `machine:path` or `user@machine:path`. */
export function parseEndpoint(arg: string): Endpoint {
  const remote = splitRemote(arg);
  if (!remote) return { kind: 'local', path: arg };
  if (remote.machine === 'localhost') return { kind: 'local', path: remote.path };
  return { kind: 'machine', ...remote };
}

/**
 * The ssh_config both scp and rsync's ssh read (`-F`): one Host block per machine, named after
 * it, with that machine's address, port, key and known_hosts. Options on the command line would
 * apply to both ends of a machine-to-machine copy, and two machines differ at least in port
 * or key.
 */
export function copyConfig(sides: CopyEndpoint[]): string {
  const blocks = new Map<string, string>();
  for (const s of sides) {
    if (s.kind === 'machine' && !blocks.has(s.machine)) {
      blocks.set(s.machine, hostBlock(s.machine, s.target, sshOptions(s.target)));
    }
  }
  return [...blocks.values()].join('');
}

/**
 * scp's arguments. `-3` routes a machine-to-machine copy through this computer, so the machines
 * need not reach each other (they often cannot: different networks, or a port published only on
 * this computer's loopback).
 */
export function scpArgs(
  src: CopyEndpoint,
  dst: CopyEndpoint,
  flags: CopyFlags,
  configPath: string,
): string[] {
  return [
    '-F',
    configPath,
    ...(src.kind === 'machine' && dst.kind === 'machine' ? ['-3'] : []),
    ...(flags.recursive ? ['-r'] : []),
    ...(flags.quiet ? ['-q'] : []),
    '--',
    location(src),
    location(dst),
  ];
}

/**
 * rsync's arguments for --delta: only changed blocks cross the network. --checksum decides what
 * changed by content: rsync's default size-and-mtime check (to the second) skipped a file
 * changed in the same second as the last copy, and the original passed no --times either.
 */
export function rsyncArgs(
  src: CopyEndpoint,
  dst: CopyEndpoint,
  flags: CopyFlags,
  configPath: string,
): string[] {
  if (src.kind === 'machine' && dst.kind === 'machine') {
    throw new MachineError(
      'Error: --delta cannot copy from one machine to another (rsync needs one local side); copy without --delta, or through a local directory',
    );
  }
  return [
    ...(flags.quiet ? [] : ['--progress']),
    '--checksum',
    '-e',
    `ssh -F ${rsyncShellWord(configPath)}`,
    ...(flags.recursive ? ['-r'] : []),
    '--',
    location(src),
    location(dst),
  ];
}

/** How scp and rsync name a side: the Host alias of the machine, or a path they cannot misread. */
export function location(side: CopyEndpoint): string {
  if (side.kind === 'machine') return `${side.target.user}@${side.machine}:${side.path}`;
  return localPath(side.path);
}

/**
 * A local path that scp and rsync take as local: `a:b` would name host `a` and `-x` an option,
 * so such a relative path gets `./` in front.
 */
export function localPath(path: string): string {
  return /^[^/]*:/.test(path) || path.startsWith('-') ? `./${path}` : path;
}

/** rsync splits its -e command at spaces and honours quotes (without backslash escapes). */
function rsyncShellWord(word: string): string {
  if (!/[\s'"]/.test(word)) return word;
  if (word.includes("'"))
    throw new MachineError(`cannot pass ${JSON.stringify(word)} to rsync: it contains a quote`);
  return `'${word}'`;
}
