import { MachineError } from '../errors.js';
import { type FlagDef, flagBool } from '../flags/def.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';
import { atMostOneName, targetName } from './target.js';

export const flags: FlagDef[] = [
  { name: 'unset', short: 'u', kind: 'bool', usage: 'Make the default docker context current again' },
];

/** `use NAME`: the machine's docker context becomes the docker CLI's current one, for every shell. */
export async function run(ctx: CommandContext): Promise<void> {
  atMostOneName(ctx);
  const api = apiFor(ctx);
  let now: string;
  if (flagBool(ctx.flags, 'unset')) {
    if (ctx.args.length > 0) throw new MachineError('Error: use -u takes no machine name');
    now = await api.useContext(null);
  } else {
    now = await api.useContext(await api.load(await targetName(ctx)));
  }
  ctx.out.write(`Current docker context is now "${now}"\n`);
  // Both outrank the current context in the docker CLI.
  for (const v of ['DOCKER_HOST', 'DOCKER_CONTEXT']) {
    if (ctx.env[v]) {
      ctx.out.error(
        `Warning: ${v} is set in this shell and overrides the current context; clear it with: eval $(${ctx.appName} env -u)`,
      );
    }
  }
}
