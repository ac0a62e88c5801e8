import { CloudConnection } from '../cloud/connection.js';
import type { DriverContext } from '../driver.js';

/**
 * DigitalOcean's API v2: a Bearer token, errors as {id, message, request_id}, 429 with
 * ratelimit-reset (a Unix time), pages of at most 200 (links.pages.next).
 */
export function doConnection(o: {
  endpoint: string;
  token: string;
  ctx?: Pick<DriverContext, 'debug' | 'signal'>;
}): CloudConnection {
  return new CloudConnection({
    provider: 'DigitalOcean',
    endpoint: o.endpoint.replace(/\/+$/, ''),
    auth: () => ({ authorization: `Bearer ${o.token}` }),
    parseError(status, body) {
      const b = (body && typeof body === 'object' ? body : {}) as {
        id?: unknown;
        message?: unknown;
        request_id?: unknown;
      };
      return {
        code: typeof b.id === 'string' ? b.id : `http_${status}`,
        message:
          typeof b.message === 'string'
            ? b.message
            : typeof body === 'string'
              ? body.slice(0, 200)
              : 'no message',
        requestId: typeof b.request_id === 'string' ? b.request_id : undefined,
      };
    },
    debug: o.ctx?.debug,
    signal: o.ctx?.signal,
  });
}

interface Page {
  links?: { pages?: { next?: string } };
}

/** Every item of a paged list: follows links.pages.next, bounded so that a broken API cannot loop. */
export async function listAll<T>(c: CloudConnection, path: string, key: string): Promise<T[]> {
  const out: T[] = [];
  let next: string | undefined = `${path}${path.includes('?') ? '&' : '?'}per_page=200`;
  for (let page = 0; next && page < 100; page++) {
    const body: Page & Record<string, unknown> = await c.get(next);
    const items = body[key];
    if (Array.isArray(items)) out.push(...(items as T[]));
    const link = body.links?.pages?.next;
    // The API gives absolute URLs; keep only the path and query, on our endpoint.
    next = link ? relative(link) : undefined;
  }
  return out;
}

function relative(link: string): string {
  try {
    const u = new URL(link);
    return `${u.pathname}${u.search}`;
  } catch {
    return link;
  }
}
