/**
 * The forwarding table of the segment hub: an Ethernet learning switch whose ports are UDP
 * endpoints on loopback. Pure (no sockets, no clock of its own) so that it can be tested alone.
 */

export interface Endpoint {
  address: string;
  port: number;
}

export interface SwitchLimits {
  /** Endpoints (VMs) at most; the oldest learned one makes room for a new one. */
  maxEndpoints: number;
  /** MAC addresses at most (a VM may show several, e.g. a bridge inside it). */
  maxMacs: number;
  /** A MAC or endpoint not heard from for this long is forgotten (switches age at 300 s). */
  ageMs: number;
}

export const DEFAULT_LIMITS: SwitchLimits = { maxEndpoints: 256, maxMacs: 4096, ageMs: 300_000 };

/** A member known from the members folder, heard from or not. */
export interface FixedMember {
  endpoint: Endpoint;
  mac?: number;
}

/** Smallest Ethernet header: destination, source, EtherType. Anything shorter is not a frame. */
export const ETHERNET_HEADER = 14;

export function endpointKey(e: Endpoint): string {
  return `${e.address}:${e.port}`;
}

export function macToString(mac: number): string {
  return mac
    .toString(16)
    .padStart(12, '0')
    .replace(/(..)(?!$)/g, '$1:');
}

export function parseMac(s: string): number | undefined {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(s)) return undefined;
  return Number.parseInt(s.replaceAll(':', ''), 16);
}

interface Learned {
  endpoint: Endpoint;
  seen: number;
}

export class LearningSwitch {
  private readonly limits: SwitchLimits;
  /** MAC -> endpoint key, in order of last use (Map order), so eviction takes the stalest. */
  private readonly macs = new Map<number, { key: string; seen: number }>();
  /** Endpoints that sent a frame, in order of last use. */
  private readonly learned = new Map<string, Learned>();
  /** Endpoints from the members folder: they get floods before they have said anything. */
  private fixed = new Map<string, Endpoint>();
  /** MACs the members folder names, used until the MAC is learned from traffic. */
  private fixedMacs = new Map<number, string>();

  constructor(limits: Partial<SwitchLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /**
   * Replace the members known from the folder. Endpoints of members whose VM is gone are
   * forgotten at once, with their MACs, so nothing more is sent to a closed port.
   */
  setMembers(live: FixedMember[], gone: Endpoint[] = []): void {
    this.fixed = new Map();
    this.fixedMacs = new Map();
    for (const m of live.slice(0, this.limits.maxEndpoints)) {
      const key = endpointKey(m.endpoint);
      this.fixed.set(key, m.endpoint);
      if (m.mac !== undefined) this.fixedMacs.set(m.mac, key);
    }
    for (const g of gone) {
      const key = endpointKey(g);
      if (this.fixed.has(key)) continue;
      this.forgetEndpoint(key);
    }
  }

  /** Where a frame from `from` goes. An empty list drops it. */
  route(frame: Buffer, from: Endpoint, now: number): Endpoint[] {
    if (frame.length < ETHERNET_HEADER) return [];
    const src = frame.readUIntBE(6, 6);
    // A multicast or all-zero source is not a station: such a frame is malformed, drop it.
    if ((frame[6] & 1) === 1 || src === 0) return [];
    const fromKey = endpointKey(from);
    this.learn(src, from, fromKey, now);

    if ((frame[0] & 1) === 0) {
      const dst = frame.readUIntBE(0, 6);
      const key = this.lookup(dst, now);
      if (key !== undefined) {
        if (key === fromKey) return [];
        const to = this.fixed.get(key) ?? this.learned.get(key)?.endpoint;
        if (to) return [to];
      }
    }
    return this.floodTargets(fromKey, now);
  }

  /** Forget what has not been heard from within the age limit. */
  expire(now: number): void {
    const limit = now - this.limits.ageMs;
    for (const [mac, e] of this.macs) if (e.seen < limit) this.macs.delete(mac);
    for (const [key, e] of this.learned) if (e.seen < limit) this.learned.delete(key);
  }

  /** What the table holds, for the hub's status answer. */
  snapshot(now: number): { endpoints: string[]; macs: Array<{ mac: string; endpoint: string }> } {
    const endpoints = new Set<string>(this.fixed.keys());
    for (const [key, e] of this.learned) if (e.seen >= now - this.limits.ageMs) endpoints.add(key);
    const macs: Array<{ mac: string; endpoint: string }> = [];
    for (const [mac, e] of this.macs) macs.push({ mac: macToString(mac), endpoint: e.key });
    return { endpoints: [...endpoints], macs };
  }

  private learn(src: number, from: Endpoint, fromKey: string, now: number): void {
    this.learned.delete(fromKey);
    this.learned.set(fromKey, { endpoint: { address: from.address, port: from.port }, seen: now });
    while (this.learned.size > this.limits.maxEndpoints) {
      const oldest = this.learned.keys().next().value as string;
      this.forgetEndpoint(oldest);
    }
    this.macs.delete(src);
    this.macs.set(src, { key: fromKey, seen: now });
    while (this.macs.size > this.limits.maxMacs) this.macs.delete(this.macs.keys().next().value as number);
  }

  private lookup(mac: number, now: number): string | undefined {
    const e = this.macs.get(mac);
    if (e && e.seen >= now - this.limits.ageMs) return e.key;
    return this.fixedMacs.get(mac);
  }

  private floodTargets(fromKey: string, now: number): Endpoint[] {
    const out: Endpoint[] = [];
    for (const [key, e] of this.fixed) if (key !== fromKey) out.push(e);
    const limit = now - this.limits.ageMs;
    for (const [key, e] of this.learned) {
      if (key !== fromKey && e.seen >= limit && !this.fixed.has(key)) out.push(e.endpoint);
    }
    return out;
  }

  private forgetEndpoint(key: string): void {
    this.learned.delete(key);
    for (const [mac, e] of this.macs) if (e.key === key) this.macs.delete(mac);
  }
}
