import { MachineError } from '../errors.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';
import { targetName } from './target.js';

export const flags = [];
// Everything after the machine name belongs to the remote command.
export const skipFlagParsing = true;

/**
 * `ssh NAME` logs in; `ssh NAME [--] command...` runs the command and exits with its exit code
 * (the original always exited 1 when the command failed).
 */
export async function run(ctx: CommandContext): Promise<void> {
  const name = await targetName(ctx);
  let rest = ctx.args.slice(1);
  if (rest[0] === '--') rest = rest.slice(1);
  const api = apiFor(ctx);
  const m = await api.load(name);
  const state = await m.driver.getState();
  if (state !== 'Running')
    throw new MachineError(`Error: Cannot run SSH command: Host "${name}" is not running`);
  const { sshTarget } = await import('../api/provision.js');
  const { connectSSH } = await import('../ssh/connect.js');
  const client = await connectSSH(await sshTarget(m), { native: ctx.globals.nativeSSH });
  try {
    const command = rest.length > 0 ? rest.join(' ') : null;
    const tty = command === null && process.stdin.isTTY === true;
    const code = await client.attach(command, tty);
    if (code !== 0) throw new MachineError('', { exitCode: code });
  } finally {
    await client.close();
  }
}
