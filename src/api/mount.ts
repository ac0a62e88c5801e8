import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MachineError } from '../errors.js';
import { parseMountArgs, sshfsArgs, unmountCommand } from '../ssh/mount.js';
import { findBinary, runTool } from '../ssh/tool.js';
import type { ApiContext } from './context.js';
import { runningTarget } from './copy.js';
import { loadMachine } from './machine.js';

export interface MountRequest {
  /** `[[user@]machine:][path]`; without `machine:` the machine called "default". */
  source: string;
  /** The local directory; by default the machine's path. */
  mountpoint?: string;
}

/** `mount`: a machine's directory on a local directory through sshfs, with the machine's ssh options. */
export async function mountMachineDir(ctx: ApiContext, req: MountRequest): Promise<void> {
  const spec = parseMountArgs(req.source, req.mountpoint);
  const bin = findBinary('sshfs', ctx.env);
  if (!bin) {
    throw new MachineError(
      'You must have a copy of the sshfs binary locally to use the mount feature (install the sshfs package, e.g. apt-get install sshfs)',
    );
  }
  const target = await runningTarget(ctx, spec.machine, 'mount');
  let isDir = false;
  try {
    isDir = statSync(spec.mountpoint).isDirectory();
  } catch {}
  if (!isDir) {
    throw new MachineError(
      `Error: mount point "${spec.mountpoint}" is not a directory: create it (mkdir -p ${spec.mountpoint}) or name another as the second argument`,
    );
  }
  const args = sshfsArgs({ ...target, user: spec.user ?? target.user }, spec.path, spec.mountpoint);
  ctx.events({ kind: 'debug', message: `Running: ${bin} ${args.join(' ')}` });
  const dir = mkdtempSync(join(tmpdir(), 'dm-sshfs-'));
  try {
    await runTool({ program: bin, args, env: ctx.env, stderr: { file: join(dir, 'stderr') } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `mount -u`: the machine must exist (as in the original) but need not run, so a stale mount still goes. */
export async function unmountMachineDir(ctx: ApiContext, req: MountRequest): Promise<void> {
  const spec = parseMountArgs(req.source, req.mountpoint);
  const cmd = unmountCommand(spec.mountpoint);
  const bin = findBinary(cmd.program, ctx.env);
  if (!bin) {
    throw new MachineError(
      `You must have a copy of the ${cmd.program} binary locally to use the unmount option (install the fuse3 package, e.g. apt-get install fuse3)`,
    );
  }
  await loadMachine(ctx.store, spec.machine);
  ctx.events({ kind: 'debug', message: `Running: ${bin} ${cmd.args.join(' ')}` });
  await runTool({ program: bin, args: cmd.args, env: ctx.env });
}
