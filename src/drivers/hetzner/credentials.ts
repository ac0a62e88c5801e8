import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The token when no flag or environment variable gave one: the hcloud CLI's config file
 * ($HCLOUD_CONFIG, else ~/.config/hcloud/cli.toml), the token of the context $HCLOUD_CONTEXT
 * names, else of its active_context. '' when there is none. Never printed.
 */
export function hcloudToken(env: NodeJS.ProcessEnv = process.env): string {
  const file = env.HCLOUD_CONFIG || join(env.HOME || homedir(), '.config', 'hcloud', 'cli.toml');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  let active = '';
  const contexts: { name: string; token: string }[] = [];
  let current: { name: string; token: string } | undefined;
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const table = /^(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?$/.exec(line);
    if (table) {
      section = table[2];
      if (table[1] === '[[' && section === 'contexts') {
        current = { name: '', token: '' };
        contexts.push(current);
      } else {
        current = undefined;
      }
      continue;
    }
    const kv = /^([A-Za-z0-9_-]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    const value = tomlString(kv[2]);
    if (section === '' && kv[1] === 'active_context') active = value;
    else if (current && section === 'contexts' && (kv[1] === 'name' || kv[1] === 'token'))
      current[kv[1]] = value;
  }
  const want = env.HCLOUD_CONTEXT || active;
  return contexts.find((c) => c.name === want)?.token ?? '';
}

/** A basic or literal TOML string ('' for anything else). */
function tomlString(v: string): string {
  const m = /^"((?:[^"\\]|\\.)*)"|^'([^']*)'/.exec(v.trim());
  if (!m) return '';
  if (m[2] !== undefined) return m[2];
  return m[1].replace(/\\(["\\nt])/g, (_, c) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}
