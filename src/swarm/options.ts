import { MachineError } from '../errors.js';
import type { Availability, InitRequest, JoinRequest } from './engine.js';

/**
 * --swarm-opt (swarm init) and --swarm-join-opt (swarm join) as KEY=VALUE, named as the flags of
 * `docker swarm init` and `docker swarm join` are, turned into the fields of the API requests.
 * They are checked before create makes anything, so a typo costs no machine.
 */

export const SWARM_PORT = 2377;

type InitFields = Omit<InitRequest, 'ListenAddr' | 'AdvertiseAddr'> & { ListenAddr?: string };
type JoinFields = Omit<JoinRequest, 'ListenAddr' | 'AdvertiseAddr' | 'RemoteAddrs' | 'JoinToken'> & {
  ListenAddr?: string;
};

type Setter<T> = (out: T, value: string, flag: string) => void;

const availability = (value: string, flag: string): Availability => {
  if (value === 'active' || value === 'pause' || value === 'drain') return value;
  throw new MachineError(`${flag}: availability must be active, pause or drain`);
};

const int = (value: string, flag: string): number => {
  if (!/^\d+$/.test(value)) throw new MachineError(`${flag}: expected a whole number`);
  return Number(value);
};

const bool = (value: string, flag: string): boolean => {
  if (value === '' || value === 'true') return true;
  if (value === 'false') return false;
  throw new MachineError(`${flag}: expected true or false`);
};

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration (90s, 1h30m, 2160h) in nanoseconds, as the API takes durations. */
export function parseDuration(value: string, flag: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < value.length) {
    re.lastIndex = pos;
    const m = re.exec(value);
    if (!m) throw new MachineError(`${flag}: expected a duration such as 5s, 90m or 2160h`);
    total += Number(m[1]) * UNITS[m[2]];
    pos = re.lastIndex;
  }
  if (value === '') throw new MachineError(`${flag}: expected a duration such as 5s, 90m or 2160h`);
  return Math.round(total);
}

function spec(out: InitFields, path: [string, string], v: unknown): void {
  const s = (out.Spec ??= {}) as Record<string, Record<string, unknown>>;
  s[path[0]] ??= {};
  s[path[0]][path[1]] = v;
}

const common = {
  'listen-addr': (o: { ListenAddr?: string }, v: string) => {
    o.ListenAddr = v;
  },
  'data-path-addr': (o: { DataPathAddr?: string }, v: string) => {
    o.DataPathAddr = v;
  },
  availability: (o: { Availability?: Availability }, v: string, f: string) => {
    o.Availability = availability(v, f);
  },
};

const INIT: Record<string, Setter<InitFields>> = {
  ...common,
  'data-path-port': (o, v, f) => {
    o.DataPathPort = int(v, f);
  },
  'default-addr-pool': (o, v) => {
    o.DefaultAddrPool = [...(o.DefaultAddrPool ?? []), v];
  },
  'default-addr-pool-mask-length': (o, v, f) => {
    o.SubnetSize = int(v, f);
  },
  'force-new-cluster': (o, v, f) => {
    o.ForceNewCluster = bool(v, f);
  },
  'cert-expiry': (o, v, f) => spec(o, ['CAConfig', 'NodeCertExpiry'], parseDuration(v, f)),
  'dispatcher-heartbeat': (o, v, f) => spec(o, ['Dispatcher', 'HeartbeatPeriod'], parseDuration(v, f)),
  'task-history-limit': (o, v, f) => spec(o, ['Orchestration', 'TaskHistoryRetentionLimit'], int(v, f)),
  'max-snapshots': (o, v, f) => spec(o, ['Raft', 'KeepOldSnapshots'], int(v, f)),
  'snapshot-interval': (o, v, f) => spec(o, ['Raft', 'SnapshotInterval'], int(v, f)),
};

const JOIN: Record<string, Setter<JoinFields>> = { ...common };

function parse<T>(
  flag: string,
  what: string,
  items: string[],
  setters: Record<string, Setter<T>>,
  out: T,
): T {
  for (const item of items) {
    const text = item.replace(/^--?/, '');
    const eq = text.indexOf('=');
    const key = eq < 0 ? text : text.slice(0, eq);
    const value = eq < 0 ? '' : text.slice(eq + 1);
    const shown = `${flag} ${item}`;
    if (key === 'advertise-addr') {
      throw new MachineError(`${shown}: give the address to advertise with --swarm-addr`);
    }
    const set = setters[key];
    if (!set) {
      throw new MachineError(
        `${shown}: not an option of ${what} in Swarm mode; known: ${Object.keys(setters).join(', ')}`,
      );
    }
    set(out, value, shown);
  }
  return out;
}

export function initOptions(items: string[]): InitFields {
  return parse<InitFields>('--swarm-opt', 'swarm init', items, INIT, {});
}

export function joinOptions(items: string[]): JoinFields {
  return parse<JoinFields>('--swarm-join-opt', 'swarm join', items, JOIN, {});
}

/** --engine-label k=v values as node labels (a label without '=' gets an empty value). */
export function nodeLabels(engineLabels: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of engineLabels) {
    const eq = l.indexOf('=');
    if (eq < 0) out[l] = '';
    else out[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return out;
}

/** HOST, HOST:PORT or [V6]:PORT with the swarm port added when none is given. */
export function withSwarmPort(addr: string): string {
  if (/^\[.*\]:\d+$/.test(addr) || /^[^:]+:\d+$/.test(addr)) return addr;
  if (addr.includes(':') && !addr.startsWith('[')) return `[${addr}]:${SWARM_PORT}`;
  return `${addr}:${SWARM_PORT}`;
}
