import { apiFor } from './api.js';
import type { CommandContext } from './command.js';
import { atMostOneName, targetName } from './target.js';

export const flags = [];

export async function run(ctx: CommandContext): Promise<void> {
  atMostOneName(ctx);
  const api = apiFor(ctx);
  const m = await api.load(await targetName(ctx));
  ctx.out.write(`${await m.driver.getURL()}\n`);
}
