import { waitTimeoutFlag } from '../api/create-flags.js';
import { MachineError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { flagBool, flagInt } from '../flags/def.js';
import type { CommandContext } from './command.js';
import { isYes, readAnswer } from './prompt.js';
import { runAction } from './run-action.js';

export const flags: FlagDef[] = [
  { name: 'force', short: 'f', kind: 'bool', usage: 'Force rebuild and do not prompt' },
  { name: 'client-certs', kind: 'bool', usage: 'Also regenerate client certificates and CA.' },
  waitTimeoutFlag,
];

/**
 * A new server certificate for each machine and an engine restart. Unlike the original it does
 * not re-run the whole provisioning (packages, engine install): containers keep running.
 */
export async function run(ctx: CommandContext): Promise<void> {
  if (!flagBool(ctx.flags, 'force')) {
    ctx.out.write('Regenerate TLS machine certs?  Warning: this is irreversible. (y/n): ');
    const answer = await readAnswer(ctx.stdin);
    // The original failed on an unreadable answer (EOF) and did nothing on "no".
    if (answer === null) throw new MachineError('EOF');
    if (!isYes(answer)) return;
  }
  ctx.out.info('Regenerating TLS certificates');
  const clientCerts = flagBool(ctx.flags, 'client-certs');
  const timeoutMs = flagInt(ctx.flags, 'wait-timeout') * 1000;
  await runAction(ctx, (api, m) =>
    api.regenerateCerts(m, { nativeSSH: ctx.globals.nativeSSH, clientCerts, timeoutMs }),
  );
}
