import { MachineError } from '../errors.js';
import type { CommandContext } from './command.js';
import { commands, findCommand } from './commands.js';
import { globalFlagDefs } from './globals.js';
import { appHelp, commandHelp } from './help.js';

export const flags = [];

export async function run(ctx: CommandContext): Promise<void> {
  const name = ctx.args[0];
  if (name === undefined) {
    ctx.out.write(appHelp(ctx.appName, globalFlagDefs(ctx.env), commands));
    return;
  }
  const info = findCommand(name);
  if (!info) {
    throw new MachineError(
      `${ctx.appName}: '${name}' is not a ${ctx.appName} command. See '${ctx.appName} --help'.`,
    );
  }
  const mod = await info.load();
  const rest = ctx.args.slice(1);
  const defs = mod.resolveFlags ? await mod.resolveFlags(rest, ctx.env) : mod.flags;
  const footer = mod.helpFooter ? await mod.helpFooter(rest, ctx.env) : '';
  ctx.out.write(commandHelp(info, defs, footer));
}
