import { errorMessage, MachineError } from '../errors.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';
import { atMostOneName, targetName } from './target.js';

export const flags = [];

export async function run(ctx: CommandContext): Promise<void> {
  atMostOneName(ctx);
  const name = await targetName(ctx);
  const m = await apiFor(ctx).load(name);
  let state: string;
  try {
    state = await m.driver.getState();
  } catch (err) {
    throw new MachineError(`error getting state for host ${name}: ${errorMessage(err)}`);
  }
  ctx.out.info(state);
}
