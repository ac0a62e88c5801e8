import { createHmac } from 'node:crypto';

/**
 * Exoscale's v2 request signature (its API reference, "API Request Signature"): the lines
 * "METHOD /path", the body, the query values concatenated, the signed header values (none),
 * and the expiry as a Unix time, joined by "\n"; HMAC-SHA256 with the API secret, base64.
 */
export function exoscaleMessage(o: {
  method: string;
  path: string;
  body: string;
  queryValues: string;
  expires: number;
}): string {
  return [`${o.method} ${o.path}`, o.body, o.queryValues, '', String(o.expires)].join('\n');
}

export function exoscaleSignature(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message, 'utf8').digest('base64');
}

/** The Authorization header for a request to `url`, valid for `ttlS` seconds. */
export function exoscaleAuthorization(o: {
  key: string;
  secret: string;
  method: string;
  url: URL;
  body: string | undefined;
  now?: number;
  ttlS?: number;
}): string {
  const expires = Math.floor((o.now ?? Date.now()) / 1000) + (o.ttlS ?? 600);
  const names: string[] = [];
  let values = '';
  for (const [k, v] of o.url.searchParams) {
    names.push(k);
    values += v;
  }
  const message = exoscaleMessage({
    method: o.method,
    path: o.url.pathname,
    body: o.body ?? '',
    queryValues: values,
    expires,
  });
  const args = names.length ? `,signed-query-args=${names.join(';')}` : '';
  return `EXO2-HMAC-SHA256 credential=${o.key}${args},expires=${expires},signature=${exoscaleSignature(o.secret, message)}`;
}
