import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Node } from '../../../apply/doc.js';
import { parseYaml } from '../../../apply/yaml.js';
import { errorMessage, MachineError } from '../../../errors.js';

/**
 * A clouds.yaml entry as the openstack client reads it: the first clouds.yaml found in
 * $OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack/ (or $XDG_CONFIG_HOME/openstack/), then
 * /etc/openstack/; and the secure.yaml found in the same places, whose entry is merged over it
 * (that is where people keep the password).
 */
export interface CloudEntry {
  /** The file the entry came from, for error lines. */
  file: string;
  auth: Record<string, string>;
  authType: string;
  regionName: string;
  interface: string;
  cacert: string;
  /** verify: false means no certificate check, as --openstack-insecure. */
  insecure: boolean;
}

export function configDirs(env: NodeJS.ProcessEnv, cwd: string): string[] {
  const xdg = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return [cwd, join(xdg, 'openstack'), '/etc/openstack'];
}

function firstFile(name: string, override: string | undefined, env: NodeJS.ProcessEnv, cwd: string) {
  const candidates = [...(override ? [override] : []), ...configDirs(env, cwd).map((d) => join(d, name))];
  for (const file of candidates) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    return { file, text };
  }
  return undefined;
}

type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

function plain(n: Node): Plain {
  if (n.kind === 'scalar') return n.value;
  if (n.kind === 'list') return n.items.map(plain);
  const o: { [k: string]: Plain } = {};
  for (const [k, v] of n.entries) o[k] = plain(v.value);
  return o;
}

function parseFile(file: string, text: string): { [k: string]: Plain } {
  try {
    // JSON is YAML too, and some write clouds.json-style files.
    const v = text.trim().startsWith('{') ? (JSON.parse(text) as Plain) : plain(parseYaml(text));
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch (err) {
    const line = (err as { line?: number }).line;
    throw new MachineError(`${file}${line ? `:${line}` : ''} could not be read: ${errorMessage(err)}`);
  }
}

function cloudsOf(doc: { [k: string]: Plain }): { [k: string]: Plain } {
  const c = doc.clouds;
  return c && typeof c === 'object' && !Array.isArray(c) ? c : {};
}

function merge(a: Plain, b: Plain): Plain {
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const out: { [k: string]: Plain } = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = k in out ? merge(out[k], v) : v;
    return out;
  }
  return b;
}

const text = (v: Plain | undefined): string =>
  v === undefined || v === null || typeof v === 'object' ? '' : String(v);

/** The named entry, merged with secure.yaml's; a one-line error when there is no such entry. */
export function readCloud(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): CloudEntry {
  const found = firstFile('clouds.yaml', env.OS_CLIENT_CONFIG_FILE, env, cwd);
  if (!found)
    throw new MachineError(
      `--openstack-cloud ${name}: no clouds.yaml in ${configDirs(env, cwd).join(', ')}; write one there or give the credentials with --openstack-auth-url and the others`,
    );
  const clouds = cloudsOf(parseFile(found.file, found.text));
  let entry = clouds[name];
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
    const names = Object.keys(clouds);
    throw new MachineError(
      `--openstack-cloud ${name}: ${found.file} has no cloud named ${name}${names.length ? `; it has ${names.join(', ')}` : ''}`,
    );
  }
  const secure = firstFile('secure.yaml', env.OS_CLIENT_SECURE_FILE, env, cwd);
  if (secure) {
    const extra = cloudsOf(parseFile(secure.file, secure.text))[name];
    if (extra && typeof extra === 'object') entry = merge(entry, extra);
  }
  const e = entry as { [k: string]: Plain };
  const auth: Record<string, string> = {};
  if (e.auth && typeof e.auth === 'object' && !Array.isArray(e.auth))
    for (const [k, v] of Object.entries(e.auth)) auth[k] = text(v);
  const verify = e.verify;
  return {
    file: found.file,
    auth,
    authType: text(e.auth_type),
    regionName: text(e.region_name),
    interface: text(e.interface) || text(e.endpoint_type),
    cacert: text(e.cacert),
    insecure: verify === false || text(verify).toLowerCase() === 'false',
  };
}
