import { apiFor } from './api.js';
import type { CommandContext } from './command.js';

/** The full bundle's healer (see cert-heal-hook.ts): a new server certificate for the machine. */
export async function healMachine(ctx: CommandContext, name: string, swarm: boolean): Promise<void> {
  await apiFor(ctx).healCertificates(name, { nativeSSH: ctx.globals.nativeSSH, swarm });
}
