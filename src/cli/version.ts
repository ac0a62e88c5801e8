import { MachineError } from '../errors.js';
import { VERSION_STRING } from '../version.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';

export const flags = [];

/** Without a name, our version; with one, the version of that machine's engine. */
export async function run(ctx: CommandContext): Promise<void> {
  if (ctx.args.length === 0) {
    ctx.out.write(`${ctx.appName} version ${VERSION_STRING}\n`);
    return;
  }
  if (ctx.args.length > 1) throw new MachineError('Error: Expected one machine name as an argument');
  const api = apiFor(ctx);
  const m = await api.load(ctx.args[0]);
  ctx.out.write(`${await api.engineVersion(m)}\n`);
}
