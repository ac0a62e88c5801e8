import { CloudConnection } from '../cloud/connection.js';
import type { DriverContext } from '../driver.js';
import { type SigningCredentials, signV4 } from './sigv4.js';
import { list, obj, parseXml, text, type XmlValue } from './xml.js';

/**
 * EC2's Query API (version 2016-11-15) over the cloud layer's connection: a form-encoded POST to
 * `/`, signed with SigV4, answered in XML. Errors are `<Errors><Error><Code>`; throttling is
 * RequestLimitExceeded (HTTP 503); "not found" is HTTP 400 with a code ending in .NotFound.
 */
export const API_VERSION = '2016-11-15';

const THROTTLE_CODES = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'TooManyRequestsException',
]);

/** A request's parameters as EC2 names them; lists become Name.1, Name.2, objects Name.Field. */
export type Params = { [name: string]: ParamValue };
type ParamValue = string | number | boolean | undefined | ParamValue[] | Params;

export function flattenParams(params: Params, prefix = '', out: [string, string][] = []): [string, string][] {
  for (const [k, v] of Object.entries(params)) {
    const key = prefix ? `${prefix}.${k}` : k;
    put(key, v, out);
  }
  return out;
}

function put(key: string, v: ParamValue, out: [string, string][]): void {
  if (v === undefined) return;
  if (Array.isArray(v)) {
    for (const [i, item] of v.entries()) put(`${key}.${i + 1}`, item, out);
  } else if (typeof v === 'object') flattenParams(v, key, out);
  else out.push([key, String(v)]);
}

export function defaultEndpoint(region: string): string {
  return `https://ec2.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

export interface Ec2Options {
  endpoint: string;
  region: string;
  credentials(): SigningCredentials;
  /** The original's --amazonec2-retries: retries after the first attempt. */
  retries: number;
  ctx?: Pick<DriverContext, 'debug' | 'signal'>;
}

export type Answer = { [name: string]: XmlValue };

export class Ec2 {
  readonly conn: CloudConnection;

  constructor(o: Ec2Options) {
    this.conn = new CloudConnection({
      provider: 'EC2',
      endpoint: o.endpoint,
      accept: 'text/xml',
      auth: (req) =>
        signV4(
          {
            method: req.method,
            url: req.url,
            headers: req.headers,
            payload: req.payload ?? '',
            region: o.region,
            service: 'ec2',
          },
          o.credentials(),
        ),
      parseBody(t) {
        if (!t.trim().startsWith('<') || /^\s*<!doctype html/i.test(t)) return t;
        try {
          return parseXml(t);
        } catch {
          return t;
        }
      },
      parseError(status, body) {
        if (typeof body === 'string' || !body) {
          const plain = String(body ?? '')
            .replace(/<[^>]*>/g, ' ')
            .replace(/\s+/g, ' ')
            .trim();
          return { code: `HTTP${status}`, message: plain.slice(0, 200) || 'no message' };
        }
        const v = obj((body as { value: XmlValue }).value);
        const errs = obj(v.Errors);
        const e = obj(errs.Error ?? list(v.Errors)[0]);
        const code = text(e.Code) || `HTTP${status}`;
        return {
          code,
          message: text(e.Message) || 'no message',
          requestId: text(v.RequestID) || text(v.RequestId) || undefined,
          gone: code.endsWith('.NotFound'),
        };
      },
      isThrottled(_status, body) {
        if (!body || typeof body !== 'object') return false;
        const v = obj((body as { value: XmlValue }).value);
        return THROTTLE_CODES.has(text(obj(obj(v.Errors).Error).Code));
      },
      retry: { maxAttempts: Math.max(1, o.retries + 1) },
      debug: o.ctx?.debug,
      signal: o.ctx?.signal,
    });
  }

  /**
   * One action. Describe* calls are safe to repeat; so is a create that carries a ClientToken
   * (EC2 answers a repeat with the first result), which the caller says with `idempotent`.
   */
  async call(action: string, params: Params = {}, o: { idempotent?: boolean } = {}): Promise<Answer> {
    const form = flattenParams({ Action: action, Version: API_VERSION, ...params })
      .map(([k, v]) => `${enc(k)}=${enc(v)}`)
      .join('&');
    const idempotent =
      o.idempotent ||
      /^(Describe|Terminate|Delete|Cancel|Stop|Start|Reboot|CreateTags|ModifyInstanceMetadata)/.test(action);
    const res = await this.conn.request<{ value: XmlValue }>('POST', '/', undefined, {
      raw: { contentType: 'application/x-www-form-urlencoded; charset=utf-8', text: form },
      idempotent,
    });
    return obj(res.body?.value);
  }
}

function enc(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A list filter as EC2 takes it: Filter.N.Name / Filter.N.Value.M. */
export function filters(f: Record<string, string | string[]>): Params {
  return {
    Filter: Object.entries(f).map(([Name, v]) => ({ Name, Value: Array.isArray(v) ? v : [v] })),
  };
}
