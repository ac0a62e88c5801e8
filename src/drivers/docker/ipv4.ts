/**
 * IPv4 addresses as unsigned 32-bit numbers, and the subnet arithmetic that choosing a machine's
 * address on its network needs.
 */

export interface Subnet {
  /** The network address (host bits zero). */
  base: number;
  prefix: number;
}

export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** "172.18.0.0/16" (an address with a prefix, as the engine's IPAM config and endpoints show it). */
export function parseCIDR(s: string): Subnet | undefined {
  const [addr, bits, ...rest] = s.trim().split('/');
  if (rest.length || bits === undefined || !/^\d{1,2}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  const ip = parseIPv4(addr);
  if (ip === undefined || prefix > 32) return undefined;
  return { base: (ip & mask(prefix)) >>> 0, prefix };
}

export function formatCIDR(s: Subnet): string {
  return `${formatIPv4(s.base)}/${s.prefix}`;
}

export function contains(s: Subnet, ip: number): boolean {
  return (ip & mask(s.prefix)) >>> 0 === s.base;
}

function size(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

/**
 * The upper half of a subnet, for the engine's own (dynamic) allocations, so that the lower half
 * stays for the machines' fixed addresses. None for subnets too small to split usefully.
 */
export function upperHalf(s: Subnet): Subnet | undefined {
  if (s.prefix > 28) return undefined;
  return { base: s.base + size(s) / 2, prefix: s.prefix + 1 };
}

/**
 * The lowest host address of `subnet` that is not `used`, preferring addresses outside
 * `dynamicRange` (where the engine hands out addresses of its own): an address inside it is
 * chosen only when all others are taken. Network and broadcast addresses are never chosen.
 */
export function lowestFree(
  subnet: Subnet,
  used: ReadonlySet<number>,
  dynamicRange?: Subnet,
): number | undefined {
  if (subnet.prefix > 30) return undefined;
  const first = subnet.base + 1;
  const last = subnet.base + size(subnet) - 2;
  for (const inRange of [false, true]) {
    for (let ip = first; ip <= last; ip++) {
      if (used.has(ip)) continue;
      if ((dynamicRange !== undefined && contains(dynamicRange, ip)) !== inRange) continue;
      return ip;
    }
  }
  return undefined;
}
