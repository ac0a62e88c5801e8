import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsError, MachineError } from '../errors.js';
import type { HostConfig } from '../store/host.js';

/**
 * What an export file holds once decrypted (docs/export.md): the machine's config.json, the
 * small files of its folder, the CA certificate and client certificate and key it uses, and
 * what was left out. Plain JSON with base64 contents: a few kilobytes of keys and certificates.
 */
export const PAYLOAD_FORMAT = 1;

export interface ExportedFile {
  /** Relative to the machine folder, '/'-separated. */
  path: string;
  mode: number;
  data: Buffer;
}

export interface SkippedFile {
  path: string;
  size: number;
  reason: string;
}

/** The shared certificates the machine's AuthOptions name; caKey only with --with-ca. */
export interface ExportedAuth {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  caKey?: Buffer;
}

export interface Payload {
  machine: string;
  driver: string;
  /** The exporting store's root, which config.json's paths start with. */
  store: string;
  exported: string;
  tool: string;
  config: HostConfig;
  files: ExportedFile[];
  auth: ExportedAuth;
  skipped: SkippedFile[];
}

/** Bigger files are bulk data (disks, logs), never keys or certificates. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;
const DISK_IMAGE = /\.(qcow2|vmdk|vdi|vhdx?|img|iso|raw|hdd)$/i;
/** State of a running VM on this computer, meaningless anywhere else. */
const RUNTIME = /\.(pid|sock|log)$/i;
/** atomic.ts's temporary names: a write in progress, not a file of the machine. */
const TEMP = /\.tmp\d+-\d+-[0-9a-z]+$/;
/** config.json goes in the payload's own field; .bak is the pre-migration copy, with old paths. */
const OWN = new Set(['config.json', 'config.json.bak']);

/** The machine folder's files that travel, and the ones that do not with the reason. */
export async function collectFiles(dir: string): Promise<{ files: ExportedFile[]; skipped: SkippedFile[] }> {
  const files: ExportedFile[] = [];
  const skipped: SkippedFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = rel === '' ? dir : join(dir, rel);
    let names: string[];
    try {
      names = (await readdir(abs)).sort();
    } catch (err) {
      throw fsError('listing', abs, err);
    }
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if (rel === '' && OWN.has(name)) continue;
      const p = join(abs, name);
      const st = await lstat(p).catch((err) => Promise.reject(fsError('reading', p, err)));
      if (st.isDirectory()) {
        await walk(r);
        continue;
      }
      const skip = (reason: string) => skipped.push({ path: r, size: st.size, reason });
      if (!st.isFile()) skip(st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file');
      else if (TEMP.test(name)) skip('a temporary file of a write in progress');
      else if (DISK_IMAGE.test(name)) skip('a disk image');
      else if (RUNTIME.test(name)) skip("a running VM's state on this computer");
      else if (st.size > MAX_FILE_BYTES) skip(`larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`);
      else {
        const data = await readFile(p).catch((err) => Promise.reject(fsError('reading', p, err)));
        files.push({ path: r, mode: st.mode & 0o777, data });
      }
    }
  };
  await walk('');
  return { files, skipped };
}

export function encodePayload(p: Payload, configText: string): Buffer {
  const b64 = (b: Buffer) => b.toString('base64');
  return Buffer.from(
    JSON.stringify({
      format: PAYLOAD_FORMAT,
      machine: p.machine,
      driver: p.driver,
      store: p.store,
      exported: p.exported,
      tool: p.tool,
      config: configText,
      files: p.files.map((f) => ({ path: f.path, mode: f.mode, data: b64(f.data) })),
      auth: {
        ca: b64(p.auth.ca),
        cert: b64(p.auth.cert),
        key: b64(p.auth.key),
        ...(p.auth.caKey ? { caKey: b64(p.auth.caKey) } : {}),
      },
      skipped: p.skipped,
    }),
  );
}

/** A relative path that stays inside the machine folder, and is not config.json (written by import). */
function safePath(p: string): boolean {
  if (p.startsWith('/') || OWN.has(p) || p.length > 4096) return false;
  return p.split('/').every((c) => c !== '' && c !== '.' && c !== '..' && !c.includes('\0'));
}

export class PayloadError extends MachineError {}

/**
 * The decrypted payload, checked field by field. It passed the authentication tag, so only a
 * writer with the passphrase made it; it is still checked as input (a newer version's, or a
 * hand-made one), and nothing in it may name a path outside the machine folder.
 */
export function decodePayload(raw: Buffer, parseConfig: (text: string) => HostConfig): Payload {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PayloadError('its contents are not JSON');
  }
  const bad = (what: string): never => {
    throw new PayloadError(`its ${what} is missing or malformed`);
  };
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad('contents');
  if (v.format !== PAYLOAD_FORMAT) {
    throw new PayloadError(
      `its contents are in format ${String(v.format)}, which this version does not read (it reads ${PAYLOAD_FORMAT}); import it with a newer docker-machine`,
    );
  }
  const str = (k: string): string => (typeof v[k] === 'string' ? (v[k] as string) : bad(k));
  const buf = (x: unknown, what: string): Buffer =>
    typeof x === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(x) ? Buffer.from(x, 'base64') : bad(what);
  const config = parseConfig(str('config'));
  const files: ExportedFile[] = [];
  if (!Array.isArray(v.files)) bad('file list');
  for (const f of v.files as unknown[]) {
    const o = f as Record<string, unknown>;
    if (!o || typeof o.path !== 'string' || !safePath(o.path)) bad('file list');
    if (typeof o.mode !== 'number' || !Number.isInteger(o.mode) || o.mode < 0 || o.mode > 0o777)
      bad(`mode of ${o.path}`);
    files.push({ path: o.path as string, mode: o.mode as number, data: buf(o.data, `file ${o.path}`) });
  }
  const a = v.auth as Record<string, unknown> | undefined;
  if (!a || typeof a !== 'object') bad('certificates');
  const auth: ExportedAuth = {
    ca: buf(a?.ca, 'CA certificate'),
    cert: buf(a?.cert, 'client certificate'),
    key: buf(a?.key, 'client key'),
    ...(a?.caKey !== undefined ? { caKey: buf(a.caKey, 'CA key') } : {}),
  };
  const skipped: SkippedFile[] = [];
  if (v.skipped !== undefined) {
    if (!Array.isArray(v.skipped)) bad('list of files left out');
    for (const s of v.skipped as unknown[]) {
      const o = s as Record<string, unknown>;
      if (!o || typeof o.path !== 'string' || typeof o.size !== 'number' || typeof o.reason !== 'string')
        bad('list of files left out');
      skipped.push({ path: o.path as string, size: o.size as number, reason: o.reason as string });
    }
  }
  const store = str('store');
  if (!store.startsWith('/')) bad('store path');
  return {
    machine: str('machine'),
    driver: str('driver'),
    store,
    exported: typeof v.exported === 'string' ? v.exported : '',
    tool: typeof v.tool === 'string' ? v.tool : '',
    config,
    files,
    auth,
    skipped,
  };
}

/**
 * config.json with every path under the old store moved under the new one: the machine's folder
 * first (its name may change), then anything else in the store (the shared certs, the cache).
 * Paths outside the old store (a key the user gave at create) are kept: they name files of the
 * computer the machine came from, and are said so in the docs.
 */
export function rewritePaths(
  config: HostConfig,
  from: { store: string; name: string },
  to: { store: string; name: string },
): HostConfig {
  const oldMachine = `${from.store}/machines/${from.name}`;
  const newMachine = `${to.store}/machines/${to.name}`;
  const move = (s: string): string => {
    if (s === oldMachine || s.startsWith(`${oldMachine}/`)) return newMachine + s.slice(oldMachine.length);
    if (s === from.store || s.startsWith(`${from.store}/`)) return to.store + s.slice(from.store.length);
    return s;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return move(v);
    if (Array.isArray(v)) return v.map(walk);
    // fromEntries defines each key as data, so even a key named __proto__ stays a plain field.
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const driver = walk(config.Driver) as Record<string, unknown>;
  // Drivers find their folder as StorePath/machines/MachineName: both must name the new one,
  // whatever an older version wrote there.
  driver.MachineName = to.name;
  driver.StorePath = to.store;
  const auth = walk(config.HostOptions.AuthOptions) as HostConfig['HostOptions']['AuthOptions'];
  auth.StorePath = newMachine;
  return {
    ...config,
    Driver: driver,
    HostOptions: { ...config.HostOptions, AuthOptions: auth },
    Name: to.name,
  };
}
