import { MachineError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { GIT_COMMIT, VERSION, VERSION_STRING } from '../version.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';
import { formatFlag, jsonFormat } from './json-flag.js';

export const flags: FlagDef[] = [formatFlag];

/** Without a name, our version; with one, the version of that machine's engine. */
export async function run(ctx: CommandContext): Promise<void> {
  const json = jsonFormat(ctx);
  if (ctx.args.length === 0) {
    if (json) ctx.out.write(`${JSON.stringify({ Version: VERSION, GitCommit: GIT_COMMIT })}\n`);
    else ctx.out.write(`${ctx.appName} version ${VERSION_STRING}\n`);
    return;
  }
  if (ctx.args.length > 1) throw new MachineError('Error: Expected one machine name as an argument');
  const api = apiFor(ctx);
  const m = await api.load(ctx.args[0]);
  const engine = await api.engineVersion(m);
  if (json) ctx.out.write(`${JSON.stringify({ Name: m.name, EngineVersion: engine })}\n`);
  else ctx.out.write(`${engine}\n`);
}
