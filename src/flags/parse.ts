import { goQuote, UsageError } from '../errors.js';
import { showValue } from './checks.js';
import type { FlagDef, FlagValue, ParsedFlags } from './def.js';

/**
 * Go `flag` syntax as codegangsta/cli used it: `-name` and `--name` are the same flag, a value
 * follows after `=` or as the next argument, bool flags take only `=value`, `--` ends the flags.
 * Unlike the original, flags may be mixed with arguments anywhere (the original stopped at the
 * first argument after a flag, so `create -d none NAME --url X` failed): accepting more is safe.
 */
export interface ParseOptions {
  /** Stop at the first argument that is not a flag (global flags stop at the command name). */
  stopAtFirstArg?: boolean;
  /** The command whose help explains usage, for error messages. */
  command?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ParseResult {
  flags: ParsedFlags;
  args: string[];
  /** Arguments after the first positional one when stopAtFirstArg is set (the command and its args). */
  rest: string[];
}

export function parseFlags(argv: string[], defs: FlagDef[], opts: ParseOptions = {}): ParseResult {
  const byName = new Map<string, FlagDef>();
  for (const d of defs) {
    byName.set(d.name, d);
    if (d.short) byName.set(d.short, d);
  }
  const values = new Map<string, FlagValue>();
  const explicit = new Set<string>();
  const formsUsed = new Map<string, Set<string>>();
  const args: string[] = [];
  let rest: string[] = [];
  const cmd = opts.command ?? '';

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      if (opts.stopAtFirstArg) rest = argv.slice(i + 1);
      else args.push(...argv.slice(i + 1));
      break;
    }
    if (arg.length < 2 || arg[0] !== '-') {
      if (opts.stopAtFirstArg) {
        rest = argv.slice(i);
        break;
      }
      args.push(arg);
      continue;
    }
    const dashes = arg[1] === '-' ? 2 : 1;
    let body = arg.slice(dashes);
    if (body.length === 0 || body[0] === '-' || body[0] === '=') {
      throw new UsageError(`bad flag syntax: ${arg}`, cmd);
    }
    let inline: string | undefined;
    const eq = body.indexOf('=');
    if (eq >= 0) {
      inline = body.slice(eq + 1);
      body = body.slice(0, eq);
    }
    const def = byName.get(body);
    if (!def) throw new UsageError(`flag provided but not defined: -${body}`, cmd);

    const forms = formsUsed.get(def.name) ?? new Set<string>();
    forms.add(body);
    formsUsed.set(def.name, forms);
    if (forms.size > 1) {
      throw new UsageError(`Cannot use two forms of the same flag: ${[...forms].join(' ')}`, cmd);
    }

    let raw: string;
    if (def.kind === 'bool') {
      if (inline === undefined) raw = 'true';
      else raw = inline;
      const b = parseGoBool(raw);
      if (b === undefined)
        throw new UsageError(`invalid boolean value ${goQuote(raw)} for -${body}: parse error`, cmd);
      values.set(def.name, b);
      explicit.add(def.name);
      continue;
    }
    if (inline !== undefined) raw = inline;
    else if (i + 1 < argv.length) raw = argv[++i];
    else throw new UsageError(`flag needs an argument: -${body}`, cmd);

    if (def.kind === 'int') {
      const n = parseGoInt(raw);
      if (n === undefined) {
        // A check knows what a good value looks like; Go's "parse error" does not.
        const expected = def.check?.(Number.NaN) ?? 'parse error';
        throw new UsageError(`invalid value ${showValue(raw)} for flag -${body}: ${expected}`, cmd);
      }
      values.set(def.name, n);
    } else if (def.kind === 'stringSlice') {
      const prev = explicit.has(def.name) ? (values.get(def.name) as string[]) : [];
      values.set(def.name, [...prev, raw]);
    } else {
      values.set(def.name, raw);
    }
    explicit.add(def.name);
  }

  const env = opts.env ?? process.env;
  for (const d of defs) {
    if (explicit.has(d.name)) continue;
    values.set(d.name, envOrDefault(d, env));
  }
  const bad = flagValueProblem(defs, { values, explicit }, env);
  if (bad) throw new UsageError(bad, cmd);
  return { flags: { values, explicit }, args, rest };
}

/**
 * The first value that its flag's check refuses, as one line naming the flag (and the
 * environment variable it came from), or undefined. Values equal to the declared default pass.
 */
export function flagValueProblem(
  defs: FlagDef[],
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv = {},
): string | undefined {
  for (const d of defs) {
    if (!d.check) continue;
    const v = flags.values.get(d.name);
    if (v === undefined || typeof v === 'boolean') continue;
    const fromEnv = !flags.explicit.has(d.name) && d.envVar && env[d.envVar] ? ` ($${d.envVar})` : '';
    if (!flags.explicit.has(d.name) && !fromEnv && sameAsDefault(d, v)) continue;
    for (const one of Array.isArray(v) ? v : [v]) {
      const problem = d.check(one);
      if (problem !== undefined) {
        return `invalid value ${showValue(String(one))} for flag -${d.name}${fromEnv}: ${problem}`;
      }
    }
  }
  return undefined;
}

function sameAsDefault(d: FlagDef, v: FlagValue): boolean {
  if (Array.isArray(v)) return Array.isArray(d.default) && v.join('\0') === d.default.join('\0');
  return v === (d.default ?? (d.kind === 'int' ? 0 : ''));
}

/** The value a flag has when the command line does not set it: its env var, else its default. */
export function envOrDefault(d: FlagDef, env: NodeJS.ProcessEnv): FlagValue {
  const fromEnv = d.envVar ? env[d.envVar] : undefined;
  if (fromEnv !== undefined && fromEnv !== '') {
    switch (d.kind) {
      case 'bool': {
        // Invalid bool env values are ignored, as the original does.
        const b = parseGoBool(fromEnv);
        if (b !== undefined) return b;
        break;
      }
      case 'int': {
        const n = parseGoInt(fromEnv);
        if (n !== undefined) return n;
        break;
      }
      case 'stringSlice':
        return fromEnv
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
      default:
        return fromEnv;
    }
  }
  switch (d.kind) {
    case 'bool':
      return false;
    case 'int':
      return typeof d.default === 'number' ? d.default : 0;
    case 'stringSlice':
      return Array.isArray(d.default) ? [...d.default] : [];
    default:
      return typeof d.default === 'string' ? d.default : '';
  }
}

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  switch (s) {
    case '1':
    case 't':
    case 'T':
    case 'true':
    case 'TRUE':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'false':
    case 'FALSE':
    case 'False':
      return false;
    default:
      return undefined;
  }
}

/** Go's strconv.ParseInt(s, 0, 64) as the flag package uses it: decimal, 0x, 0o, 0b, leading 0 = octal. */
export function parseGoInt(s: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(s);
  if (!m) return undefined;
  const sign = m[1] === '-' ? -1 : 1;
  let digits = m[2];
  if (digits.includes('_')) {
    // Go accepts underscores only between digits after a base prefix; keep it simple and strict.
    if (/__|_$/.test(digits) || /^[1-9]/.test(digits)) return undefined;
    digits = digits.replaceAll('_', '');
  }
  let n: number;
  if (/^0[xX]/.test(digits)) n = Number.parseInt(digits.slice(2), 16);
  else if (/^0[oO]/.test(digits)) n = Number.parseInt(digits.slice(2), 8);
  else if (/^0[bB]/.test(digits)) n = Number.parseInt(digits.slice(2), 2);
  else if (digits.length > 1 && digits[0] === '0') n = Number.parseInt(digits.slice(1), 8);
  else n = Number.parseInt(digits, 10);
  if (!Number.isSafeInteger(n)) return undefined;
  return sign * n;
}
