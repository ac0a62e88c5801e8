import { isSSHURL } from '../engine/endpoint.js';
import { errorMessage, goQuote, MachineError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { flagBool } from '../flags/def.js';
import { join } from '../runtime/path.js';
import { checkedConnection } from './checked-connection.js';
import type { CommandContext } from './command.js';
import { queriesFor } from './queries.js';
import { targetName } from './target.js';

export const flags: FlagDef[] = [
  { name: 'swarm', kind: 'bool', usage: 'Display the Swarm config instead of the Docker daemon' },
];

/** Flags for `docker $(docker-machine config NAME) ...`, after checking the engine's TLS. */
export async function run(ctx: CommandContext): Promise<void> {
  ctx.out.infoToStderr();
  const api = queriesFor(ctx);
  const named = await api.load(await targetName(ctx));
  const m = flagBool(ctx.flags, 'swarm') ? await api.swarmManager(named) : named;
  const dockerHost = await checkedConnection(
    ctx,
    api,
    m,
    flagBool(ctx.flags, 'swarm'),
    (err) => new MachineError(`Error running connection boilerplate: ${errorMessage(err)}`, { cause: err }),
  );
  if (isSSHURL(dockerHost)) {
    // The docker CLI logs in with the store's ssh_config entry; there is no TLS to name.
    ctx.out.write(`-H=${dockerHost}\n`);
    return;
  }
  // checkedConnection has put the machine folder's copies of the client certificates in place.
  const dir = m.config.HostOptions.AuthOptions.StorePath || join(api.store.machinesDir, m.name);
  ctx.out.write(
    [
      '--tlsverify',
      `--tlscacert=${goQuote(join(dir, 'ca.pem'))}`,
      `--tlscert=${goQuote(join(dir, 'cert.pem'))}`,
      `--tlskey=${goQuote(join(dir, 'key.pem'))}`,
      `-H=${dockerHost}`,
      '',
    ].join('\n'),
  );
}
