import { UsageError } from '../errors.js';
import { type FlagDef, flagString } from '../flags/def.js';
import type { CommandContext } from './command.js';

/** New: progress as JSON events, one a line, the only thing on stdout (docs/events.md). */
export const jsonFlag: FlagDef = {
  name: 'json',
  kind: 'bool',
  usage:
    'Print progress as JSON events, one a line (machine, step, state, time, error), and nothing else on stdout',
};

/** New on status and version: `--format json` prints one JSON object instead of the plain line. */
export const formatFlag: FlagDef = {
  name: 'format',
  kind: 'string',
  usage: "Output format: 'json' for one JSON object (default: the plain line)",
};

/** Whether --format json was asked; any other format is refused before anything runs. */
export function jsonFormat(ctx: CommandContext): boolean {
  const f = flagString(ctx.flags, 'format');
  if (f === '') return false;
  if (f === 'json') return true;
  throw new UsageError(`invalid value "${f}" for flag -format: the only format is json`, ctx.name);
}
