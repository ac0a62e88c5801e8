/**
 * One flag, declared once. The same definition drives parsing, help text, env-var defaults and,
 * for drivers, the driver's section of config.json.
 */
export type FlagKind = 'string' | 'int' | 'bool' | 'stringSlice';

export type FlagValue = string | number | boolean | string[];

export interface FlagDef {
  /** Long name without dashes, e.g. "storage-path". Go flag syntax accepts -name and --name. */
  name: string;
  /** Optional one-letter alias, e.g. "s". */
  short?: string;
  kind: FlagKind;
  usage: string;
  /** Environment variable read when the flag is not given on the command line. */
  envVar?: string;
  /** Declared default (shown in help). Bool flags always default to false. */
  default?: string | number | string[];
}

/** Values after parsing: every declared flag has a value (explicit, from env, or default). */
export interface ParsedFlags {
  values: Map<string, FlagValue>;
  /** Long names of the flags given explicitly on the command line. */
  explicit: Set<string>;
}

export function flagString(p: ParsedFlags, name: string): string {
  const v = p.values.get(name);
  return typeof v === 'string' ? v : v === undefined ? '' : String(v);
}

export function flagInt(p: ParsedFlags, name: string): number {
  const v = p.values.get(name);
  return typeof v === 'number' ? v : 0;
}

export function flagBool(p: ParsedFlags, name: string): boolean {
  return p.values.get(name) === true;
}

export function flagSlice(p: ParsedFlags, name: string): string[] {
  const v = p.values.get(name);
  return Array.isArray(v) ? v : [];
}
