import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MachineError } from '../../errors.js';
import { buildImage, DEFAULT_MIRROR, hostArch } from './build.js';
import { checkBootable } from './disk.js';
import { download, UnreachableError } from './download.js';

/**
 * The machine's base image, from --qemu-image: '' for Debian's cloud image (downloaded once;
 * built from the Debian mirror when the download cannot connect), 'build' for the project's own
 * image built from the mirror, an http(s) URL to download once, or a local disk image.
 */

export interface BootImage {
  /** The base disk, used read-only as the backing file of each machine's overlay. */
  disk: string;
  format: 'qcow2' | 'raw';
  /** Images built by the project: boot this kernel directly (no bootloader on the disk). */
  kernel?: string;
  initrd?: string;
  /** Kernel command line for a direct boot, e.g. 'console=ttyS0 root=/dev/vda rw quiet'. */
  cmdline?: string;
  /**
   * Images built by the project carry Debian's engine where this says: the driver can then seed
   * its files so that it starts at the first boot (see seeded-engine.ts).
   */
  engine?: { dockerd: string; socketActivated: boolean };
  /** What it is, for messages: 'built from http://deb.debian.org/debian (bookworm)', a path or URL. */
  source: string;
}

export function defaultImageUrl(arch: string): string {
  return `https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-${arch}.qcow2`;
}

export interface ImageOptions {
  image: string;
  mirror: string;
  /** The store's cache folder. */
  cacheDir: string;
  /** Debian's name for the machine's architecture; the host's by default. */
  arch?: string;
  /** --qemu-image-checksum: 'sha256:HEX' or 'sha512:HEX', for a downloaded image. */
  checksum?: string;
  log(line: string): void;
  signal?: AbortSignal;
  /** Where the default image comes from (tests point it at a port of their own). */
  defaultUrl?: string;
  /** How the image is built (tests of the fallback replace it). */
  build?: typeof buildImage;
}

const HOW = "give --qemu-image a qcow2 or raw disk image, an http(s) URL, or 'build'";

export async function ensureBootImage(o: ImageOptions): Promise<BootImage> {
  const arch = o.arch ?? hostArch();
  const mirror = o.mirror || DEFAULT_MIRROR;
  const build = () =>
    (o.build ?? buildImage)({ mirror, cacheDir: o.cacheDir, arch, log: o.log, signal: o.signal });
  if (o.image === 'build') return build();
  if (o.image === '') {
    const url = o.defaultUrl ?? defaultImageUrl(arch);
    try {
      return await fromUrl(url, o);
    } catch (err) {
      if (!(err instanceof UnreachableError)) throw err;
      o.log(
        `Cannot reach ${new URL(url).host} for Debian's cloud image (${err.code}): building the image from ${mirror} instead`,
      );
      return build();
    }
  }
  if (/^https?:\/\//i.test(o.image)) return fromUrl(o.image, o);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(o.image)) {
    throw new MachineError(`--qemu-image ${o.image}: only http and https URLs can be downloaded; ${HOW}`);
  }
  return fromPath(o.image);
}

async function fromUrl(url: string, o: ImageOptions): Promise<BootImage> {
  const file = await download({
    url,
    dir: join(o.cacheDir, 'qemu', 'downloads'),
    checksum: o.checksum,
    log: o.log,
    signal: o.signal,
  });
  try {
    const { format } = await checkBootable(file, `the download of ${url} is not usable (deleted): ${HOW}`);
    return { disk: file, format, source: url };
  } catch (err) {
    // The next attempt downloads it again rather than failing on the same file for good.
    await rm(file, { force: true });
    throw err;
  }
}

async function fromPath(image: string): Promise<BootImage> {
  const path = resolve(image);
  if (!existsSync(path)) throw new MachineError(`the image ${path} does not exist: ${HOW}`);
  const { format } = await checkBootable(path, `make it again or ${HOW}`);
  return { disk: path, format, source: path };
}
