/**
 * OpenStack's error bodies, one shape per service: Nova {"itemNotFound":{"code","message"}}
 * (the key is the kind: badRequest, forbidden, conflictingRequest, overLimit...), Neutron
 * {"NeutronError":{"type","message","detail"}}, Keystone {"error":{"code","title","message"}}.
 */
export function parseOpenStackError(status: number, body: unknown): { code: string; message: string } {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const entries = Object.entries(body as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, v] = entries[0];
      if (v && typeof v === 'object') {
        const o = v as { type?: unknown; title?: unknown; message?: unknown };
        const code =
          key === 'NeutronError' && typeof o.type === 'string'
            ? o.type
            : key === 'error' && typeof o.title === 'string'
              ? o.title
              : key;
        return { code, message: typeof o.message === 'string' ? o.message : JSON.stringify(v).slice(0, 200) };
      }
      if (typeof v === 'string') return { code: key, message: v };
    }
  }
  return {
    code: `http_${status}`,
    message: typeof body === 'string' && body.trim() ? body.trim().slice(0, 200) : 'no message',
  };
}
