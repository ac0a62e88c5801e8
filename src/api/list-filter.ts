import { MachineError } from '../errors.js';

/** `ls --filter key=value`: AND across keys, OR within one key (spec §2.9). */
export interface ListFilters {
  driver: string[];
  state: string[];
  name: RegExp[];
  swarm: string[];
  label: string[];
}

export function parseFilters(raw: string[]): ListFilters {
  const f: ListFilters = { driver: [], state: [], name: [], swarm: [], label: [] };
  for (const item of raw) {
    const eq = item.indexOf('=');
    if (eq < 0) throw new MachineError('Unsupported filter syntax');
    const key = item.slice(0, eq).toLowerCase();
    const value = item.slice(eq + 1);
    switch (key) {
      case 'driver':
      case 'state':
      case 'swarm':
        f[key].push(value);
        break;
      case 'label':
        // The original panicked on a label filter without "=value"; say what is wrong instead.
        if (!value.includes('=')) {
          throw new MachineError(`Unsupported label filter '${value}': use --filter label=KEY=VALUE`);
        }
        f.label.push(value);
        break;
      case 'name':
        try {
          f.name.push(new RegExp(value));
        } catch (err) {
          throw new MachineError(`error parsing regexp: ${(err as Error).message}`);
        }
        break;
      default:
        throw new MachineError(`Unsupported filter key '${key}'`);
    }
  }
  return f;
}

export function hasFilters(f: ListFilters): boolean {
  return f.driver.length + f.state.length + f.name.length + f.swarm.length + f.label.length > 0;
}

export function matchLabel(filters: string[], labels: string[]): boolean {
  if (filters.length === 0) return true;
  const have = new Map<string, string>();
  for (const l of labels) {
    const eq = l.indexOf('=');
    if (eq >= 0) have.set(l.slice(0, eq), l.slice(eq + 1));
    else have.set(l, '');
  }
  return filters.some((f) => {
    const eq = f.indexOf('=');
    const k = f.slice(0, eq);
    const v = f.slice(eq + 1);
    return have.has(k) && have.get(k)!.toLowerCase() === v.toLowerCase();
  });
}
