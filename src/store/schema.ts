import type { HostConfig } from './host.js';

/**
 * Checks config.json (input from a file: anything may be in it) and fills what is missing with
 * Go's zero values. A hand-written checker instead of zod: zod alone costs ~33 ms at start-up,
 * more than every light command may take in all. Keys we do not know are kept, after the known
 * ones, so that a save loses nothing.
 */
export class SchemaError extends Error {}

type Check = (v: unknown, path: string) => unknown;

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function fail(path: string, want: string, v: unknown): never {
  throw new SchemaError(`${path}: expected ${want}, got ${kind(v)}`);
}

const str: Check = (v, p) =>
  v === undefined || v === null ? '' : typeof v === 'string' ? v : fail(p, 'string', v);
const num: Check = (v, p) =>
  v === undefined || v === null ? 0 : typeof v === 'number' ? v : fail(p, 'number', v);
const bool: Check = (v, p) =>
  v === undefined || v === null ? false : typeof v === 'boolean' ? v : fail(p, 'boolean', v);
/** A Go []string: null stays null (the original writes null for nil slices such as Dns). */
const strList: Check = (v, p) => {
  if (v === undefined || v === null) return v === null ? null : [];
  if (!Array.isArray(v)) fail(p, 'array', v);
  return v.map((e, i) => (typeof e === 'string' ? e : fail(`${p}[${i}]`, 'string', e)));
};
const nullableList: Check = (v, p) => (v === undefined ? null : strList(v, p));
/** A field of ours the original does not write: absent stays absent. */
const optStr: Check = (v, p) => (v === undefined ? undefined : str(v, p));

function obj(fields: Record<string, Check>): Check {
  return (v, p) => {
    if (v === undefined || v === null) v = {};
    if (kind(v) !== 'object') fail(p, 'object', v);
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, check] of Object.entries(fields)) {
      const value = check(src[k], p ? `${p}.${k}` : k);
      if (value !== undefined) out[k] = value;
    }
    for (const [k, e] of Object.entries(src)) if (!(k in fields)) out[k] = e;
    return out;
  };
}

const anyObject: Check = (v, p) => {
  if (v === undefined || v === null) return {};
  return kind(v) === 'object' ? v : fail(p, 'object', v);
};

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

export function checkHostV3(v: unknown): HostConfig {
  return hostV3(v, '') as HostConfig;
}
