import { COMPLETION_SCRIPTS } from '../completion/scripts.js';
import { UsageError } from '../errors.js';
import type { CommandContext } from './command.js';

export const flags = [];

/** `completion bash|zsh|fish`: the script that makes the shell complete docker-machine. */
export async function run(ctx: CommandContext): Promise<void> {
  const shells = Object.keys(COMPLETION_SCRIPTS).join(', ');
  if (ctx.args.length !== 1) {
    throw new UsageError(`name one shell: ${shells}`, 'completion');
  }
  const script = COMPLETION_SCRIPTS[ctx.args[0]];
  if (!script)
    throw new UsageError(
      `no completion for the shell "${ctx.args[0]}": choose one of ${shells}`,
      'completion',
    );
  ctx.out.write(script);
}
