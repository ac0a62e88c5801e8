import type { CommandContext } from './command.js';
import { runAction } from './run-action.js';

export const flags = [];

export async function run(ctx: CommandContext): Promise<void> {
  await runAction(ctx, (api, m) => api.provision(m, { nativeSSH: ctx.globals.nativeSSH }));
}
