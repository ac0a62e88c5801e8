import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { processRuns } from '../../process-alive.js';
import type { LockOptions } from '../../store/lock.js';

/**
 * The segment's state on disk, shared by the hub process and the commands that manage it:
 *   ${cacheDir}/qemu/segment/hub.pid, hub.port, hub.log, lock
 *   ${cacheDir}/qemu/segment/members/<machine>.json   one per machine with an address
 */
export function segmentDir(storeCacheDir: string): string {
  return join(storeCacheDir, 'qemu', 'segment');
}

export const paths = {
  lock: (dir: string) => join(dir, 'lock'),
  pid: (dir: string) => join(dir, 'hub.pid'),
  port: (dir: string) => join(dir, 'hub.port'),
  log: (dir: string) => join(dir, 'hub.log'),
  members: (dir: string) => join(dir, 'members'),
  member: (dir: string, name: string) => join(dir, 'members', `${name}.json`),
};

/**
 * The subnet of every store's segment. The host is not on the segment and the hub does not
 * route, so the only addresses it can clash with are those inside the guests: qemu's user
 * network (10.0.2.0/24), Docker's bridges (172.17.0.0/16 and up, 192.168.0.0/16 pools), Swarm's
 * overlays (handed out upward from 10.0.0.0/24, reaching 10.251 only after ~64000 networks),
 * Kubernetes' usual 10.96.0.0/12 and 10.244.0.0/16, and CGNAT/Tailscale's 100.64.0.0/10.
 * 10.251.0.0/24 is in none of them. .1 is left free for a gateway that may exist one day.
 */
export const SEGMENT_SUBNET = { prefix: '10.251.0', prefixLength: 24, firstHost: 2, lastHost: 254 } as const;

/** One machine on the segment, as recorded in members/<name>.json. */
export interface MemberRecord {
  name: string;
  /** Address on the segment, e.g. 10.251.0.2. */
  ip: string;
  /** MAC of the machine's segment NIC, 52:54:00:fb:00:<host>. */
  mac: string;
  /** UDP port on 127.0.0.1 the machine's qemu sends from and receives on (localaddr=). */
  vmPort: number;
  /** The machine's qemu, once joined: the hub floods to it while it lives. */
  qemuPid?: number;
  /** The command that allocated the address and has not joined yet: keeps the hub up meanwhile. */
  ownerPid?: number;
  ownerSince?: number;
}

/** An allocating command keeps the hub up this long at most (a pid reused after a crash must not hold it for good). */
export const OWNER_HOLD_MS = 3_600_000;

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9\-.]*$/;

export function validMemberName(name: string): boolean {
  return NAME_RE.test(name) && name.length <= 255;
}

/** The MAC follows from the address: unique within the store, stable, never qemu's default 52:54:00:12:34:56. */
export function macForHost(host: number): string {
  return `52:54:00:fb:00:${host.toString(16).padStart(2, '0')}`;
}

export function hostOf(ip: string): number | undefined {
  if (!ip.startsWith(`${SEGMENT_SUBNET.prefix}.`)) return undefined;
  const host = Number(ip.slice(SEGMENT_SUBNET.prefix.length + 1));
  return Number.isInteger(host) && host >= SEGMENT_SUBNET.firstHost && host <= SEGMENT_SUBNET.lastHost
    ? host
    : undefined;
}

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536;
}

function isPid(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** A record from disk, checked field by field; undefined when it is not one of ours. */
export function parseMemberRecord(text: string, fileName: string): MemberRecord | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.name !== 'string' || `${r.name}.json` !== fileName || !validMemberName(r.name))
    return undefined;
  if (typeof r.ip !== 'string' || hostOf(r.ip) === undefined) return undefined;
  if (typeof r.mac !== 'string' || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(r.mac)) return undefined;
  if (!isPort(r.vmPort)) return undefined;
  const rec: MemberRecord = { name: r.name, ip: r.ip, mac: r.mac, vmPort: r.vmPort };
  if (isPid(r.qemuPid)) rec.qemuPid = r.qemuPid;
  if (isPid(r.ownerPid)) rec.ownerPid = r.ownerPid;
  if (typeof r.ownerSince === 'number') rec.ownerSince = r.ownerSince;
  return rec;
}

/** Every valid record in the members folder (at most `limit`, by name); unreadable files are skipped. */
export async function readMembers(dir: string, limit = 1024): Promise<MemberRecord[]> {
  let names: string[];
  try {
    names = (await readdir(paths.members(dir))).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: MemberRecord[] = [];
  for (const n of names.slice(0, limit)) {
    const file = join(paths.members(dir), n);
    try {
      if ((await stat(file)).size > 4096) continue;
      const rec = parseMemberRecord(await readFile(file, 'utf8'), n);
      if (rec) out.push(rec);
    } catch {}
  }
  return out;
}

/** The member's qemu runs: it gets frames. */
export function qemuAlive(m: MemberRecord): boolean {
  return m.qemuPid !== undefined && processRuns(m.qemuPid);
}

/** The member keeps the hub up: its qemu runs, or the command that allocated it still does. */
export function holdsHub(m: MemberRecord, now: number): boolean {
  if (qemuAlive(m)) return true;
  return (
    m.ownerPid !== undefined &&
    m.ownerSince !== undefined &&
    now - m.ownerSince < OWNER_HOLD_MS &&
    processRuns(m.ownerPid)
  );
}

/** The segment's lock guards a few file writes and at most a hub start: its bound stays short. */
export function segmentLock(doing: string, log?: (line: string) => void): LockOptions {
  return { what: 'The qemu network segment', doing, log, timeoutMs: 30_000 };
}
