import { MachineAPI } from '../api/index.js';
import { apiContextFor } from './api-context.js';
import type { CommandContext } from './command.js';

/** The library API for this command line (see apiContextFor for how progress is printed). */
export function apiFor(ctx: CommandContext, opts: { machineColumn?: number } = {}): MachineAPI {
  const c = apiContextFor(ctx, opts);
  return new MachineAPI({ storePath: c.store.root, certs: c.certs, env: c.env, events: c.events });
}
