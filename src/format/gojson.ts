/**
 * JSON as Go's encoding/json writes it: keys in insertion order (a Go struct's field order), `<`,
 * `>`, `&`, U+2028 and U+2029 escaped, control characters as \u00XX except \n \r \t. config.json
 * must come out byte-identical to the original's.
 */
export function goMarshalIndent(v: unknown, indent = '    '): string {
  return write(v, indent, '');
}

export function goMarshal(v: unknown): string {
  return write(v, '', '');
}

/** A copy with every object's keys sorted, as Go orders the keys of a map. */
export function sortedKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeysDeep);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) out[k] = sortedKeysDeep(o[k]);
    return out;
  }
  return v;
}

function write(v: unknown, indent: string, prefix: string): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      const inner = prefix + indent;
      const nl = indent === '' ? '' : '\n';
      if (Array.isArray(v)) {
        if (v.length === 0) return '[]';
        return `[${nl}${v.map((e) => inner + write(e, indent, inner)).join(`,${nl}`)}${nl}${prefix}]`;
      }
      const entries = Object.entries(v as Record<string, unknown>).filter(([, e]) => e !== undefined);
      if (entries.length === 0) return '{}';
      const sep = indent === '' ? ':' : ': ';
      return `{${nl}${entries.map(([k, e]) => `${inner}${quote(k)}${sep}${write(e, indent, inner)}`).join(`,${nl}`)}${nl}${prefix}}`;
    }
    default:
      return 'null';
  }
}

const ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function quote(s: string): string {
  return `"${s.replace(/["\\\u0000-\u001f<>&\u2028\u2029]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}
