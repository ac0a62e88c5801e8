import type { MachineState } from '../driver.js';

/**
 * Nova's server status to machine state (clouds.md §6.2). Nova says BUILD for a booting server;
 * the original looked for BUILDING, so a booting server showed no state: here it is Starting.
 */
export function machineState(status: string): MachineState {
  switch (status.toUpperCase()) {
    case 'ACTIVE':
      return 'Running';
    case 'BUILD':
    case 'BUILDING':
    case 'REBUILD':
    case 'REBOOT':
    case 'HARD_REBOOT':
      return 'Starting';
    case 'PAUSED':
      return 'Paused';
    case 'SUSPENDED':
    case 'SHELVED':
    case 'SHELVED_OFFLOADED':
      return 'Saved';
    case 'SHUTOFF':
      return 'Stopped';
    case 'DELETED':
    case 'SOFT_DELETED':
      return 'NotFound';
    case 'ERROR':
      return 'Error';
    default:
      return '';
  }
}

/** The original's --openstack-metadata: "k1,v1,k2,v2" as a map; an odd count is an error. */
export function parseMetadata(s: string): Record<string, string> | string {
  if (s.trim() === '') return {};
  const parts = s.split(',').map((p) => p.trim());
  if (parts.length % 2 !== 0)
    return `--openstack-metadata "${s}" has a key without a value: give key1,value1,key2,value2`;
  const out: Record<string, string> = {};
  for (let i = 0; i < parts.length; i += 2) {
    if (!parts[i]) return `--openstack-metadata "${s}" has an empty key`;
    out[parts[i]] = parts[i + 1];
  }
  return out;
}

interface Addr {
  addr: string;
  version: number;
  'OS-EXT-IPS:type'?: string;
}

/**
 * The address to reach the server at (clouds.md §6.1 step 6): of the wanted IP version, floating
 * when a pool was used, else fixed; on the named network first. '' when there is none yet.
 */
export function pickAddress(
  addresses: Record<string, Addr[]> | undefined,
  o: { version: number; floating: boolean; network?: string },
): string {
  const all = Object.entries(addresses ?? {}).flatMap(([net, list]) =>
    (Array.isArray(list) ? list : []).map((a) => ({ ...a, net })),
  );
  const ofVersion = all.filter((a) => Number(a.version) === o.version);
  const typed = ofVersion.some((a) => a['OS-EXT-IPS:type']);
  const want = o.floating ? 'floating' : 'fixed';
  const ok = typed ? ofVersion.filter((a) => a['OS-EXT-IPS:type'] === want) : ofVersion;
  const onNet = o.network ? ok.filter((a) => a.net === o.network) : [];
  return (onNet[0] ?? ok[0])?.addr ?? '';
}
