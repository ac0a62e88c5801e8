/**
 * One flag, declared once. The same definition drives parsing, help text, env-var defaults and,
 * for drivers, the driver's section of config.json.
 */
export type FlagKind = 'string' | 'int' | 'bool' | 'stringSlice';

export type FlagValue = string | number | boolean | string[];

/**
 * What a good value looks like, or undefined when the value is good. Run on every value given on
 * the command line or by the environment (defaults are trusted), each element of a slice alone.
 */
export type FlagCheck = (value: string | number) => string | undefined;

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
  /** Refuses values that could only fail later (see ./checks.ts). */
  check?: FlagCheck;
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
