import { HttpError } from './errors.js';

type Obj = Record<string, unknown>;

/** GCE's list filter, the forms a driver sends: `name = "x"`, `name eq x`, `labels.k = v`, joined by AND. */
export function applyFilter(items: Obj[], filter: string | null): Obj[] {
  if (!filter?.trim()) return items;
  const clauses = filter
    .split(/\)\s*(?:AND\s*)?\(|\s+AND\s+/)
    .map((c) => c.replace(/^[\s(]+|[\s)]+$/g, ''))
    .filter(Boolean);
  const tests = clauses.map((c) => {
    const m = /^([\w.-]+)\s*(=|!=|eq|ne)\s*(?:"([^"]*)"|(\S+))$/.exec(c);
    if (!m)
      throw new HttpError(
        400,
        'invalid',
        `Invalid value for field 'filter': '${filter}'. Invalid list filter expression.`,
      );
    const [, field, opr, quoted, bare] = m;
    const want = quoted ?? bare;
    return (item: Obj) => {
      let v: unknown = item;
      for (const part of field.split('.')) v = (v as Obj | undefined)?.[part];
      const got = v === undefined ? '' : String(v);
      if (opr === 'eq' || opr === 'ne') {
        const hit = new RegExp(`^(?:${want})$`).test(got);
        return opr === 'eq' ? hit : !hit;
      }
      const hit = got === want;
      return opr === '=' ? hit : !hit;
    };
  });
  return items.filter((i) => tests.every((t) => t(i)));
}
