import { goQuote } from '../errors.js';

/**
 * Values printed as Go's fmt prints them in templates: `%v` of strings, numbers, bools, slices
 * `[a b]`, maps `map[k:v]` (sorted keys), structs `{a b}` and nil `<nil>`.
 */
export const STRUCT = Symbol('goStruct');

export interface GoStruct {
  [STRUCT]: string;
  [field: string]: unknown;
}

export function isGoStruct(v: unknown): v is GoStruct {
  return typeof v === 'object' && v !== null && STRUCT in v;
}

export function goStruct(typeName: string, fields: Record<string, unknown>): GoStruct {
  return Object.assign(Object.create(null), fields, { [STRUCT]: typeName }) as GoStruct;
}

/**
 * Go's %v of a float64: strconv 'g' with the shortest digits, switching to an exponent when it is
 * below -4 or at least 6 (fewer when the digits are fewer). Integer values print as integers: the
 * original printed 1000000 as 1e+06 (a deliberate fix, see docs/compatibility.md).
 */
export function formatFloat(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  const [mant, e] = n.toExponential().split('e');
  const exp = Number(e);
  const nd = mant.replace(/^-/, '').replace('.', '').length;
  let eprec = 6;
  if (eprec > nd && nd >= exp + 1) eprec = nd;
  if (exp < -4 || exp >= eprec) {
    const digits = String(Math.abs(exp)).padStart(2, '0');
    return `${mant}e${exp < 0 ? '-' : '+'}${digits}`;
  }
  return String(n);
}

export function formatValue(v: unknown, top = true): string {
  if (v === undefined || v === null) return top ? '<nil>' : '<nil>';
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return formatFloat(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'function':
      return '<func>';
  }
  if (Array.isArray(v)) return `[${v.map((e) => formatValue(e, false)).join(' ')}]`;
  if (isGoStruct(v)) {
    return `{${Object.keys(v)
      .map((k) => formatValue(v[k], false))
      .join(' ')}}`;
  }
  const o = v as Record<string, unknown>;
  return `map[${Object.keys(o)
    .sort()
    .map((k) => `${k}:${formatValue(o[k], false)}`)
    .join(' ')}]`;
}

/** Go's fmt.Sprintf for the verbs templates use: %v %s %q %d %f %g %e %x %X %t %%. */
export function sprintf(format: string, ...args: unknown[]): string {
  let out = '';
  let argi = 0;
  const re = /%([-+ 0#]*)(\d+|\*)?(?:\.(\d+|\*))?([a-zA-Z%])/g;
  let last = 0;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const [, flags, widthS, precS, verb] = m;
    if (verb === '%') {
      out += '%';
      continue;
    }
    const width = widthS === '*' ? Number(args[argi++]) : widthS ? Number(widthS) : undefined;
    const prec = precS === '*' ? Number(args[argi++]) : precS !== undefined ? Number(precS) : undefined;
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const a = args[argi++];
    let s = formatVerb(verb, a, prec, flags);
    if (width !== undefined && [...s].length < width) {
      const padLen = width - [...s].length;
      if (flags.includes('-')) s += ' '.repeat(padLen);
      else if (flags.includes('0') && /[dfgexX]/.test(verb)) {
        const neg = s.startsWith('-') ? '-' : '';
        s = neg + '0'.repeat(padLen) + s.slice(neg.length);
      } else s = ' '.repeat(padLen) + s;
    }
    out += s;
  }
  out += format.slice(last);
  if (argi < args.length) {
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => `${goTypeName(a)}=${formatValue(a)}`)
      .join(', ')})`;
  }
  return out;
}

function formatVerb(verb: string, a: unknown, prec: number | undefined, flags: string): string {
  switch (verb) {
    case 'v':
      return formatValue(a);
    case 's':
      if (typeof a === 'string') return prec !== undefined ? [...a].slice(0, prec).join('') : a;
      return formatValue(a);
    case 'q':
      return typeof a === 'string' ? goQuote(a) : badVerb(verb, a);
    case 't':
      return typeof a === 'boolean' ? String(a) : badVerb(verb, a);
    case 'd':
      if (typeof a === 'number' && Number.isInteger(a))
        return (flags.includes('+') && a >= 0 ? '+' : '') + String(a);
      return badVerb(verb, a);
    case 'f':
    case 'F':
      return typeof a === 'number' ? a.toFixed(prec ?? 6) : badVerb(verb, a);
    case 'e':
      return typeof a === 'number' ? goExp(a.toExponential(prec ?? 6)) : badVerb(verb, a);
    case 'g':
      return typeof a === 'number' ? formatFloat(a) : badVerb(verb, a);
    case 'x':
    case 'X': {
      let s: string;
      if (typeof a === 'number' && Number.isInteger(a)) s = a.toString(16);
      else if (typeof a === 'string') s = Buffer.from(a).toString('hex');
      else return badVerb(verb, a);
      return verb === 'X' ? s.toUpperCase() : s;
    }
    default:
      return badVerb(verb, a);
  }
}

function goExp(s: string): string {
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

function badVerb(verb: string, a: unknown): string {
  return `%!${verb}(${goTypeName(a)}=${formatValue(a)})`;
}

function goTypeName(a: unknown): string {
  if (a === null || a === undefined) return '<nil>';
  if (typeof a === 'string') return 'string';
  if (typeof a === 'boolean') return 'bool';
  if (typeof a === 'number') return Number.isInteger(a) ? 'int' : 'float64';
  if (Array.isArray(a)) return '[]interface {}';
  if (isGoStruct(a)) return a[STRUCT];
  return 'map[string]interface {}';
}
