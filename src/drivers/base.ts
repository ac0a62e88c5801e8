import type { BaseDriverFields, DriverJSON } from '../store/host.js';

/** The BaseDriver fields in the original's order, with its zero values. */
export function baseDriverFields(machineName: string, storePath: string): BaseDriverFields {
  return {
    IPAddress: '',
    MachineName: machineName,
    SSHUser: '',
    SSHPort: 0,
    SSHKeyPath: '',
    StorePath: storePath,
    SwarmMaster: false,
    SwarmHost: '',
    SwarmDiscovery: '',
  };
}

/**
 * Merge the fields a driver knows into the JSON it was loaded from. Known keys keep their place,
 * new ones go last, and keys this version does not know (a newer driver's) are kept, so that a
 * save never drops another tool's data.
 */
export function mergeDriverJSON(loaded: DriverJSON, known: DriverJSON): DriverJSON {
  return { ...loaded, ...known };
}

export function str(json: DriverJSON, key: string): string {
  const v = json[key];
  return typeof v === 'string' ? v : '';
}

export function num(json: DriverJSON, key: string): number {
  const v = json[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

export function bool(json: DriverJSON, key: string): boolean {
  return json[key] === true;
}

/**
 * An SSH-only engine (--engine-endpoint ssh): the driver opens, publishes and forwards no port
 * for the engine, which listens on its socket only.
 */
export function sshOnlyEngine(json: DriverJSON): boolean {
  return str(json, 'EngineEndpoint') === 'ssh';
}

/** A list field's non-empty strings ([] when the field is missing or not a list). */
export function strs(json: DriverJSON, key: string): string[] {
  const v = json[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
}
