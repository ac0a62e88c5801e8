import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4 for one request (the EC2 Query API's signing): the canonical request,
 * the string to sign and the derived key, as AWS documents them. The secret never leaves here.
 */
export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignInput {
  method: string;
  url: URL;
  /** Headers to sign besides host and x-amz-date (content-type). Names in any case. */
  headers: Record<string, string>;
  payload: string;
  region: string;
  service: string;
  now?: Date;
}

/** The headers to add: host, x-amz-date, the session token when there is one, and authorization. */
export function signV4(input: SignInput, creds: SigningCredentials): Record<string, string> {
  const amzDate = (input.now ?? new Date())
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const added: Record<string, string> = { host: input.url.host, 'x-amz-date': amzDate };
  if (creds.sessionToken) added['x-amz-security-token'] = creds.sessionToken;
  const all = new Map<string, string>();
  for (const [k, v] of Object.entries({ ...input.headers, ...added })) {
    const name = k.toLowerCase();
    if (name === 'content-type' || name === 'host' || name.startsWith('x-amz-'))
      all.set(name, v.trim().replace(/\s+/g, ' '));
  }
  const names = [...all.keys()].sort();
  const signedHeaders = names.join(';');
  const canonical = [
    input.method.toUpperCase(),
    canonicalPath(input.url.pathname),
    canonicalQuery(input.url.searchParams),
    names.map((n) => `${n}:${all.get(n)}\n`).join(''),
    signedHeaders,
    sha256(input.payload),
  ].join('\n');
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key: Buffer = hmac(`AWS4${creds.secretAccessKey}`, day);
  for (const part of [input.region, input.service, 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return {
    ...added,
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters. */
export function awsEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalPath(path: string): string {
  if (!path) return '/';
  return path
    .split('/')
    .map((seg) => awsEncode(decodeURIComponent(seg)))
    .join('/');
}

function canonicalQuery(params: URLSearchParams): string {
  return [...params.entries()]
    .map(([k, v]) => [awsEncode(k), awsEncode(v)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}
