import { CloudConnection } from '../cloud/connection.js';
import type { DriverContext } from '../driver.js';

/**
 * Hetzner Cloud's API: a Bearer project token, errors as {error: {code, message, details}}, 429
 * rate_limit_exceeded with RateLimit-Reset (a Unix time), pages of at most 50 (meta.pagination).
 */
export function hetznerConnection(o: {
  endpoint: string;
  token: string;
  ctx?: Pick<DriverContext, 'debug' | 'signal'>;
}): CloudConnection {
  return new CloudConnection({
    provider: 'Hetzner Cloud',
    endpoint: o.endpoint.replace(/\/+$/, ''),
    auth: () => ({ authorization: `Bearer ${o.token}` }),
    parseError(status, body) {
      const e = (body && typeof body === 'object' ? (body as { error?: unknown }).error : undefined) as
        | { code?: unknown; message?: unknown; details?: unknown }
        | undefined;
      let message =
        typeof e?.message === 'string'
          ? e.message
          : typeof body === 'string'
            ? body.slice(0, 200)
            : 'no message';
      // invalid_input names the fields it refused in details.fields: part of the one line.
      const fields = (e?.details as { fields?: { name?: unknown; messages?: unknown }[] } | null)?.fields;
      if (Array.isArray(fields) && fields.length) {
        const parts = fields.map(
          (f) => `${String(f.name)}: ${Array.isArray(f.messages) ? f.messages.join(', ') : ''}`,
        );
        message = `${message} (${parts.join('; ')})`;
      }
      return { code: typeof e?.code === 'string' ? e.code : `http_${status}`, message };
    },
    debug: o.ctx?.debug,
    signal: o.ctx?.signal,
  });
}

interface Page {
  meta?: { pagination?: { next_page?: number | null } };
}

/** Every item of a paged list: follows meta.pagination.next_page, bounded against a looping API. */
export async function listAll<T>(c: CloudConnection, path: string, key: string): Promise<T[]> {
  const out: T[] = [];
  const sep = path.includes('?') ? '&' : '?';
  let page: number | null | undefined = 1;
  for (let n = 0; page && n < 200; n++) {
    const body: Page & Record<string, unknown> = await c.get(`${path}${sep}page=${page}&per_page=50`);
    const items = body[key];
    if (Array.isArray(items)) out.push(...(items as T[]));
    page = body.meta?.pagination?.next_page;
  }
  return out;
}
