import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import type { HostConfig } from './host.js';
import { schemaFingerprint } from './schema.js';

/**
 * Checked config.json contents of a whole store in one file, so that `ls -q` and `active` over a
 * hundred machines read one file instead of checking a hundred (the check, not the reads, was
 * most of their time). An entry is used only while its config.json has the same inode, size and
 * mtime, and only files last changed well before they were read are kept: a write in the same
 * clock tick as an earlier read cannot hide behind an unchanged mtime (git's "racily clean"
 * rule). config.json stays the only truth: the cache can be deleted at any time.
 *
 * The file is two lines of JSON: first the index (signatures, driver names and the URLs of
 * `none` machines), then the configs by name. `ls -q` and, in a store of `none` machines,
 * `active` need only the index, so the configs are parsed on the first get().
 */

const FORMAT = 4;
/** Files changed more recently than this are not cached yet (timestamp granularity). */
const SETTLE_MS = 2000;

export interface FileSignature {
  ino: number;
  size: number;
  mtimeMs: number;
}

interface Entry extends FileSignature {
  driver: string;
  /** Of a `none` machine: see fixedURLs. */
  url?: string;
  swarmHost?: string;
}

/**
 * The URLs a machine answers at, when its config alone says them: a `none` machine's URL is the
 * one in its config (its driver's getURL reads nothing else) and its state is always Running.
 * `swarmHost` is there only for a standalone-Swarm master, the one case where `ls` marks a swarm
 * URL active.
 */
export interface FixedURLs {
  url: string;
  swarmHost?: string;
}

function fixedURLsOf(config: HostConfig): FixedURLs | undefined {
  if (config.DriverName !== 'none') return undefined;
  const url = config.Driver.URL;
  const s = config.HostOptions.SwarmOptions;
  return {
    url: typeof url === 'string' ? url : '',
    ...(s.Master && !s.Role ? { swarmHost: s.Host } : {}),
  };
}

interface CacheIndex {
  format: number;
  schema: string;
  entries: Record<string, Entry>;
}

export class ConfigCache {
  private entries: Map<string, Entry>;
  /** The second line, not parsed until a config is asked for. */
  private configsText: string;
  private configs: Map<string, HostConfig> | undefined;
  /**
   * Configs already handed out: a caller may change its copy, so a second get makes a new one.
   * (Store.loadThroughCache flushes before its callers see any config.)
   */
  private handedOut = new Set<string>();
  private changed = false;

  private constructor(
    private readonly path: string,
    entries: Record<string, Entry>,
    configsText: string,
  ) {
    this.entries = new Map(Object.entries(entries));
    this.configsText = configsText;
  }

  static open(path: string): ConfigCache {
    try {
      const text = readFileSync(path, 'utf8');
      const nl = text.indexOf('\n');
      const index = JSON.parse(nl < 0 ? text : text.slice(0, nl)) as CacheIndex;
      if (index.format === FORMAT && index.schema === schemaFingerprint && index.entries && nl >= 0) {
        return new ConfigCache(path, index.entries, text.slice(nl + 1));
      }
    } catch {}
    const c = new ConfigCache(path, {}, '{}');
    c.changed = existsSync(path);
    return c;
  }

  private unchanged(name: string, st: FileSignature): Entry | undefined {
    const e = this.entries.get(name);
    return e && e.ino === st.ino && e.size === st.size && e.mtimeMs === st.mtimeMs ? e : undefined;
  }

  /** The DriverName of an unchanged cached config (one that loads without error). */
  driverOf(name: string, st: FileSignature): string | undefined {
    return this.unchanged(name, st)?.driver;
  }

  /** The fixed URLs (see FixedURLs) of an unchanged cached config that has them. */
  fixedURLs(name: string, st: FileSignature): FixedURLs | undefined {
    const e = this.unchanged(name, st);
    if (e?.url === undefined) return undefined;
    return e.swarmHost === undefined ? { url: e.url } : { url: e.url, swarmHost: e.swarmHost };
  }

  /** The cached config when the file is unchanged. */
  get(name: string, st: FileSignature): HostConfig | undefined {
    const configs = this.parsedConfigs();
    const config = this.unchanged(name, st) && configs.get(name);
    if (!config) {
      if (this.entries.delete(name)) this.changed = true;
      configs.delete(name);
      return undefined;
    }
    if (this.handedOut.has(name)) return JSON.parse(JSON.stringify(config)) as HostConfig;
    this.handedOut.add(name);
    return config;
  }

  /** Remember `config` as read from a file with signature `st`, if that file has settled. */
  put(name: string, st: FileSignature, config: HostConfig): void {
    if (Date.now() - st.mtimeMs < SETTLE_MS) return;
    this.entries.set(name, {
      ino: st.ino,
      size: st.size,
      mtimeMs: st.mtimeMs,
      driver: config.DriverName,
      ...fixedURLsOf(config),
    });
    // A copy: the caller gets `config` itself and may change it.
    this.parsedConfigs().set(name, JSON.parse(JSON.stringify(config)) as HostConfig);
    this.changed = true;
  }

  /** Forget machines that are gone. */
  keepOnly(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const n of this.entries.keys()) {
      if (!keep.has(n)) {
        this.entries.delete(n);
        this.configs?.delete(n);
        this.changed = true;
      }
    }
  }

  /** Write the cache if it changed. A store we cannot write to simply goes without. */
  async flush(): Promise<void> {
    if (!this.changed) return;
    const configs = this.parsedConfigs();
    const entries: Record<string, Entry> = {};
    const kept: Record<string, HostConfig> = {};
    for (const [name, e] of this.entries) {
      const config = configs.get(name);
      if (!config) continue;
      entries[name] = e;
      kept[name] = config;
    }
    const index: CacheIndex = { format: FORMAT, schema: schemaFingerprint, entries };
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      // JSON.stringify leaves no newline outside strings: the first one ends the index.
      await writeFileAtomic(this.path, `${JSON.stringify(index)}\n${JSON.stringify(kept)}\n`, 0o600);
      this.changed = false;
    } catch {}
  }

  private parsedConfigs(): Map<string, HostConfig> {
    if (!this.configs) {
      let parsed: Record<string, HostConfig> = {};
      try {
        parsed = JSON.parse(this.configsText) as Record<string, HostConfig>;
      } catch {
        // The index without its configs vouches for nothing.
        this.entries.clear();
        this.changed = true;
      }
      this.configs = new Map(Object.entries(parsed ?? {}));
    }
    return this.configs;
  }
}
