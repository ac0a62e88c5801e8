import { openContext } from '../api/context.js';
import { MachineQueries } from '../api/queries.js';
import { apiOptionsFor } from './api-context.js';
import type { CommandContext } from './command.js';

/**
 * The read-only part of the API, for the light commands: importing it instead of apiFor keeps the
 * code of create, provisioning and SSH out of the light bundle.
 */
export function queriesFor(ctx: CommandContext): MachineQueries {
  return new MachineQueries(openContext(apiOptionsFor(ctx)));
}
