import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The token when no flag or environment variable gave one: doctl's config file, as doctl itself
 * reads it (the current context's token from auth-contexts, else access-token). '' when there is
 * none. The token is never printed.
 */
export function doctlToken(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  let text: string;
  try {
    text = readFileSync(join(base, 'doctl', 'config.yaml'), 'utf8');
  } catch {
    return '';
  }
  const top = new Map<string, string>();
  const contexts = new Map<string, string>();
  let inContexts = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '');
    if (line.trim() === '') continue;
    const m = /^(\s*)([A-Za-z0-9_.-]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, indent, key, value] = m;
    if (indent === '') {
      inContexts = key === 'auth-contexts';
      top.set(key, unquote(value));
    } else if (inContexts) {
      contexts.set(key, unquote(value));
    }
  }
  const context = top.get('context') || 'default';
  if (context !== 'default' && contexts.get(context)) return contexts.get(context) ?? '';
  return top.get('access-token') ?? '';
}

function unquote(v: string): string {
  const t = v.trim();
  return /^(['"]).*\1$/.test(t) ? t.slice(1, -1) : t;
}
