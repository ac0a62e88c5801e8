import { open, rename, rm } from 'node:fs/promises';
import { errorMessage, MachineError } from '../../errors.js';
import { requireTool, runTool, ToolFailedError } from './host-tool.js';
import type { BootImage } from './image.js';

/**
 * Disk images through qemu-img: what an image is (format, virtual size, soundness) and each
 * machine's own copy-on-write overlay, whose backing file is the shared base image.
 */

const MiB = 1024 * 1024;

function qemuImg(): string {
  return requireTool('qemu-img', 'qemu-utils', 'the qemu driver needs it for disk images');
}

export interface DiskInfo {
  format: string;
  virtualSize: number;
}

/** Format and virtual size; a MachineError naming the path when qemu-img cannot read it. */
export async function diskInfo(path: string): Promise<DiskInfo> {
  let out: string;
  try {
    out = (await runTool(qemuImg(), ['info', '--output=json', path], { what: `reading ${path}` })).stdout;
  } catch (err) {
    const why = err instanceof ToolFailedError ? lastQemuLine(err.tail) : errorMessage(err);
    throw new MachineError(`${path} is not a disk image qemu-img can read (${why})`);
  }
  const info = JSON.parse(out) as { format: string; 'virtual-size': number };
  return { format: info.format, virtualSize: info['virtual-size'] };
}

/**
 * A base image the machine can boot from firmware: qcow2 whose metadata checks out (a truncated
 * download fails here, not as a VM that hangs), or raw with a partition table.
 */
export async function checkBootable(
  path: string,
  what: string,
): Promise<DiskInfo & { format: 'qcow2' | 'raw' }> {
  const info = await diskInfo(path);
  if (info.format === 'qcow2') {
    try {
      await runTool(qemuImg(), ['check', '--output=json', path], { what: `checking ${path}`, keepLines: 3 });
    } catch (err) {
      // 3: only leaked clusters, which waste space but lose nothing.
      if (!(err instanceof ToolFailedError) || err.status !== 3) {
        throw new MachineError(
          `${path} is a damaged qcow2 image (qemu-img check: ${checkFindings(err)}); ${what}`,
        );
      }
    }
    return { ...info, format: 'qcow2' };
  }
  if (info.format === 'raw') {
    if (!(await hasBootSignature(path))) {
      throw new MachineError(
        `${path} is not a bootable disk image (no partition table; qemu-img reads any file as raw); ${what}`,
      );
    }
    return { ...info, format: 'raw' };
  }
  throw new MachineError(
    `${path} is a ${info.format} image; the qemu driver takes qcow2 or raw: convert it (qemu-img convert -O qcow2 ${path} NEW.qcow2)`,
  );
}

/** An MBR or a GPT's protective MBR ends its first sector with 55 AA. */
async function hasBootSignature(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 510);
    return bytesRead === 2 && b[0] === 0x55 && b[1] === 0xaa;
  } finally {
    await fh.close();
  }
}

function checkFindings(err: unknown): string {
  if (!(err instanceof ToolFailedError)) return errorMessage(err);
  try {
    const r = JSON.parse(err.stdout) as { 'check-errors'?: number; corruptions?: number };
    const n = (r.corruptions ?? 0) + (r['check-errors'] ?? 0);
    if (n > 0) return `${n} errors, as in a truncated or overwritten file`;
  } catch {}
  return lastQemuLine(err.tail);
}

function lastQemuLine(tail: string[]): string {
  const errors = tail.filter((l) => !/^ERROR: counting reference|^Leaked cluster/.test(l));
  return (errors.at(-1) ?? tail.at(-1) ?? 'no output').replace(/^qemu-img: /, '');
}

/**
 * The machine's own disk: a qcow2 overlay on the base image, of the machine's disk size. The
 * base is only read; what the machine writes stays in the overlay.
 */
export async function createOverlay(base: BootImage, path: string, sizeMB: number): Promise<void> {
  const { virtualSize } = await diskInfo(base.disk);
  const minMB = Math.ceil(virtualSize / MiB);
  if (sizeMB * MiB < virtualSize) {
    throw new MachineError(
      `--qemu-disk-size ${sizeMB} is smaller than the image's own disk (${minMB} MB, ${base.source}): give at least ${minMB}`,
    );
  }
  const tmp = `${path}.tmp`;
  await rm(tmp, { force: true });
  try {
    await runTool(
      qemuImg(),
      ['create', '-q', '-f', 'qcow2', '-F', base.format, '-b', base.disk, tmp, `${sizeMB}M`],
      {
        what: `creating the machine's disk ${path}`,
      },
    );
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}

export async function removeOverlay(path: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.tmp`, { force: true });
}
