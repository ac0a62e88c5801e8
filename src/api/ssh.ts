import { MachineError } from '../errors.js';
import { connectSSH } from '../ssh/connect.js';
import type { ApiContext } from './context.js';
import { loadMachine } from './machine.js';
import { sshAccess } from './provision.js';

export interface SSHSessionOptions {
  /** The remote command, or null for a login shell. */
  command: string | null;
  /** Ask for a terminal on the machine (an interactive login from a terminal). */
  tty: boolean;
  nativeSSH: boolean;
}

/**
 * `ssh NAME [command]`: a session on the machine wired to this process's terminal. Resolves to
 * the remote exit code (the original turned every failure into exit 1).
 */
export async function sshSession(ctx: ApiContext, name: string, opts: SSHSessionOptions): Promise<number> {
  const m = await loadMachine(ctx.store, name);
  const state = await m.driver.getState();
  if (state !== 'Running') {
    throw new MachineError(`Error: Cannot run SSH command: Host "${name}" is not running`);
  }
  const client = await connectSSH(await sshAccess(m, 'run SSH command'), { native: opts.nativeSSH });
  try {
    return await client.attach(opts.command, opts.tty);
  } finally {
    await client.close();
  }
}
