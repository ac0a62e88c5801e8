import type { CommandInfo, CommandModule } from './command.js';
import { COMMAND_LIST } from './command-list.js';

/**
 * The commands of the light bundle (dist/cli-light.cjs): the ones people run many times a day,
 * whose start-up time DESIGN §8 bounds. That bundle holds only what these need, so it is read and
 * deserialised faster than the full one. scripts/cli-loader.cjs keeps the same list to choose a
 * bundle from the command line (light-commands.test.ts checks that the two agree).
 */
export const LIGHT_COMMANDS: readonly string[] = ['active', 'config', 'env', 'inspect', 'ip', 'ls', 'url'];

/** The light commands' modules; the full bundle's table (commands.ts) starts from this one. */
export const lightLoaders: Record<string, () => Promise<CommandModule>> = {
  active: () => import('./active.js'),
  config: () => import('./config.js'),
  env: () => import('./env.js'),
  inspect: () => import('./inspect.js'),
  ip: () => import('./ip.js'),
  ls: () => import('./ls.js'),
  url: () => import('./url.js'),
};

/**
 * Every command for help and lookup; only the light ones load. main-light.ts hands any other
 * command to the full bundle before running anything, so the others' load is never reached.
 */
export const lightCommands: CommandInfo[] = COMMAND_LIST.map((c) => ({
  ...c,
  load: lightLoaders[c.name] ?? (() => Promise.reject(new Error(`'${c.name}' is not in the light bundle`))),
}));

export function isLight(name: string): boolean {
  return LIGHT_COMMANDS.includes(name);
}
