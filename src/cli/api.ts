import { MachineAPI } from '../api/index.js';
import { apiOptionsFor } from './api-context.js';
import type { CommandContext } from './command.js';
import type { LiveView } from './live-view.js';

/** The library API for this command line (see apiOptionsFor for how progress is printed). */
export function apiFor(
  ctx: CommandContext,
  opts: { machineColumn?: number; live?: LiveView } = {},
): MachineAPI {
  return new MachineAPI(apiOptionsFor(ctx, opts));
}
