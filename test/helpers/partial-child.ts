import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packRootfs } from '../../src/drivers/docker/image.js';
import { buildImage, hostArch } from '../../src/drivers/qemu/build.js';
import { download } from '../../src/drivers/qemu/download.js';
import { pauseAt } from '../../src/test-pause.js';

/**
 * One cache-making step of the product in a process of its own, so that a test can kill it with
 * SIGKILL at a pause point (DM_TEST_PAUSE_AT) and run it again:
 *   qemu-build CACHE_DIR       the qemu image build, its debootstrap replaced by small files
 *   rootfs TARBALL             the docker driver's root file system tarball, filled with small files
 *   download URL DIR           a download into the qemu downloads folder
 * Prints the path it made on stdout.
 */
const [mode, a, b] = process.argv.slice(2);
const log = (l: string) => process.stderr.write(`${l}\n`);

if (mode === 'qemu-build') {
  const image = await buildImage({
    mirror: 'http://127.0.0.1:1/unused',
    cacheDir: a,
    arch: hostArch(),
    log,
    async steps(tmp) {
      await writeFile(join(tmp, 'vmlinuz'), 'kernel');
      await writeFile(join(tmp, 'disk.qcow2'), Buffer.alloc(1 << 20, 1));
      await pauseAt('qemu-image-half');
      await writeFile(join(tmp, 'initrd.img'), 'initrd');
    },
  });
  process.stdout.write(`${image.disk}\n`);
} else if (mode === 'rootfs') {
  await packRootfs(a, async (root) => {
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc', 'hostname'), 'machine\n');
    await pauseAt('rootfs-half');
    await writeFile(join(root, 'etc', 'machine-id'), '');
  });
  process.stdout.write(`${a}\n`);
} else if (mode === 'download') {
  process.stdout.write(`${await download({ url: a, dir: b, log })}\n`);
} else {
  throw new Error(`unknown mode ${mode}`);
}
