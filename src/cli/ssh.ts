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
  const command = rest.length > 0 ? rest.join(' ') : null;
  const code = await apiFor(ctx).ssh(name, {
    command,
    tty: command === null && process.stdin.isTTY === true,
    nativeSSH: ctx.globals.nativeSSH,
  });
  if (code !== 0) throw new MachineError('', { exitCode: code });
}
