import { readFileSync } from 'node:fs';

/**
 * Checks JSON bodies against a Google API discovery document (the format of
 * https://discovery.googleapis.com): `type`, `properties`, `$ref` to a schema id, `items`,
 * `additionalProperties`, `enum`, `pattern`, and the formats Google encodes in JSON (64-bit
 * integers as decimal strings, `byte` as base64). A property the schema does not name is a
 * problem: that is how a misspelt field is caught before a real API silently ignores it. A
 * request must carry the properties that the document marks `annotations.required` for its
 * method. Error answers are not in discovery documents; they are checked against Google's
 * common error shape (ERROR_SCHEMA).
 */

export interface SchemaNode {
  type?: string;
  format?: string;
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode;
  enum?: string[];
  pattern?: string;
  annotations?: { required?: string[] };
  /** Not in the discovery format: properties this hand-written schema requires. */
  required?: string[];
}

export interface ParameterDef {
  location: 'path' | 'query';
  type: string;
  pattern?: string;
  required?: boolean;
  repeated?: boolean;
}

export interface MethodDef {
  id: string;
  parameters?: Record<string, ParameterDef>;
  httpMethod: string;
  flatPath?: string;
  path: string;
  request?: { $ref: string };
  response?: { $ref: string };
}

interface ResourceDef {
  methods?: Record<string, MethodDef>;
  resources?: Record<string, ResourceDef>;
}

export interface DiscoveryDoc {
  rootUrl: string;
  servicePath: string;
  schemas: Record<string, SchemaNode & { id?: string }>;
  resources: Record<string, ResourceDef>;
  /** Query parameters every method takes (fields, alt, prettyPrint...). */
  parameters: Record<string, ParameterDef>;
}

/** A body sent or received under a method of the document (its id, e.g. compute.instances.insert). */
export interface BodyRecord {
  method: string;
  kind: 'request' | 'response';
  status: number;
  body: unknown;
}

const ERROR_ITEM: SchemaNode = {
  type: 'object',
  required: ['message', 'domain', 'reason'],
  properties: {
    message: { type: 'string' },
    domain: { type: 'string' },
    reason: { type: 'string' },
    location: { type: 'string' },
    locationType: { type: 'string' },
    extendedHelp: { type: 'string' },
    sendReport: { type: 'string' },
  },
};

/** Google's JSON error answer, {"error": {code, message, errors: [{domain, reason, message}], status?}}. */
export const ERROR_SCHEMA: SchemaNode = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'errors'],
      properties: {
        code: { type: 'integer', format: 'int32' },
        message: { type: 'string' },
        status: { type: 'string' },
        errors: { type: 'array', items: ERROR_ITEM },
        details: { type: 'array', items: { type: 'object', additionalProperties: { type: 'any' } } },
      },
    },
  },
};

const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;
const INT64 = /^-?(?:0|[1-9][0-9]*)$/;
const UINT64 = /^(?:0|[1-9][0-9]*)$/;

export class Discovery {
  readonly doc: DiscoveryDoc;
  readonly methods = new Map<string, MethodDef>();
  private readonly patterns = new Map<string, RegExp | null>();

  constructor(doc: DiscoveryDoc) {
    this.doc = doc;
    const walk = (resources: Record<string, ResourceDef>) => {
      for (const r of Object.values(resources)) {
        for (const m of Object.values(r.methods ?? {})) this.methods.set(m.id, m);
        if (r.resources) walk(r.resources);
      }
    };
    walk(doc.resources);
  }

  static load(path: string): Discovery {
    return new Discovery(JSON.parse(readFileSync(path, 'utf8')));
  }

  /** Problems in the records, each naming the record, the field and what is wrong; [] when all match. */
  check(records: BodyRecord[]): string[] {
    const problems: string[] = [];
    records.forEach((rec, i) => {
      const where = `#${i} ${rec.kind} ${rec.method} ${rec.status || ''}`.trim();
      const m = this.methods.get(rec.method);
      if (!m) {
        problems.push(`${where}: no method ${rec.method} in the discovery document`);
        return;
      }
      let schema: SchemaNode | undefined;
      if (rec.kind === 'request') schema = m.request;
      else if (rec.status >= 400) schema = ERROR_SCHEMA;
      else schema = m.response;
      if (!schema) {
        if (rec.body !== undefined && rec.body !== null && rec.body !== '')
          problems.push(`${where}: a body where the document describes none`);
        return;
      }
      const out: string[] = [];
      this.node(schema, rec.body, '', rec.kind === 'request' ? rec.method : undefined, out);
      for (const p of out) problems.push(`${where}: ${p}`);
    });
    return problems;
  }

  /**
   * Properties of a request body that its schema does not name, as paths ('disks[0].sizeGb'):
   * Google's front end refuses these ("Unknown name ... Cannot find field").
   */
  unknownNames(method: string, body: unknown): string[] {
    const m = this.methods.get(method);
    if (!m?.request) return [];
    const out: string[] = [];
    this.node(m.request, body, '', undefined, out);
    return out.filter((p) => p.includes(': not a property of ')).map((p) => p.slice(0, p.indexOf(': ')));
  }

  /** A path or query parameter's value against its pattern in the document; unknown names are false. */
  parameterMatches(method: string, name: string, value: string): boolean | undefined {
    const def = this.methods.get(method)?.parameters?.[name] ?? this.doc.parameters[name];
    if (!def) return undefined;
    if (!def.pattern) return true;
    const re = this.pattern(def.pattern);
    return re ? re.test(value) : true;
  }

  /** Problems of one value against a schema node (for tests of the checker itself). */
  checkValue(schema: SchemaNode, value: unknown, requiredFor?: string): string[] {
    const out: string[] = [];
    this.node(schema, value, '', requiredFor, out);
    return out;
  }

  private node(s: SchemaNode, v: unknown, path: string, method: string | undefined, out: string[]): void {
    const at = path || '(body)';
    if (s.$ref) {
      const target = this.doc.schemas[s.$ref];
      if (!target) {
        out.push(`${at}: schema ${s.$ref} is not in the document`);
        return;
      }
      s = target;
    }
    const type = s.type ?? (s.properties ? 'object' : 'any');
    if (type === 'any') return;
    if (v === null || v === undefined) {
      out.push(`${at}: null where ${type} is expected`);
      return;
    }
    switch (type) {
      case 'object': {
        if (typeof v !== 'object' || Array.isArray(v)) {
          out.push(`${at}: ${describe(v)} where an object is expected`);
          return;
        }
        const o = v as Record<string, unknown>;
        for (const [k, val] of Object.entries(o)) {
          const p = s.properties?.[k];
          const child = path ? `${path}.${k}` : k;
          if (p) this.node(p, val, child, method, out);
          else if (s.additionalProperties) this.node(s.additionalProperties, val, child, method, out);
          else
            out.push(`${child}: not a property of ${s.$ref ?? (s as { id?: string }).id ?? 'this object'}`);
        }
        for (const k of s.required ?? []) {
          if (!(k in o)) out.push(`${path ? `${path}.` : ''}${k}: required, missing`);
        }
        if (method) {
          for (const [k, p] of Object.entries(s.properties ?? {})) {
            if (p.annotations?.required?.includes(method) && !(k in o))
              out.push(`${path ? `${path}.` : ''}${k}: required by ${method}, missing`);
          }
        }
        return;
      }
      case 'array': {
        if (!Array.isArray(v)) {
          out.push(`${at}: ${describe(v)} where an array is expected`);
          return;
        }
        v.forEach((x, i) => {
          if (s.items) this.node(s.items, x, `${path}[${i}]`, method, out);
          // The document puts some item patterns on the array (Tags.items).
          const re = s.pattern ? this.pattern(s.pattern) : null;
          if (re && typeof x === 'string' && !re.test(x))
            out.push(`${path}[${i}]: '${x}' does not match ${s.pattern}`);
        });
        return;
      }
      case 'string': {
        if (typeof v !== 'string') {
          const hint = s.format === 'int64' || s.format === 'uint64' ? ` (${s.format} is a JSON string)` : '';
          out.push(`${at}: ${describe(v)} where a string is expected${hint}`);
          return;
        }
        if (s.format === 'int64' && !INT64.test(v)) out.push(`${at}: '${v}' is not an int64`);
        if (s.format === 'uint64' && !UINT64.test(v)) out.push(`${at}: '${v}' is not a uint64`);
        if (s.format === 'byte' && !BASE64.test(v)) out.push(`${at}: '${v}' is not base64`);
        if (s.enum && !s.enum.includes(v)) out.push(`${at}: '${v}' is not one of ${s.enum.join(', ')}`);
        if (s.pattern) {
          const re = this.pattern(s.pattern);
          if (re && !re.test(v)) out.push(`${at}: '${v}' does not match ${s.pattern}`);
        }
        return;
      }
      case 'integer': {
        if (typeof v !== 'number' || !Number.isInteger(v)) {
          out.push(`${at}: ${describe(v)} where an integer is expected`);
          return;
        }
        if (s.format === 'int32' && (v < -(2 ** 31) || v >= 2 ** 31)) out.push(`${at}: ${v} is not an int32`);
        if (s.format === 'uint32' && (v < 0 || v >= 2 ** 32)) out.push(`${at}: ${v} is not a uint32`);
        return;
      }
      case 'number':
        if (typeof v !== 'number') out.push(`${at}: ${describe(v)} where a number is expected`);
        return;
      case 'boolean':
        if (typeof v !== 'boolean') out.push(`${at}: ${describe(v)} where a boolean is expected`);
        return;
      default:
        out.push(`${at}: schema type ${type} is not handled`);
    }
  }

  /** Discovery patterns are RE2 and unanchored in intent; a value must match as a whole. */
  private pattern(p: string): RegExp | null {
    if (!this.patterns.has(p)) {
      let re: RegExp | null = null;
      try {
        re = new RegExp(`^(?:${p})$`);
      } catch {
        re = null;
      }
      this.patterns.set(p, re);
    }
    return this.patterns.get(p)!;
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string '${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`;
  return `${typeof v} ${typeof v === 'object' ? '' : JSON.stringify(v)}`.trim();
}
