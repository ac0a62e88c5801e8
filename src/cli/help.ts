import type { FlagDef } from '../flags/def.js';
import { tabwrite } from '../format/tabwriter.js';
import { VERSION_STRING } from '../version.js';
import type { CommandInfo } from './command.js';

/** Help is laid out by a tabwriter with TAB padding, as codegangsta/cli did. */
const HELP_LAYOUT = { minwidth: 0, tabwidth: 8, padding: 1, padchar: '\t' };

function prefixed(name: string): string {
  return (name.length === 1 ? '-' : '--') + name;
}

/** One flag's help line, before tab alignment (codegangsta's Flag.String()). */
export function flagHelpLine(d: FlagDef): string {
  const names = [d.name, d.short]
    .filter((n): n is string => !!n)
    .map(prefixed)
    .join(', ');
  const usage = d.envVar ? `${d.usage} [$${d.envVar}]` : d.usage;
  switch (d.kind) {
    case 'bool':
      return `${names}\t${usage}`;
    case 'int':
      return `${names} "${typeof d.default === 'number' ? d.default : 0}"\t${usage}`;
    case 'stringSlice': {
      const p = prefixed(d.name);
      return `${names} [${p} option ${p} option]\t${usage}`;
    }
    default: {
      const def = typeof d.default === 'string' ? d.default : '';
      return def === '' ? `${names} \t${usage}` : `${names} "${def}"\t${usage}`;
    }
  }
}

export function appHelp(appName: string, globals: FlagDef[], cmds: CommandInfo[]): string {
  let t = `Usage: ${appName} [OPTIONS] COMMAND [arg...]\n\n`;
  t += 'Create and manage machines running Docker.\n\n';
  t += `Version: ${VERSION_STRING}\n\n`;
  t += 'Author:\n  Docker Machine Contributors\n\n';
  t += 'Options:\n';
  for (const f of globals) t += `  ${flagHelpLine(f)}\n`;
  t += '  \nCommands:\n';
  for (const c of cmds) if (!c.hidden) t += `  ${c.name}\t${c.usage}\n`;
  t += '  \n';
  t += `Run '${appName} COMMAND --help' for more information on a command.\n`;
  return tabwrite(t, HELP_LAYOUT);
}

export function commandHelp(cmd: CommandInfo, flags: FlagDef[], footer = ''): string {
  let t = `Usage: docker-machine ${cmd.name}${flags.length > 0 ? ' [OPTIONS]' : ''} [arg...]\n\n${cmd.usage}`;
  if (cmd.description) t += `\n\nDescription:\n   ${cmd.description}`;
  if (flags.length > 0) {
    t += '\n\nOptions:\n   ';
    for (const f of flags) t += `\n   ${flagHelpLine(f)}`;
  }
  t += '\n';
  return tabwrite(t, HELP_LAYOUT) + footer;
}
