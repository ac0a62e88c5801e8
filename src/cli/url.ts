import { engineURL } from '../api/engine.js';
import type { CommandContext } from './command.js';
import { queriesFor } from './queries.js';
import { atMostOneName, targetName } from './target.js';

export const flags = [];

export async function run(ctx: CommandContext): Promise<void> {
  atMostOneName(ctx);
  const api = queriesFor(ctx);
  const m = await api.load(await targetName(ctx));
  ctx.out.write(`${await engineURL(m)}\n`);
}
