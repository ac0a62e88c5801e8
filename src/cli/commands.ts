import type { CommandInfo, CommandModule } from './command.js';
import { COMMAND_LIST, findIn } from './command-list.js';
import { lightLoaders } from './light-commands.js';

/**
 * Every command with its module, for the full bundle. Modules load on demand, so a command pays
 * only for its own code; the light commands have a bundle of their own (light-commands.ts).
 */
const loaders: Record<string, () => Promise<CommandModule>> = {
  ...lightLoaders,
  __complete: () => import('./complete.js'),
  apply: () => import('./apply.js'),
  completion: () => import('./completion.js'),
  create: () => import('./create.js'),
  export: () => import('./export.js'),
  import: () => import('./import.js'),
  kill: () => import('./kill.js'),
  provision: () => import('./provision.js'),
  'regenerate-certs': () => import('./regenerate-certs.js'),
  restart: () => import('./restart.js'),
  rm: () => import('./rm.js'),
  ssh: () => import('./ssh.js'),
  scp: () => import('./scp.js'),
  mount: () => import('./mount.js'),
  start: () => import('./start.js'),
  status: () => import('./status.js'),
  stop: () => import('./stop.js'),
  upgrade: () => import('./upgrade.js'),
  use: () => import('./use.js'),
  version: () => import('./version.js'),
  help: () => import('./help-command.js'),
};

export const commands: CommandInfo[] = COMMAND_LIST.map((c) => ({ ...c, load: loaders[c.name] }));

export function findCommand(name: string): CommandInfo | undefined {
  return findIn(commands, name);
}
