import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { errorMessage, MachineError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic.js';

/**
 * The docker CLI's own context store, as `docker context create` writes it and `docker context
 * inspect` reads it: $DOCKER_CONFIG (default ~/.docker)/contexts/meta/<sha256 of the name>/meta.json
 * and, beside it, contexts/tls/<same>/docker/{ca,cert,key}.pem. A machine's context carries a
 * DockerMachine entry in its metadata naming the store that made it, so that no command ever
 * changes or removes a context it did not make.
 */

export interface ContextTLS {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface MachineContext {
  name: string;
  /** The engine's URL: tcp://HOST:PORT, or ssh://USER@HOST:PORT. */
  host: string;
  description: string;
  /** The store that made it (an absolute path). */
  store: string;
  tls?: ContextTLS;
}

interface MetaFile {
  Name: string;
  Metadata?: { Description?: string; DockerMachine?: { Store?: string } };
  Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } };
}

export function dockerConfigDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

/** Folders of a context: the docker CLI names them by the SHA-256 of the context's name. */
export function contextPaths(configDir: string, name: string): { meta: string; tls: string } {
  const id = createHash('sha256').update(name).digest('hex');
  return { meta: join(configDir, 'contexts', 'meta', id), tls: join(configDir, 'contexts', 'tls', id) };
}

async function readMeta(configDir: string, name: string): Promise<MetaFile | undefined> {
  let raw: string;
  try {
    raw = await readFile(join(contextPaths(configDir, name).meta, 'meta.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(raw) as MetaFile;
  } catch {
    // Unreadable: not ours to judge or replace.
    return { Name: name };
  }
}

/** What a context of this name is now, from one read of its meta.json. */
export interface ContextState {
  /** Nobody's (absent), a machine store's, or someone else's. */
  owner: 'none' | 'ours' | 'other';
  /** The store a machine context names; undefined for contexts made by anyone else. */
  store?: string;
  /** Its docker endpoint, for deciding whether it needs a rewrite. */
  host?: string;
}

export async function readContext(configDir: string, name: string): Promise<ContextState> {
  const meta = await readMeta(configDir, name);
  if (!meta) return { owner: 'none' };
  const store = meta.Metadata?.DockerMachine?.Store;
  return { owner: store ? 'ours' : 'other', store, host: meta.Endpoints?.docker?.Host };
}

/** Who owns the context of this name: nobody (absent), this store, or someone else. */
export async function contextOwner(configDir: string, name: string): Promise<'none' | 'ours' | 'other'> {
  return (await readContext(configDir, name)).owner;
}

/** The store a machine context names, or undefined for contexts made by anyone else. */
export async function contextStore(configDir: string, name: string): Promise<string | undefined> {
  return (await readContext(configDir, name)).store;
}

/**
 * Write (or rewrite) a machine's context. TLS files first, each by rename, then meta.json, so a
 * reader never sees a context whose endpoint names certificates not yet there.
 */
export async function writeContext(configDir: string, c: MachineContext): Promise<void> {
  const { meta, tls } = contextPaths(configDir, c.name);
  try {
    await mkdir(meta, { recursive: true, mode: 0o755 });
    const docker = join(tls, 'docker');
    if (c.tls) {
      await mkdir(docker, { recursive: true, mode: 0o700 });
      await writeFileAtomic(join(docker, 'ca.pem'), c.tls.ca, 0o600);
      await writeFileAtomic(join(docker, 'cert.pem'), c.tls.cert, 0o600);
      await writeFileAtomic(join(docker, 'key.pem'), c.tls.key, 0o600);
    } else {
      await rm(tls, { recursive: true, force: true });
    }
    const file: MetaFile = {
      Name: c.name,
      Metadata: { Description: c.description, DockerMachine: { Store: c.store } },
      Endpoints: { docker: { Host: c.host, SkipTLSVerify: false } },
    };
    await writeFileAtomic(join(meta, 'meta.json'), JSON.stringify(file), 0o644);
  } catch (err) {
    throw new MachineError(`cannot write docker context "${c.name}" in ${configDir}: ${errorMessage(err)}`);
  }
}

/**
 * Remove a context: meta.json goes first (renamed aside, then the folders), so that a kill
 * midway leaves no context pointing at missing certificates.
 */
export async function removeContext(configDir: string, name: string): Promise<void> {
  const { meta, tls } = contextPaths(configDir, name);
  const aside = `${meta}.removing-${process.pid}`;
  try {
    await rename(meta, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await rm(tls, { recursive: true, force: true });
  await rm(aside, { recursive: true, force: true });
}

/** config.json's currentContext ('' for the default). */
export async function currentContext(configDir: string): Promise<string> {
  const config = await readConfig(configDir);
  return typeof config?.currentContext === 'string' ? config.currentContext : '';
}

/**
 * Set or clear currentContext in the docker CLI's config.json, keeping every other key as it was
 * (credentials, auths, plugins). The docker CLI writes this file with tab indents; so do we.
 */
export async function setCurrentContext(configDir: string, name: string | null): Promise<void> {
  const path = join(configDir, 'config.json');
  const config = (await readConfig(configDir)) ?? {};
  if (name === null) delete config.currentContext;
  else config.currentContext = name;
  let mode = 0o600;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch {}
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, JSON.stringify(config, null, '\t'), mode);
}

async function readConfig(configDir: string): Promise<Record<string, unknown> | undefined> {
  const path = join(configDir, 'config.json');
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MachineError(`cannot read ${path}: ${errorMessage(err)}`);
  }
  if (raw.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {}
  throw new MachineError(`${path} is not a JSON object; fix or remove it, then run the command again`);
}
