import { openContext } from '../api/context.js';
import { listDrivers } from '../api/drivers.js';
import { MachineQueries } from '../api/queries.js';
import { type Candidate, candidates, joinBashEquals } from '../completion/candidates.js';
import type { FlagDef } from '../flags/def.js';
import type { CommandContext } from './command.js';
import { COMMAND_LIST } from './command-list.js';
import { globalFlagDefs, storagePath } from './globals.js';

export const flags = [];
/** Its arguments are a command line being typed: no flag of it is ours. */
export const skipFlagParsing = true;

/**
 * `__complete SHELL INDEX WORD...` (for the completion scripts, not listed in help): the words
 * after the program name, the index of the one under the cursor, and one answer per line.
 */
export async function run(ctx: CommandContext): Promise<void> {
  const [shell, index, ...typed] = ctx.args;
  let words = typed;
  let cword = Number.parseInt(index ?? '', 10);
  if (!Number.isInteger(cword) || cword < 0) return;
  let strip = '';
  if (shell === 'bash') ({ words, cword, strip } = joinBashEquals(words, cword));
  const { commands } = await import('./commands.js');
  const found = await candidates(words, cword, {
    commands: COMMAND_LIST.filter((c) => !c.hidden),
    globalFlags: globalFlagDefs(ctx.env),
    drivers: listDrivers(),
    commandFlags: async (name, args): Promise<FlagDef[]> => {
      const mod = await commands.find((c) => c.name === name)!.load();
      return mod.resolveFlags ? mod.resolveFlags(args, ctx.env) : mod.flags;
    },
    machineNames: (path) =>
      new MachineQueries(
        openContext({ storePath: path ? storagePath(path) : ctx.globals.storagePath, env: ctx.env }),
      ).names(),
  });
  ctx.out.write(found.map((c) => line(shell, c, strip)).join(''));
}

function line(shell: string | undefined, c: Candidate, strip: string): string {
  const value = strip && c.value.startsWith(strip) ? c.value.slice(strip.length) : c.value;
  // fish shows a description after a tab.
  return shell === 'fish' && c.description ? `${value}\t${c.description}\n` : `${value}\n`;
}
