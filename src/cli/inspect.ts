import { withoutSecrets } from '../api/driver-secrets.js';
import { MachineError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { flagString } from '../flags/def.js';
import { goMarshalIndent } from '../format/gojson.js';
import { goJSONCompact, goJSONIndent } from '../format/template/funcs.js';
import { parseTemplate, TemplateError } from '../format/template/index.js';
import type { CommandContext } from './command.js';
import { queriesFor } from './queries.js';
import { targetName } from './target.js';

export const flags: FlagDef[] = [
  { name: 'format', short: 'f', kind: 'string', usage: 'Format the output using the given go template.' },
];

export async function run(ctx: CommandContext): Promise<void> {
  if (ctx.args.length > 1) {
    ctx.showHelp();
    throw new MachineError('Error: Expected one machine name as an argument');
  }
  const api = queriesFor(ctx);
  const m = await api.load(await targetName(ctx));
  // Credentials stay in config.json, never on the screen (see docs/compatibility.md).
  const host = { ...m.config, Driver: withoutSecrets(m.driver.toJSON() as Record<string, unknown>) };
  const format = flagString(ctx.flags, 'format');
  if (format === '') {
    ctx.out.write(`${goMarshalIndent(host)}\n`);
    return;
  }
  let tpl: ReturnType<typeof parseTemplate>;
  try {
    tpl = parseTemplate(format, { funcs: { json: goJSONCompact, prettyjson: goJSONIndent } });
  } catch (err) {
    if (err instanceof TemplateError) throw new MachineError(`template parsing error: ${err.message}`);
    throw err;
  }
  try {
    // The template sees the JSON form (key names as in config.json), as in the original.
    ctx.out.write(`${tpl.execute(JSON.parse(JSON.stringify(host)))}\n`);
  } catch (err) {
    if (err instanceof TemplateError) throw new MachineError(err.message);
    throw err;
  }
}
