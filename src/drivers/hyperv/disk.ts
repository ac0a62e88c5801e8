import { rename, rm } from 'node:fs/promises';
import { MachineError } from '../../errors.js';
import { createOverlay } from '../qemu/disk.js';
import { findTool, runTool } from '../qemu/host-tool.js';
import type { BootImage } from '../qemu/image.js';

/**
 * The machine's disk for Hyper-V: the qemu driver's base image as a dynamically expanding VHDX
 * of the machine's disk size. qemu-img grows a copy-on-write overlay to that size and converts
 * it whole; only what the image holds takes space.
 */
export async function prepareDisk(boot: BootImage, path: string, sizeMB: number): Promise<void> {
  const qemuImg = requireQemuImg();
  const overlay = `${path}.overlay.qcow2`;
  const tmp = `${path}.tmp`;
  try {
    await createOverlay(boot, overlay, sizeMB);
    await runTool(qemuImg, ['convert', '-O', 'vhdx', '-o', 'subformat=dynamic', overlay, tmp], {
      what: `converting the machine's disk to ${path}`,
    });
    await rename(tmp, path);
  } finally {
    await rm(overlay, { force: true });
    await rm(tmp, { force: true });
  }
}

/** qemu-img, or one line saying where to get it on this system. */
export function requireQemuImg(platform: NodeJS.Platform = process.platform): string {
  const found = findTool('qemu-img');
  if (found) return found;
  throw new MachineError(
    platform === 'win32'
      ? "qemu-img is not installed, and the hyperv driver converts the machine's disk image to VHDX with it: install QEMU for Windows (https://www.qemu.org/download/#windows) and add its folder to the PATH"
      : "qemu-img is not installed, and the hyperv driver converts the machine's disk image to VHDX with it: install it (apt-get install qemu-utils)",
  );
}

/** A tool that makes the seed ISO, or one line saying where to get one on this system. */
export function requireIsoTool(platform: NodeJS.Platform = process.platform): void {
  if (['genisoimage', 'xorriso', 'mkisofs'].some((t) => findTool(t))) return;
  throw new MachineError(
    platform === 'win32'
      ? "none of genisoimage, xorriso or mkisofs is installed, and the hyperv driver makes the machine's seed ISO with one: install xorriso (MSYS2: pacman -S xorriso) or cdrtools' mkisofs and add its folder to the PATH"
      : "none of genisoimage, xorriso or mkisofs is installed, and the hyperv driver makes the machine's seed ISO with one: install one (apt-get install genisoimage)",
  );
}
