import { oneLine } from '../flags/checks.js';
import type { FlagDef, ParsedFlags } from '../flags/def.js';
import { flagBool, flagInt, flagSlice, flagString } from '../flags/def.js';
import { managerCountAdvice, type SwarmRequest } from './drivers.js';

/** New create flags of Swarm mode, beside the original's --swarm-* ones. */
export const swarmModeFlags: FlagDef[] = [
  {
    name: 'swarm-cluster',
    kind: 'string',
    usage:
      'Swarm cluster to join, or the name of the one a --swarm-master makes (default: the only one in the store)',
    check: oneLine,
  },
  {
    name: 'swarm-managers',
    kind: 'int',
    default: 0,
    usage: 'With several machine names: the first N are Swarm managers, the others workers',
  },
];

/** The original's flags that standalone Swarm needed and Swarm mode has no use for. */
const LEGACY: Record<string, string> = {
  'swarm-image': 'Swarm mode is built into the engine: no image is run',
  'swarm-strategy': 'Swarm mode schedules tasks by its own spread strategy',
  'swarm-host': "a Swarm-mode manager's engine is the cluster's endpoint",
  'swarm-experimental': "Swarm mode's features are the engine's",
};

/** One line for each of those flags given on the command line, and one for an even manager count. */
export function swarmWarnings(flags: ParsedFlags): string[] {
  const lines = Object.entries(LEGACY)
    .filter(([name]) => flags.explicit.has(name))
    .map(([name, why]) => `Warning: --${name} is accepted and ignored: ${why}`);
  const even = managerCountAdvice(swarmManagers(flags));
  return even ? [...lines, even] : lines;
}

export function swarmRequest(flags: ParsedFlags): SwarmRequest {
  return {
    agent: flagBool(flags, 'swarm'),
    master: flagBool(flags, 'swarm-master'),
    image: flagString(flags, 'swarm-image'),
    discovery: flagString(flags, 'swarm-discovery'),
    strategy: flagString(flags, 'swarm-strategy'),
    opts: flagSlice(flags, 'swarm-opt'),
    joinOpts: flagSlice(flags, 'swarm-join-opt'),
    host: flagString(flags, 'swarm-host'),
    addr: flagString(flags, 'swarm-addr'),
    experimental: flagBool(flags, 'swarm-experimental'),
    cluster: flagString(flags, 'swarm-cluster'),
  };
}

export function swarmManagers(flags: ParsedFlags): number {
  return flagInt(flags, 'swarm-managers');
}
