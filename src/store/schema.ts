import type { HostConfig } from './host.js';

/**
 * Checks config.json (input from a file: anything may be in it) and fills what is missing with
 * Go's zero values. A hand-written checker instead of zod: zod alone costs ~33 ms at start-up,
 * more than every light command may take in all. Keys we do not know are kept, after the known
 * ones, so that a save loses nothing.
 */
export class SchemaError extends Error {}

/**
 * A field's check gets the path of its object and its own key; the path string is only built
 * when something fails (ls -q checks every field of every machine: concatenating each path cost
 * more than the checks themselves).
 */
type Check = ((v: unknown, p: string, k?: string) => unknown) & { shape?: string };

/** Marks a check with a short name of what it accepts, for the schema's fingerprint. */
function shaped(shape: string, check: Check): Check {
  check.shape = shape;
  return check;
}

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

const at = (p: string, k?: string): string => (k === undefined ? p : p ? `${p}.${k}` : k);

function fail(path: string, want: string, v: unknown): never {
  throw new SchemaError(`${path}: expected ${want}, got ${kind(v)}`);
}

const str: Check = shaped('s', (v, p, k) =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : fail(at(p, k), 'string', v),
);
const num: Check = shaped('n', (v, p, k) =>
  typeof v === 'number' ? v : v === undefined || v === null ? 0 : fail(at(p, k), 'number', v),
);
const bool: Check = shaped('b', (v, p, k) =>
  typeof v === 'boolean' ? v : v === undefined || v === null ? false : fail(at(p, k), 'boolean', v),
);
/** A Go []string: null stays null (the original writes null for nil slices such as Dns). */
const strList: Check = shaped('l', (v, p, k) => {
  if (v === undefined || v === null) return v === null ? null : [];
  if (!Array.isArray(v)) fail(at(p, k), 'array', v);
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') fail(`${at(p, k)}[${i}]`, 'string', v[i]);
  return v.slice();
});
/** Ours: "tcp" or "ssh"; another word would leave the engine's reach a guess. */
const endpoint: Check = shaped('e', (v, p, k) =>
  v === undefined || v === 'tcp' || v === 'ssh' ? v : fail(at(p, k), '"tcp" or "ssh"', v),
);
const nullableList: Check = shaped('L', (v, p, k) => (v === undefined ? null : strList(v, p, k)));
/** A field of ours the original does not write: absent stays absent. */
const optStr: Check = shaped('o', (v, p, k) => (v === undefined ? undefined : str(v, p, k)));

function obj(fields: Record<string, Check>): Check {
  const keys = Object.keys(fields);
  const checks = keys.map((k) => fields[k]);
  const shape = `{${keys.map((k) => `${k}:${fields[k].shape ?? '?'}`).join(',')}}`;
  return shaped(shape, (v, p, k) => {
    const here = at(p, k);
    if (v === undefined || v === null) v = {};
    if (kind(v) !== 'object') fail(here, 'object', v);
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const value = checks[i](src[keys[i]], here, keys[i]);
      if (value !== undefined) out[keys[i]] = value;
    }
    for (const key in src) if (Object.hasOwn(src, key) && !Object.hasOwn(fields, key)) out[key] = src[key];
    return out;
  });
}

const anyObject: Check = shaped('a', (v, p, k) => {
  if (v === undefined || v === null) return {};
  return kind(v) === 'object' ? v : fail(at(p, k), 'object', v);
});

const hostV3 = obj({
  ConfigVersion: num,
  Driver: anyObject,
  DriverName: str,
  HostOptions: obj({
    Driver: str,
    Memory: num,
    Disk: num,
    EngineOptions: obj({
      ArbitraryFlags: strList,
      Dns: nullableList,
      GraphDir: str,
      Env: strList,
      Ipv6: bool,
      InsecureRegistry: strList,
      Labels: strList,
      LogLevel: str,
      StorageDriver: str,
      SelinuxEnabled: bool,
      TlsVerify: bool,
      RegistryMirror: strList,
      InstallURL: str,
      EngineVersion: optStr,
      EngineEndpoint: endpoint,
    }),
    SwarmOptions: obj({
      IsSwarm: bool,
      Address: str,
      Discovery: str,
      Agent: bool,
      Master: bool,
      Host: str,
      Image: str,
      Strategy: str,
      Heartbeat: num,
      Overcommit: num,
      ArbitraryFlags: strList,
      ArbitraryJoinFlags: strList,
      Env: nullableList,
      IsExperimental: bool,
      Role: optStr,
      ClusterID: optStr,
      NodeID: optStr,
      AdvertiseAddr: optStr,
    }),
    AuthOptions: obj({
      CertDir: str,
      CaCertPath: str,
      CaPrivateKeyPath: str,
      CaCertRemotePath: str,
      ServerCertPath: str,
      ServerKeyPath: str,
      ClientKeyPath: str,
      ServerCertRemotePath: str,
      ServerKeyRemotePath: str,
      ClientCertPath: str,
      ServerCertSANs: strList,
      StorePath: str,
    }),
  }),
  Name: str,
});

/**
 * What the checker accepts and fills in, as a string: a cache of checked configs is valid only
 * for the checker that made it.
 */
export const schemaFingerprint: string = hostV3.shape ?? '';

export function checkHostV3(v: unknown): HostConfig {
  return hostV3(v, '') as HostConfig;
}
