import { formatValue, isGoStruct, sprintf } from '../gofmt.js';
import { goMarshal, goMarshalIndent, sortedKeysDeep } from '../gojson.js';

/** Builtin functions of Go's text/template (and, or and call are handled by the executor). */
export class FuncError extends Error {}

export const MISSING: unique symbol = Symbol('no value');

export function truth(v: unknown): boolean {
  if (v === null || v === undefined || v === MISSING) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isGoStruct(v)) return true;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function basicKind(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  return 'complex';
}

function eq(a: unknown, ...bs: unknown[]): boolean {
  if (bs.length === 0) throw new FuncError('missing argument for comparison');
  for (const b of bs) {
    const ka = basicKind(a);
    const kb = basicKind(b);
    if (ka === 'complex' || kb === 'complex') throw new FuncError('invalid type for comparison');
    if (ka !== kb && ka !== 'nil' && kb !== 'nil') throw new FuncError('incompatible types for comparison');
    if (a === b || (ka === 'nil' && kb === 'nil')) return true;
  }
  return false;
}

function order(name: string, a: unknown, b: unknown): number {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka !== kb) throw new FuncError('incompatible types for comparison');
  if (ka !== 'number' && ka !== 'string') throw new FuncError(`invalid type for comparison`);
  void name;
  return (a as number | string) < (b as number | string) ? -1 : a === b ? 0 : 1;
}

function goType(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

function length(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (v !== null && typeof v === 'object' && !isGoStruct(v)) return Object.keys(v).length;
  throw new FuncError(`len of type ${goType(v)}`);
}

function index(v: unknown, ...keys: unknown[]): unknown {
  let cur = v;
  for (const k of keys) {
    if (Array.isArray(cur) || typeof cur === 'string') {
      if (typeof k !== 'number' || !Number.isInteger(k))
        throw new FuncError('cannot index slice/array with type string');
      if (k < 0 || k >= cur.length) throw new FuncError(`index out of range: ${k}`);
      cur = typeof cur === 'string' ? Buffer.from(cur)[k] : cur[k];
    } else if (cur !== null && typeof cur === 'object' && !isGoStruct(cur)) {
      const o = cur as Record<string, unknown>;
      cur = Object.hasOwn(o, String(k)) ? o[String(k)] : MISSING;
    } else if (cur === null || cur === undefined || cur === MISSING) {
      throw new FuncError('index of untyped nil');
    } else {
      throw new FuncError(`can't index item of type ${typeof cur}`);
    }
  }
  return cur;
}

function slice(v: unknown, ...idx: unknown[]): unknown {
  if (typeof v !== 'string' && !Array.isArray(v)) throw new FuncError(`can't slice item of type ${typeof v}`);
  const [i = 0, j = v.length] = idx as number[];
  if (i < 0 || j > v.length || i > j) throw new FuncError(`index out of range: ${j}`);
  return v.slice(i, j);
}

/** Go's Sprint: a space between operands when neither is a string. */
function print(...args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

const HTML: Record<string, string> = {
  '<': '&lt;',
  '>': '&gt;',
  '&': '&amp;',
  "'": '&#39;',
  '"': '&#34;',
  '\0': '\uFFFD',
};

export const builtins: Record<string, (...args: unknown[]) => unknown> = {
  not: (v) => !truth(v),
  eq,
  ne: (a, b) => !eq(a, b),
  lt: (a, b) => order('lt', a, b) < 0,
  le: (a, b) => order('le', a, b) <= 0,
  gt: (a, b) => order('gt', a, b) > 0,
  ge: (a, b) => order('ge', a, b) >= 0,
  len: length,
  index,
  slice,
  print,
  println: (...args) => `${args.map((a) => formatValue(a)).join(' ')}\n`,
  printf: (fmt, ...args) => sprintf(String(fmt), ...args),
  html: (...args) => print(...args).replace(/[<>&'"\0]/g, (c) => HTML[c]),
  js: (...args) =>
    print(...args).replace(
      /[\\'"<>&=\n\r\t]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
    ),
  urlquery: (...args) => encodeURIComponent(print(...args)).replace(/%20/g, '+'),
};

/** `json` of inspect --format: compact Go JSON, map keys sorted as Go sorts them. */
export function goJSONCompact(v: unknown): string {
  return goMarshal(sortedKeysDeep(v === MISSING ? null : v));
}

/** `prettyjson` of inspect --format: 4-space indented Go JSON. */
export function goJSONIndent(v: unknown): string {
  return goMarshalIndent(sortedKeysDeep(v === MISSING ? null : v));
}
