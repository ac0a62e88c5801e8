import { readFile, stat } from 'node:fs/promises';
import { fsError, MachineError } from '../errors.js';
import { type FlagDef, flagString } from '../flags/def.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';
import { passphraseFor } from './passphrase.js';

export const flags: FlagDef[] = [
  { name: 'name', kind: 'string', usage: "The machine's name in this store (default: its exported name)" },
];

/** No export comes near this: a file this big is something else, not read into memory. */
const MAX_EXPORT_BYTES = 256 * 1024 * 1024;

/** `import FILE`: add an exported machine to this store, its paths rewritten (docs/export.md). */
export async function run(ctx: CommandContext): Promise<void> {
  if (ctx.args.length !== 1) {
    throw new MachineError(
      `Error: import takes one file (an export; '-' reads stdin), got ${ctx.args.length}`,
    );
  }
  const file = ctx.args[0];
  const fromStdin = file === '-';
  const data = fromStdin ? await readStdin(ctx.stdin) : await readExport(file);
  const passphrase = await passphraseFor(ctx, { confirm: false, stdinIsData: fromStdin });
  const name = flagString(ctx.flags, 'name') || undefined;
  const m = await apiFor(ctx).importMachine(data, {
    passphrase,
    name,
    source: fromStdin ? 'stdin' : file,
  });
  ctx.out.info(`Imported "${m.name}" (${m.config.DriverName}) from ${fromStdin ? 'stdin' : file}`);
}

async function readExport(file: string): Promise<Buffer> {
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new MachineError(`Error: ${file} is a folder, not an export file`);
    if (st.size > MAX_EXPORT_BYTES) {
      throw new MachineError(
        `Error: ${file} is ${st.size} bytes, more than any export: is it an export file?`,
      );
    }
    return await readFile(file);
  } catch (err) {
    throw fsError('reading', file, err);
  }
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stdin) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    size += b.length;
    if (size > MAX_EXPORT_BYTES)
      throw new MachineError('Error: stdin holds more than any export: is it an export file?');
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
