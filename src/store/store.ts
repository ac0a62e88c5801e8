// fs.promises, not node:fs/promises: the promise API loads on first use, which light commands never make.
import type { Dirent, Stats } from 'node:fs';
import { errnoText, errorMessage, MachineError } from '../errors.js';
import { processRuns } from '../process-alive.js';
import { nodeFs, readFileSync } from '../runtime/fs.js';
import { join, resolve, sep } from '../runtime/path.js';
import { writeFileAtomic } from './atomic.js';
import type { ConfigCache } from './config-cache.js';
import { CONFIG_VERSION, type HostConfig } from './host.js';
import type { LockOptions } from './lock.js';
import { checkHostV3, SchemaError } from './schema.js';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9\-.]*$/;
const ASCII_RE = /^[\x00-\x7f]*$/;

export class NotExistError extends MachineError {
  constructor(name: string) {
    super(
      `Docker machine "${name}" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.`,
    );
  }
}

/**
 * The longest name the store holds: its lock file, machines/.locks/NAME.lock, must fit a file
 * system's 255-byte limit on a file name (valid names are ASCII: a character is a byte).
 */
export const MAX_NAME_LENGTH = 250;
/** A DNS label's limit (RFC 1035): the name is the machine's hostname on most drivers. */
export const MAX_LABEL_LENGTH = 63;

/**
 * The rule for a new machine's name: the original's characters, which also keep names from
 * escaping the store ('..', '/'), and lengths the store and DNS can hold.
 */
export function validateMachineName(name: string): void {
  checkStoredName(name);
  if (name.length > MAX_NAME_LENGTH) {
    throw new MachineError(
      `Invalid hostname specified: the name has ${name.length} characters; use at most ${MAX_NAME_LENGTH} (and at most ${MAX_LABEL_LENGTH} between dots)`,
    );
  }
  const long = name.split('.').find((l) => l.length > MAX_LABEL_LENGTH);
  if (long !== undefined) {
    throw new MachineError(
      `Invalid hostname specified: "${long}" has ${long.length} characters; a hostname has at most ${MAX_LABEL_LENGTH} between dots`,
    );
  }
}

/**
 * The rule for a machine already in the store: the original's characters, any length, so that a
 * machine an older version made (with a name too long for today's rule) can still be used and removed.
 */
function checkStoredName(name: string): void {
  if (!NAME_RE.test(name) || name.includes('..')) {
    throw new MachineError('Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -');
  }
}

/** Configs that load() migrated from an older version, with the bytes they were read from. */
const migratedFrom = new WeakMap<HostConfig, string>();

/** Whether the host was migrated in memory from an older config.json that save() has not replaced. */
export function wasMigrated(host: HostConfig): boolean {
  return migratedFrom.has(host);
}

/**
 * The file store: $STORE/{certs,machines/NAME/config.json,cache}. A machine exists when its folder
 * does. Saves are atomic and a per-machine lock serialises commands that change one machine.
 */
export class Store {
  readonly root: string;
  readonly certsDir: string;
  readonly machinesDir: string;
  readonly cacheDir: string;

  constructor(root: string) {
    if (root === '') throw new MachineError("Error: the store path is empty: name the store's folder");
    // Absolute once: config.json keeps paths in the store, which must hold from any directory.
    this.root = resolve(root);
    this.certsDir = join(this.root, 'certs');
    this.machinesDir = join(this.root, 'machines');
    this.cacheDir = join(this.root, 'cache');
  }

  machineDir(name: string): string {
    return join(this.machinesDir, name);
  }

  async exists(name: string): Promise<boolean> {
    if (!mayExist(name)) return false;
    try {
      return nodeFs().statSync(this.machineDir(name), { throwIfNoEntry: false })?.isDirectory() ?? false;
    } catch (err) {
      // A name the file system cannot hold, or a symlink loop in the folder's place, is no machine.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENAMETOOLONG' || code === 'ELOOP') return false;
      throw err;
    }
  }

  /** Machine folders, sorted by name bytes as Go's ReadDir sorts them; hidden entries are not machines. */
  async listNames(): Promise<string[]> {
    let entries: Dirent[];
    try {
      entries = nodeFs().readdirSync(this.machinesDir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const names = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
    // For ASCII names (all valid ones) UTF-16 order is byte order, and sorting needs no Buffers.
    if (names.every((n) => ASCII_RE.test(n))) return names.sort();
    return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  async load(name: string): Promise<HostConfig> {
    if (!mayExist(name)) throw new NotExistError(name);
    const path = join(this.machineDir(name), 'config.json');
    let raw: string;
    try {
      // Synchronous on purpose: config.json is small, and `ls` reads a hundred of them; the
      // promise API's file handles cost more than the reads (measured in bench/startup.ts).
      // Read before the folder is looked at: once it reads, the folder is there, and only a
      // failed read needs to tell a missing machine from a machine without its config.
      raw = readFileSync(path, 'utf8');
    } catch (err) {
      if (!(await this.exists(name))) throw new NotExistError(name);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new MachineError(`open ${path}: no such file or directory`);
      throw new MachineError(`open ${path}: ${errnoText(err)}`);
    }
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch (err) {
      throw new MachineError(`Error getting migrated host: ${jsonErrorText(raw, err)}`);
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new MachineError('Error getting migrated host: config.json does not hold a JSON object');
    }
    const obj = data as Record<string, unknown>;
    const version = obj.ConfigVersion ?? 0;
    if (typeof version !== 'number') {
      throw new MachineError('Error getting migrated host: ConfigVersion: expected number');
    }
    if (version > CONFIG_VERSION) {
      throw new MachineError(
        'Error getting migrated host: config version is from the future -- you should upgrade your Docker Machine client',
      );
    }
    let host: HostConfig;
    try {
      // Read only for a config of an older version, as its writer is only for a save.
      const current =
        version < CONFIG_VERSION ? (await import('./migrate.js')).migrateToV3(obj, this.root) : obj;
      host = checkHostV3(current);
    } catch (err) {
      if (err instanceof SchemaError) throw new MachineError(`Error getting migrated host: ${err.message}`);
      throw err;
    }
    host.Name = name;
    // Migrated in memory only: a read-only command never writes a machine's files. The first
    // save (by a command that changes the machine) keeps the original bytes in config.json.bak.
    if (version < CONFIG_VERSION) migratedFrom.set(host, raw);
    return host;
  }

  /**
   * Every named machine's config, or the error that loading it gave, in order. Unchanged
   * configs come from the store's cache of checked configs (see config-cache.ts).
   */
  async loadMany(names: string[]): Promise<(HostConfig | Error)[]> {
    return this.loadThroughCache(names, (cache, name, st) => cache.get(name, st));
  }

  /**
   * Each machine's DriverName, or the error its config gives (`ls -q`): unchanged cached
   * configs are not even parsed.
   */
  async driverNames(names: string[]): Promise<(string | Error)[]> {
    const r = await this.loadThroughCache(names, (cache, name, st) => cache.driverOf(name, st));
    return r.map((x) => (typeof x === 'string' || x instanceof Error ? x : x.DriverName));
  }

  private async loadThroughCache<T>(
    names: string[],
    hit: (cache: ConfigCache, name: string, st: Stats) => T | undefined,
  ): Promise<(T | HostConfig | Error)[]> {
    const { ConfigCache } = await import('./config-cache.js');
    const cache = ConfigCache.open(join(this.cacheDir, 'configs.json'));
    const out: (T | HostConfig | Error)[] = [];
    for (const name of names) {
      // Concatenated, not joined: path.join's normalising was a tenth of `ls -q` over 100 machines.
      const path = `${this.machinesDir}${sep}${name}${sep}config.json`;
      // The signature is taken before the read: a write after it changes the mtime it recorded.
      // A file that cannot even be stat'ed (a symlink loop) is that machine's error, found by load.
      const st = statSignature(path);
      const h = st && hit(cache, name, st);
      if (h) {
        out.push(h);
        continue;
      }
      try {
        const host = await this.load(name);
        // A migrated config is not what the file holds: the cache keeps only what it does.
        if (st && !wasMigrated(host)) cache.put(name, st, host);
        out.push(host);
      } catch (err) {
        out.push(err instanceof Error ? err : new Error(String(err)));
      }
    }
    cache.keepOnly(names);
    await cache.flush();
    return out;
  }

  /**
   * Write the machine's config. With existing, the machine's folder must be there: a command
   * whose machine was removed meanwhile stops instead of bringing back a config without its machine.
   */
  async save(host: HostConfig, o: { existing?: boolean } = {}): Promise<void> {
    checkStoredName(host.Name);
    const dir = this.machineDir(host.Name);
    if (o.existing) {
      if (!nodeFs().statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
        throw new MachineError(
          `Docker machine "${host.Name}" was removed while this command ran; nothing more was saved`,
        );
      }
    } else {
      await nodeFs().promises.mkdir(dir, { recursive: true, mode: 0o700 });
    }
    const original = migratedFrom.get(host);
    if (original !== undefined) await writeFileAtomic(join(dir, 'config.json.bak'), original);
    const { goMarshalIndent } = await import('../format/gojson.js');
    await writeFileAtomic(join(dir, 'config.json'), goMarshalIndent(host));
    migratedFrom.delete(host);
  }

  /** Create the machine's folder; of two creates racing for one name, exactly one succeeds. */
  async claim(name: string): Promise<void> {
    validateMachineName(name);
    await nodeFs().promises.mkdir(this.machinesDir, { recursive: true, mode: 0o700 });
    try {
      await nodeFs().promises.mkdir(this.machineDir(name), { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new MachineError(`Docker machine "${name}" already exists`);
      }
      throw err;
    }
  }

  /**
   * Remove the machine's folder: first renamed aside (one atomic step, after which the machine
   * is gone for every command), then deleted. Folders left aside by a killed rm go too.
   */
  async remove(name: string): Promise<void> {
    checkStoredName(name);
    const aside = join(this.machinesDir, `${REMOVING}${process.pid}.${name}`);
    let target = aside;
    try {
      await nodeFs().promises.rename(this.machineDir(name), aside);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // A name near the file-name limit has no room for the prefix: delete it in place.
      if (code !== 'ENAMETOOLONG') throw err;
      target = this.machineDir(name);
    }
    await nodeFs().promises.rm(target, { recursive: true, force: true, maxRetries: 3 });
    await this.sweepRemovals();
  }

  private async sweepRemovals(): Promise<void> {
    let names: string[];
    try {
      names = await nodeFs().promises.readdir(this.machinesDir);
    } catch {
      return;
    }
    for (const n of names) {
      const m = REMOVING_RE.exec(n);
      if (!m || processRuns(Number(m[1]))) continue;
      await nodeFs()
        .promises.rm(join(this.machinesDir, n), { recursive: true, force: true, maxRetries: 3 })
        .catch(() => {});
    }
  }

  /**
   * Serialise the commands that change one machine. The holder may run for minutes (a create,
   * a restart waiting for SSH): a waiter waits as long as it lives and refreshes its lock.
   */
  withLock<T>(
    name: string,
    fn: () => Promise<T>,
    o: { doing?: string; log?: (line: string) => void } = {},
  ): Promise<T> {
    checkStoredName(name);
    return lockedBy(
      join(this.machinesDir, '.locks', lockFileName(name)),
      {
        what: `Machine "${name}"`,
        doing: o.doing ?? `changing machine ${name}`,
        log: o.log,
        timeoutMs: Number.POSITIVE_INFINITY,
      },
      fn,
    );
  }

  /** A store-wide lock for shared files (the CA and client certificates); held for seconds. */
  withStoreLock<T>(
    what: string,
    fn: () => Promise<T>,
    o: { doing?: string; log?: (line: string) => void } = {},
  ): Promise<T> {
    return lockedBy(
      join(this.machinesDir, '.locks', `.${what}.lock`),
      { what: `The store's ${what}`, doing: o.doing ?? `changing the store's ${what}`, log: o.log },
      fn,
    );
  }
}

/** lock.ts's withFileLock, read by the commands that change machines, not by the ones that read them. */
async function lockedBy<T>(path: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const { withFileLock } = await import('./lock.js');
  return withFileLock(path, opts, fn);
}

/** Prefix of a machine folder being removed; hidden, so never listed as a machine. */
const REMOVING = '.removing-';
const REMOVING_RE = /^\.removing-(\d+)\./;

/**
 * NAME.lock, or for a name too long for that (made by an older version, which had no length
 * rule) its first 200 characters and a hash of the whole, so that such a machine can be removed.
 */
export function lockFileName(name: string): string {
  if (name.length <= MAX_NAME_LENGTH) return `${name}.lock`;
  // FNV-1a, 32 bits: node:crypto would cost every command's start. Two long names sharing the
  // prefix and the hash would only share a lock, never a machine.
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return `${name.slice(0, 200)}~${h.toString(16).padStart(8, '0')}.lock`;
}

/** Whether a machine could be stored under this name: no folder is looked at for the others. */
function mayExist(name: string): boolean {
  return NAME_RE.test(name) && !name.includes('..');
}

/** statSync's signature of a file, or undefined when it cannot be stat'ed for any reason. */
export function statSignature(path: string): Stats | undefined {
  try {
    return nodeFs().statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** JSON.parse's message, with the line and column of the position it names. */
function jsonErrorText(raw: string, err: unknown): string {
  const msg = errorMessage(err);
  const m = /position (\d+)/.exec(msg);
  if (!m) return msg;
  const pos = Number(m[1]);
  const before = raw.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `${msg.replace(/ in JSON at position \d+.*$/, '')} at line ${line} column ${col}`;
}
