import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isatty } from 'node:tty';
import { NotExistError } from '../api/errors.js';
import { MachineError } from '../errors.js';
import { type FlagDef, flagBool, flagString } from '../flags/def.js';
import { writeFileAtomic } from '../store/atomic.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';
import { passphraseFor } from './passphrase.js';
import { atMostOneName, targetName } from './target.js';

export const flags: FlagDef[] = [
  {
    name: 'output',
    short: 'o',
    kind: 'string',
    usage: "File to write (mode 0600); '-' writes to stdout. Default: NAME.dmexport in this folder",
  },
  {
    name: 'with-ca',
    kind: 'bool',
    usage: "Also carry the CA's private key (whoever opens the file can then sign for the CA)",
  },
];

/** `export NAME`: the machine's config, keys and certificates in one encrypted file (docs/export.md). */
export async function run(ctx: CommandContext): Promise<void> {
  atMostOneName(ctx);
  // stdout may be the file itself: every line goes to stderr.
  ctx.out.infoToStderr();
  const name = await targetName(ctx);
  const output = flagString(ctx.flags, 'output') || `${name}.dmexport`;
  if (output === '-' && isatty(1)) {
    throw new MachineError('Error: export will not write to a terminal: redirect stdout, or give -o FILE');
  }
  if (output !== '-') {
    // Said before the passphrase is asked, not after.
    const folder = dirname(resolve(output));
    const st = await stat(folder).catch(() => undefined);
    if (!st?.isDirectory())
      throw new MachineError(`Error: cannot write ${output}: ${folder} is not a folder`);
  }
  const api = apiFor(ctx);
  // Before the passphrase: a typo in the name is said without asking for one.
  if (!(await api.exists(name))) throw new NotExistError(name);
  const withCA = flagBool(ctx.flags, 'with-ca');
  const passphrase = await passphraseFor(ctx, { confirm: true });
  const data = await api.exportMachine(name, { passphrase, withCA });
  if (output === '-') {
    ctx.out.write(data);
  } else {
    await writeFileAtomic(resolve(output), data, 0o600);
  }
  const where = output === '-' ? 'stdout' : output;
  ctx.out.info(
    withCA
      ? `Exported "${name}" to ${where}; it holds the CA's private key: keep it as safe as the CA`
      : `Exported "${name}" to ${where}`,
  );
}
