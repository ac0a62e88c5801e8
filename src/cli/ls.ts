import type { HostListItem } from '../api/list.js';
import { filterMachines } from '../api/list.js';
import { hasFilters, parseFilters } from '../api/list-filter.js';
import { MachineError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { flagBool, flagInt, flagSlice, flagString } from '../flags/def.js';
import { goDuration } from '../format/duration.js';
import { goMarshal } from '../format/gojson.js';
import { tabwrite } from '../format/tabwriter.js';
import { goStruct, parseTemplate, TemplateError } from '../format/template/index.js';
import type { CommandContext } from './command.js';
import { queriesFor } from './queries.js';

export const flags: FlagDef[] = [
  { name: 'quiet', short: 'q', kind: 'bool', usage: 'Enable quiet mode' },
  { name: 'filter', kind: 'stringSlice', usage: 'Filter output based on conditions provided' },
  { name: 'timeout', short: 't', kind: 'int', default: 10, usage: 'Timeout in seconds, default to 10s' },
  {
    name: 'format',
    short: 'f',
    kind: 'string',
    usage: "Pretty-print machines using a Go template, or 'json' for one JSON object per line",
  },
];

const DEFAULT_FORMAT =
  'table {{ .Name }}\t{{ .Active }}\t{{ .DriverName}}\t{{ .State }}\t{{ .URL }}\t{{ .Swarm }}\t{{ .DockerVersion }}\t{{ .Error}}';

const HEADER = {
  Name: 'NAME',
  Active: 'ACTIVE',
  ActiveHost: 'ACTIVE_HOST',
  ActiveSwarm: 'ACTIVE_SWARM',
  DriverName: 'DRIVER',
  State: 'STATE',
  URL: 'URL',
  SwarmOptions: 'SWARM_OPTIONS',
  Swarm: 'SWARM',
  EngineOptions: 'ENGINE_OPTIONS',
  Error: 'ERRORS',
  DockerVersion: 'DOCKER',
  ResponseTime: 'RESPONSE',
};

const LS_LAYOUT = { minwidth: 5, tabwidth: 1, padding: 3, padchar: ' ' };

export async function run(ctx: CommandContext): Promise<void> {
  const filters = parseFilters(flagSlice(ctx.flags, 'filter'));
  const api = queriesFor(ctx);

  if (flagBool(ctx.flags, 'quiet')) {
    // Names only, in store order; machines whose config is broken are left out, as in the original.
    // One write for all names: a hundred writes were a tenth of the command's time.
    const names = hasFilters(filters)
      ? (await filterMachines((await api.loadAll()).machines, filters)).map((m) => m.name)
      : await api.loadableNames();
    if (names.length > 0) ctx.out.write(`${names.join('\n')}\n`);
    return;
  }

  const format = flagString(ctx.flags, 'format');
  const timeout = flagInt(ctx.flags, 'timeout');
  if (timeout < 0) throw new MachineError(`invalid --timeout ${timeout}: use a number of seconds >= 0`);
  if (format === 'json') {
    const rows = await api.list({ filters, timeoutMs: timeout * 1000 });
    for (const r of rows) ctx.out.write(`${goMarshal(jsonRow(r))}\n`);
    return;
  }

  let text = format === '' ? DEFAULT_FORMAT : format;
  let table = false;
  if (text.startsWith('table')) {
    table = true;
    text = text.slice('table'.length);
  }
  text = `${text.trim().replaceAll('\\t', '\t').replaceAll('\\n', '\n')}\n`;
  // Parse before querying machines: a bad template fails at once.
  let tpl: ReturnType<typeof parseTemplate>;
  try {
    tpl = parseTemplate(text);
  } catch (err) {
    if (err instanceof TemplateError) throw new MachineError(err.message);
    throw err;
  }

  const rows = await api.list({ filters, timeoutMs: timeout * 1000 });
  let body = '';
  try {
    if (table) body += tpl.execute(HEADER);
    for (const r of rows) body += tpl.execute(templateRow(r));
  } catch (err) {
    if (err instanceof TemplateError) throw new MachineError(err.message);
    throw err;
  }
  ctx.out.write(table ? tabwrite(body, LS_LAYOUT) : body);
}

function templateRow(r: HostListItem): object {
  return goStruct('commands.HostListItem', {
    ...r,
    SwarmOptions: r.SwarmOptions ? goStruct('swarm.Options', { ...r.SwarmOptions }) : null,
    EngineOptions: r.EngineOptions ? goStruct('engine.Options', { ...r.EngineOptions }) : null,
    ResponseTime: goDuration(r.ResponseTime),
  });
}

function jsonRow(r: HostListItem): Record<string, unknown> {
  return {
    Name: r.Name,
    Active: r.Active,
    ActiveHost: r.ActiveHost,
    ActiveSwarm: r.ActiveSwarm,
    DriverName: r.DriverName,
    State: r.State,
    URL: r.URL,
    Swarm: r.Swarm,
    DockerVersion: r.DockerVersion,
    Error: r.Error,
    ResponseTimeMs: r.ResponseTime,
  };
}
