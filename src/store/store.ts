// fs.promises, not node:fs/promises: the promise API loads on first use, which light commands never make.
import { type Dirent, promises as fsp, readdirSync, readFileSync, type Stats, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { errorMessage, MachineError } from '../errors.js';
import { goMarshalIndent } from '../format/gojson.js';
import { writeFileAtomic } from './atomic.js';
import { ConfigCache } from './config-cache.js';
import { CONFIG_VERSION, type HostConfig } from './host.js';
import { withFileLock } from './lock.js';
import { migrateToV3 } from './migrate.js';
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

/** The original's machine-name rule; it also keeps names from escaping the store ('..', '/'). */
export function validateMachineName(name: string): void {
  if (!NAME_RE.test(name) || name.includes('..')) {
    throw new MachineError('Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -');
  }
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
    this.root = root;
    this.certsDir = join(root, 'certs');
    this.machinesDir = join(root, 'machines');
    this.cacheDir = join(root, 'cache');
  }

  machineDir(name: string): string {
    return join(this.machinesDir, name);
  }

  async exists(name: string): Promise<boolean> {
    if (!NAME_RE.test(name) || name.includes('..')) return false;
    return statSync(this.machineDir(name), { throwIfNoEntry: false })?.isDirectory() ?? false;
  }

  /** Machine folders, sorted by name bytes as Go's ReadDir sorts them; hidden entries are not machines. */
  async listNames(): Promise<string[]> {
    let entries: Dirent[];
    try {
      entries = readdirSync(this.machinesDir, { withFileTypes: true });
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
    if (!(await this.exists(name))) throw new NotExistError(name);
    const path = join(this.machineDir(name), 'config.json');
    let raw: string;
    try {
      // Synchronous on purpose: config.json is small, and `ls` reads a hundred of them; the
      // promise API's file handles cost more than the reads (measured in bench/startup.ts).
      raw = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new MachineError(`open ${path}: no such file or directory`);
      throw new MachineError(`open ${path}: ${errorMessage(err)}`);
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
      host = checkHostV3(version < CONFIG_VERSION ? migrateToV3(obj, this.root) : obj);
    } catch (err) {
      if (err instanceof SchemaError) throw new MachineError(`Error getting migrated host: ${err.message}`);
      throw err;
    }
    host.Name = name;
    if (version < CONFIG_VERSION) {
      await writeFileAtomic(`${path}.bak`, raw);
      await this.save(host);
    }
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
    const cache = ConfigCache.open(join(this.cacheDir, 'configs.json'));
    const out: (T | HostConfig | Error)[] = [];
    for (const name of names) {
      // Concatenated, not joined: path.join's normalising was a tenth of `ls -q` over 100 machines.
      const path = `${this.machinesDir}${sep}${name}${sep}config.json`;
      // The signature is taken before the read: a write after it changes the mtime it recorded.
      const st = statSync(path, { throwIfNoEntry: false });
      const h = st && hit(cache, name, st);
      if (h) {
        out.push(h);
        continue;
      }
      try {
        const host = await this.load(name);
        if (st) cache.put(name, st, host);
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
    validateMachineName(host.Name);
    const dir = this.machineDir(host.Name);
    if (o.existing) {
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
        throw new MachineError(
          `Docker machine "${host.Name}" was removed while this command ran; nothing more was saved`,
        );
      }
    } else {
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    }
    await writeFileAtomic(join(dir, 'config.json'), goMarshalIndent(host));
  }

  /** Create the machine's folder; of two creates racing for one name, exactly one succeeds. */
  async claim(name: string): Promise<void> {
    validateMachineName(name);
    await fsp.mkdir(this.machinesDir, { recursive: true, mode: 0o700 });
    try {
      await fsp.mkdir(this.machineDir(name), { mode: 0o700 });
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
    validateMachineName(name);
    const aside = join(this.machinesDir, `${REMOVING}${process.pid}.${name}`);
    let target = aside;
    try {
      await fsp.rename(this.machineDir(name), aside);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // A name near the file-name limit has no room for the prefix: delete it in place.
      if (code !== 'ENAMETOOLONG') throw err;
      target = this.machineDir(name);
    }
    await fsp.rm(target, { recursive: true, force: true, maxRetries: 3 });
    await this.sweepRemovals();
  }

  private async sweepRemovals(): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(this.machinesDir);
    } catch {
      return;
    }
    for (const n of names) {
      const m = REMOVING_RE.exec(n);
      if (!m || processRuns(Number(m[1]))) continue;
      await fsp
        .rm(join(this.machinesDir, n), { recursive: true, force: true, maxRetries: 3 })
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
    validateMachineName(name);
    return withFileLock(
      join(this.machinesDir, '.locks', `${name}.lock`),
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
    return withFileLock(
      join(this.machinesDir, '.locks', `.${what}.lock`),
      { what: `The store's ${what}`, doing: o.doing ?? `changing the store's ${what}`, log: o.log },
      fn,
    );
  }
}

/** Prefix of a machine folder being removed; hidden, so never listed as a machine. */
const REMOVING = '.removing-';
const REMOVING_RE = /^\.removing-(\d+)\./;

function processRuns(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
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
