import { errorMessage, MachineError } from '../../errors.js';
import type { DriverJSON } from '../../store/host.js';
import { isGone } from './errors.js';

/**
 * What a machine's create made at its provider, kept in config.json's Driver section under
 * "Ledger". An entry is written BEFORE the call that makes the resource, with how to find it
 * without its id (a client token, or a unique name, tag or label the call sets), and its id is
 * added as soon as the API returns it. A kill -9 between the two leaves a pending entry that rm
 * resolves by that lookup. rm deletes exactly these resources, newest first, and nothing else.
 */
export interface LedgerEntry {
  /** The provider's kind of resource, e.g. "ssh_key", "droplet", "security_group". */
  kind: string;
  /** The provider's id; '' while the create call has not answered. */
  id: string;
  /** How to find the resource without its id: e.g. { by: "tag", value: "docker-machine-ab12" }. */
  find: { by: string; value: string };
  /** Words for a user: "SSH key docker-machine-n1". */
  label: string;
}

export const LEDGER_KEY = 'Ledger';

export function ledgerOf(json: DriverJSON): LedgerEntry[] {
  const v = json[LEDGER_KEY];
  if (!Array.isArray(v)) return [];
  return v.filter(
    (e): e is LedgerEntry =>
      !!e &&
      typeof e === 'object' &&
      typeof (e as LedgerEntry).kind === 'string' &&
      typeof (e as LedgerEntry).id === 'string' &&
      typeof (e as LedgerEntry).find?.by === 'string',
  );
}

/** Reads and writes the ledger inside a driver's JSON, saving the machine after every change. */
export class Ledger {
  constructor(
    private readonly read: () => DriverJSON,
    private readonly write: (json: DriverJSON) => void,
    private readonly save: () => Promise<void>,
  ) {}

  entries(): LedgerEntry[] {
    return ledgerOf(this.read());
  }

  private async put(entries: LedgerEntry[]): Promise<void> {
    this.write({ ...this.read(), [LEDGER_KEY]: entries });
    await this.save();
  }

  /** Before a create call: how its result will be found if its answer never arrives. */
  async intend(kind: string, find: LedgerEntry['find'], label: string): Promise<LedgerEntry> {
    const entry: LedgerEntry = { kind, id: '', find, label };
    await this.put([...this.entries(), entry]);
    return entry;
  }

  /** The create call answered: its id, saved at once. */
  async made(entry: LedgerEntry, id: string): Promise<void> {
    entry.id = id;
    await this.put(this.entries().map((e) => (same(e, entry) ? { ...e, id } : e)));
  }

  async forget(entry: LedgerEntry): Promise<void> {
    await this.put(this.entries().filter((e) => !same(e, entry)));
  }
}

function same(a: LedgerEntry, b: LedgerEntry): boolean {
  return a.kind === b.kind && a.find.by === b.find.by && a.find.value === b.find.value;
}

/** How a driver finds and deletes one kind of resource. */
export interface ResourceKind {
  /** Ids of the resources that `find` matches (several if a retried call made two). */
  lookup(find: LedgerEntry['find']): Promise<string[]>;
  /** Deletes it; a 404 counts as deleted. Resolves once the provider says it is gone or going. */
  delete(id: string): Promise<void>;
  /**
   * Why it must stay although this machine made it ('' when it need not): a security group that
   * other machines now use. It is then left, said so, and no longer this machine's.
   */
  keep?(id: string): Promise<string>;
  /** How a user deletes it by hand, e.g. "doctl compute droplet delete 123". */
  byHand(id: string): string;
}

export interface Cleanup {
  deleted: string[];
  failed: string[];
}

/**
 * Deletes what the ledger holds, newest first (a server before the key and firewall it uses),
 * removing each entry once its resource is gone. What cannot be deleted stays in the ledger (a
 * later rm tries again) and is reported with its id and how to delete it by hand.
 */
export async function deleteLedger(
  ledger: Ledger,
  kinds: Record<string, ResourceKind>,
  log: (line: string) => void,
): Promise<Cleanup> {
  const out: Cleanup = { deleted: [], failed: [] };
  for (const entry of [...ledger.entries()].reverse()) {
    const kind = kinds[entry.kind];
    if (!kind) {
      out.failed.push(
        `${entry.label} (${entry.kind} ${entry.id || entry.find.value}): this version does not know how to delete a ${entry.kind}`,
      );
      continue;
    }
    let ids: string[];
    try {
      // Also by its lookup when the id is known: a create that was sent twice (a repeated
      // request whose first answer was lost) may have made two.
      const found = await kind.lookup(entry.find).catch((err) => {
        if (entry.id) return [];
        throw err;
      });
      ids = [...new Set([...(entry.id ? [entry.id] : []), ...found])];
    } catch (err) {
      out.failed.push(
        `${entry.label}: could not look it up by ${entry.find.by} "${entry.find.value}" (${errorMessage(err)}); find and delete it by hand`,
      );
      continue;
    }
    let ok = true;
    for (const id of ids) {
      try {
        const why = kind.keep ? await kind.keep(id) : '';
        if (why) {
          log(`Left ${entry.label} (${id}): ${why}`);
          continue;
        }
        await kind.delete(id);
        out.deleted.push(`${entry.label} (${id})`);
        log(`Deleted ${entry.label} (${id})`);
      } catch (err) {
        if (isGone(err)) continue;
        ok = false;
        out.failed.push(
          `${entry.label} (${id}): ${errorMessage(err)}; delete it by hand: ${kind.byHand(id)}`,
        );
      }
    }
    if (ok) await ledger.forget(entry);
  }
  return out;
}

/** The error rm reports when some resources stayed: one line each, with the way to delete them. */
export function cleanupError(provider: string, c: Cleanup): MachineError {
  return new MachineError(
    `could not delete ${c.failed.length} ${provider} resource(s) this machine made:\n  ${c.failed.join('\n  ')}`,
  );
}
