import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MachineError } from '../errors.js';
import type { SSHTarget } from '../ssh/client.js';
import {
  type CopyEndpoint,
  copyConfig,
  type Endpoint,
  parseEndpoint,
  rsyncArgs,
  scpArgs,
} from '../ssh/scp.js';
import { findBinary, runTool } from '../ssh/tool.js';
import type { ApiContext } from './context.js';
import { loadMachine } from './machine.js';
import { sshAccess } from './provision.js';

export interface CopyRequest {
  /** A local path, `localhost:path`, `machine:path` or `user@machine:path`. */
  source: string;
  destination: string;
  /** Copy directories (scp -r / rsync -r). */
  recursive?: boolean;
  /** No progress meter, no ssh warnings. */
  quiet?: boolean;
  /** rsync instead of scp: only the differences cross the network. */
  delta?: boolean;
}

/**
 * `scp`: the system scp (or rsync for --delta) with each machine's own address, key and pinned
 * host keys. Throws a ToolExitError carrying the tool's exit status when the tool fails.
 */
export async function copyFiles(ctx: ApiContext, req: CopyRequest): Promise<void> {
  const src = parseEndpoint(req.source);
  const dst = parseEndpoint(req.destination);
  const program = req.delta ? 'rsync' : 'scp';
  const bin = findBinary(program, ctx.env);
  if (!bin) {
    throw new MachineError(
      req.delta
        ? 'You must have a copy of the rsync binary locally to use the --delta option (install the rsync package)'
        : 'You must have a copy of the scp binary locally to use the scp feature (install the openssh-client package)',
    );
  }
  if (src.kind === 'local') checkLocalSource(src.path, !!req.recursive);
  const sides = [await resolve(ctx, src, 'copy'), await resolve(ctx, dst, 'copy')] as const;
  const flags = { recursive: !!req.recursive, quiet: !!req.quiet };

  const dir = mkdtempSync(join(tmpdir(), 'dm-scp-'));
  try {
    const config = join(dir, 'ssh_config');
    writeFileSync(config, copyConfig([...sides]), { mode: 0o600 });
    const args = req.delta ? rsyncArgs(...sides, flags, config) : scpArgs(...sides, flags, config);
    ctx.events({ kind: 'debug', message: `Running: ${bin} ${args.join(' ')}` });
    await runTool({ program: bin, args, env: ctx.env });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkLocalSource(path: string, recursive: boolean): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new MachineError(`Error: Cannot copy "${path}": no such file or directory`);
  }
  if (isDir && !recursive) {
    throw new MachineError(`Error: Cannot copy "${path}": it is a directory; use -r to copy directories`);
  }
}

async function resolve(ctx: ApiContext, e: Endpoint, verb: string): Promise<CopyEndpoint> {
  if (e.kind === 'local') return e;
  const target = await runningTarget(ctx, e.machine, verb);
  return {
    kind: 'machine',
    machine: e.machine,
    path: e.path,
    target: { ...target, user: e.user ?? target.user },
  };
}

/** The SSH endpoint of a machine that exists, runs, and has SSH at all. */
export async function runningTarget(ctx: ApiContext, name: string, verb: string): Promise<SSHTarget> {
  const m = await loadMachine(ctx.store, name);
  const state = await m.driver.getState();
  if (state !== 'Running') {
    throw new MachineError(
      `Error: Cannot ${verb}: Host "${name}" is not running (state ${state || 'unknown'}); start it, then retry`,
    );
  }
  return sshAccess(m, verb);
}
