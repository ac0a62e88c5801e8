import { rename, rm } from 'node:fs/promises';
import { createOverlay } from '../qemu/disk.js';
import { requireTool, runTool } from '../qemu/host-tool.js';
import type { BootImage } from '../qemu/image.js';

/**
 * The machine's disk for VirtualBox: the qemu driver's base image (Debian's cloud image or the
 * project's built one) as a sparse VMDK of the machine's disk size. qemu-img grows a copy-on-write
 * overlay to that size and converts it whole; only what the image holds takes space.
 */
export async function prepareDisk(boot: BootImage, path: string, sizeMB: number): Promise<void> {
  const qemuImg = requireTool(
    'qemu-img',
    'qemu-utils',
    'the virtualbox driver converts its disk image with it',
  );
  const overlay = `${path}.overlay.qcow2`;
  const tmp = `${path}.tmp`;
  try {
    await createOverlay(boot, overlay, sizeMB);
    await runTool(qemuImg, ['convert', '-O', 'vmdk', '-o', 'subformat=monolithicSparse', overlay, tmp], {
      what: `converting the machine's disk to ${path}`,
    });
    await rename(tmp, path);
  } finally {
    await rm(overlay, { force: true });
    await rm(tmp, { force: true });
  }
}
