import * as fs from 'node:fs';
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
 */

const FORMAT = 2;
/** Files changed more recently than this are not cached yet (timestamp granularity). */
const SETTLE_MS = 2000;

export interface FileSignature {
  ino: number;
  size: number;
  mtimeMs: number;
}

interface Entry extends FileSignature {
  /** The checked config as JSON text: each load parses its own copy, which callers may change. */
  json: string;
  driver: string;
}

interface CacheFile {
  format: number;
  schema: string;
  entries: Record<string, Entry>;
}

export class ConfigCache {
  private entries: Map<string, Entry>;
  private changed = false;

  private constructor(
    private readonly path: string,
    entries: Record<string, Entry>,
  ) {
    this.entries = new Map(Object.entries(entries));
  }

  static open(path: string): ConfigCache {
    try {
      const data = JSON.parse(fs.readFileSync(path, 'utf8')) as CacheFile;
      if (data.format === FORMAT && data.schema === schemaFingerprint && data.entries) {
        return new ConfigCache(path, data.entries);
      }
    } catch {}
    const c = new ConfigCache(path, {});
    c.changed = fs.existsSync(path);
    return c;
  }

  /** The DriverName of an unchanged cached config (one that loads without error). */
  driverOf(name: string, st: FileSignature): string | undefined {
    const e = this.entries.get(name);
    return e && e.ino === st.ino && e.size === st.size && e.mtimeMs === st.mtimeMs ? e.driver : undefined;
  }

  /** The cached config when the file is unchanged. */
  get(name: string, st: FileSignature): HostConfig | undefined {
    const e = this.entries.get(name);
    if (!e) return undefined;
    if (e.ino === st.ino && e.size === st.size && e.mtimeMs === st.mtimeMs) {
      return JSON.parse(e.json) as HostConfig;
    }
    this.entries.delete(name);
    this.changed = true;
    return undefined;
  }

  /** Remember `config` as read from a file with signature `st`, if that file has settled. */
  put(name: string, st: FileSignature, config: HostConfig): void {
    if (Date.now() - st.mtimeMs < SETTLE_MS) return;
    this.entries.set(name, {
      ino: st.ino,
      size: st.size,
      mtimeMs: st.mtimeMs,
      json: JSON.stringify(config),
      driver: config.DriverName,
    });
    this.changed = true;
  }

  /** Forget machines that are gone. */
  keepOnly(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const n of this.entries.keys()) {
      if (!keep.has(n)) {
        this.entries.delete(n);
        this.changed = true;
      }
    }
  }

  /** Write the cache if it changed. A store we cannot write to simply goes without. */
  async flush(): Promise<void> {
    if (!this.changed) return;
    const data: CacheFile = {
      format: FORMAT,
      schema: schemaFingerprint,
      entries: Object.fromEntries(this.entries),
    };
    try {
      await fs.promises.mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.path, JSON.stringify(data), 0o600);
      this.changed = false;
    } catch {}
  }
}
