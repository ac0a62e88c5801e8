import { errorMessage, MachineError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';
import { formatFlag, jsonFormat } from './json-flag.js';
import { atMostOneName, targetName } from './target.js';

export const flags: FlagDef[] = [formatFlag];

export async function run(ctx: CommandContext): Promise<void> {
  const json = jsonFormat(ctx);
  atMostOneName(ctx);
  const name = await targetName(ctx);
  const m = await apiFor(ctx).load(name);
  let state: string;
  try {
    state = await m.driver.getState();
  } catch (err) {
    throw new MachineError(`error getting state for host ${name}: ${errorMessage(err)}`);
  }
  if (json) ctx.out.write(`${JSON.stringify({ Name: name, State: state })}\n`);
  else ctx.out.info(state);
}
