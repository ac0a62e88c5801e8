import { waitTimeoutFlag } from '../api/create-flags.js';
import { flagInt } from '../flags/def.js';
import type { CommandContext } from './command.js';
import { jsonFlag } from './json-flag.js';
import { runAction } from './run-action.js';

export const flags = [waitTimeoutFlag, jsonFlag];

export async function run(ctx: CommandContext): Promise<void> {
  const timeoutMs = flagInt(ctx.flags, 'wait-timeout') * 1000;
  await runAction(ctx, (api, m) => api.kill(m, { nativeSSH: ctx.globals.nativeSSH, timeoutMs }));
}
