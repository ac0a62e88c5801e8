import { MachineError } from '../../errors.js';

/**
 * --docker-disk-size: a bound on the machine's root file system, set with the engine's
 * StorageOpt size, which only some storage drivers honour: btrfs, devicemapper and zfs bound the
 * whole root (the image included), overlay2 on xfs with pquota what the container writes. The
 * inner engine's images and containers are in the machine's volume, which no local volume can
 * bound.
 */

/**
 * MB from `20G`, `512M`, `1.5T` (binary units, as the engine reads sizes; an optional `B` or
 * `iB`) or a plain number of MB; '' and 0 for no bound.
 */
export function parseDiskSize(spec: string): number {
  const s = spec.trim();
  if (s === '' || s === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*(?:([mMgGtT])(?:i?[bB])?)?$/.exec(s);
  const mb = m ? Number(m[1]) * { '': 1, m: 1, g: 1024, t: 1024 * 1024 }[(m[2] ?? '').toLowerCase()]! : NaN;
  // 64 TB: beyond it the engine's byte count overflows, and no storage driver bounds that much.
  if (!Number.isFinite(mb) || mb < 1 || !Number.isInteger(mb) || mb > 64 * 1024 * 1024) {
    throw new MachineError(
      `--docker-disk-size ${spec}: expected a size such as 20G or 512M, or a whole number of MB (0 for no limit)`,
    );
  }
  return mb;
}

/** What /info says about the engine's storage: its driver and the file system under it. */
export interface StorageInfo {
  Driver?: string;
  DriverStatus?: [string, string][] | null;
}

/** Storage drivers that take a container size. overlay2 (and vfs) only on xfs with pquota. */
const SIZED_DRIVERS = ['devicemapper', 'btrfs', 'zfs', 'windowsfilter'];
const XFS_QUOTA_DRIVERS = ['overlay2', 'vfs'];

/**
 * Why the engine cannot bound a container's size, or undefined when it can or may: for overlay2
 * on xfs, /info does not say whether pquota is on, so the container's create is the test.
 */
export function diskSizeRefusal(info: StorageInfo, where: string, sizeMB: number): string | undefined {
  const driver = info.Driver ?? 'unknown';
  if (SIZED_DRIVERS.includes(driver)) return undefined;
  const backing = info.DriverStatus?.find(([k]) => k === 'Backing Filesystem')?.[1] ?? '';
  if (XFS_QUOTA_DRIVERS.includes(driver) && backing === 'xfs') return undefined;
  return `--docker-disk-size ${sizeMB} MB needs a storage driver that can bound a container's size (devicemapper, btrfs, zfs, or overlay2 on xfs mounted with pquota), and ${where} uses ${driver}${backing ? ` on ${backing}` : ''}; leave out --docker-disk-size, or give --docker-host an engine that stores containers that way`;
}

/** The engine's refusal of a size at container create (overlay2 on xfs without pquota). */
export function isDiskSizeRefusal(message: string): boolean {
  return /storage-opt|storage opt|pquota|quota/i.test(message);
}
