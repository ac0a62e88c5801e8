import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cpioNewc, loadOrder, makeInitrd } from './initrd.js';

const DEP = [
  'kernel/drivers/virtio/virtio.ko:',
  'kernel/drivers/virtio/virtio_ring.ko:',
  'kernel/drivers/virtio/virtio_pci_legacy_dev.ko:',
  'kernel/drivers/virtio/virtio_pci_modern_dev.ko:',
  'kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko',
  'kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko',
  'kernel/fs/isofs/isofs.ko.xz: kernel/drivers/cdrom/cdrom.ko.xz',
  '',
].join('\n');

test('modules load after what they need, each once', () => {
  const order = loadOrder(DEP, ['virtio_pci', 'virtio_blk']);
  assert.equal(new Set(order).size, order.length);
  assert.equal(order.length, 6);
  const at = (m: string) => order.findIndex((p) => p.endsWith(`/${m}.ko`));
  for (const dep of ['virtio', 'virtio_ring', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev']) {
    assert.ok(at(dep) < at('virtio_pci'), `${dep} before virtio_pci`);
  }
  assert.ok(at('virtio_ring') < at('virtio_blk'));
  assert.ok(at('virtio_pci') < at('virtio_blk'), 'in the order asked for when independent');
});

test('a missing or compressed module is an error naming it', () => {
  assert.throws(() => loadOrder(DEP, ['virtio_scsi']), /has no module virtio_scsi/);
  assert.throws(() => loadOrder(DEP, ['isofs']), /isofs\.ko\.xz is compressed/);
});

/** Reads a newc archive back: name → { mode, data, rdev }. */
function parseNewc(buf: Buffer): Map<string, { mode: number; data: Buffer; rdev: [number, number] }> {
  const out = new Map<string, { mode: number; data: Buffer; rdev: [number, number] }>();
  let off = 0;
  const align = (n: number) => (n + 3) & ~3;
  for (;;) {
    assert.equal(buf.toString('latin1', off, off + 6), '070701', `magic at ${off}`);
    const field = (i: number) =>
      Number.parseInt(buf.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const rdev: [number, number] = [field(9), field(10)];
    const nameSize = field(11);
    const name = buf.toString('latin1', off + 110, off + 110 + nameSize - 1);
    off = align(off + 110 + nameSize);
    const data = buf.subarray(off, off + size);
    off = align(off + size);
    if (name === 'TRAILER!!!') break;
    out.set(name, { mode, data, rdev });
  }
  assert.equal(off, buf.length, 'nothing after the trailer');
  return out;
}

test('the cpio archive holds each entry with its mode, device and data, 4-byte aligned', () => {
  const archive = cpioNewc([
    { name: 'bin', mode: 0o040755 },
    { name: 'dev/console', mode: 0o020600, rdev: [5, 1] },
    { name: 'init', mode: 0o100755, data: Buffer.from('#!/bin/sh\n') },
    { name: 'odd', mode: 0o100644, data: Buffer.from('abcde') },
  ]);
  const e = parseNewc(archive);
  assert.deepEqual([...e.keys()], ['bin', 'dev/console', 'init', 'odd']);
  assert.equal(e.get('bin')?.mode, 0o040755);
  assert.deepEqual(e.get('dev/console')?.rdev, [5, 1]);
  assert.equal(e.get('init')?.data.toString(), '#!/bin/sh\n');
  assert.equal(e.get('odd')?.data.toString(), 'abcde');
});

test('the initrd made from a modules folder carries busybox, /init and the modules in order', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'initrd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // isofs as the real kernel has it: uncompressed, with no dependencies.
  const dep = DEP.replace(/^kernel\/fs\/isofs\/isofs\.ko\.xz:.*$/m, 'kernel/fs/isofs/isofs.ko:');
  for (const line of dep.split('\n').filter((l) => /virtio|isofs/.test(l))) {
    const path = join(dir, line.slice(0, line.indexOf(':')));
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, `module ${path}`);
  }
  await writeFile(join(dir, 'modules.dep'), dep);
  await writeFile(join(dir, 'busybox'), 'not really busybox');
  const archive = await makeInitrd(dir, join(dir, 'busybox'));
  const e = parseNewc(archive);
  assert.equal(e.get('bin/busybox')?.data.toString(), 'not really busybox');
  assert.equal((e.get('init')?.mode ?? 0) & 0o777, 0o755);
  assert.match(e.get('init')?.data.toString() ?? '', /switch_root \/root \/sbin\/init/);
  const order = e.get('modules.order')?.data.toString().trim().split('\n') ?? [];
  assert.deepEqual(
    order,
    loadOrder(dep, ['virtio_pci', 'virtio_blk', 'isofs']).map((p) => p.split('/').pop()),
  );
  for (const m of order) assert.match(e.get(`modules/${m}`)?.data.toString() ?? '', new RegExp(m));

  // A real cpio reader agrees (busybox's, where the host has it).
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (busybox) {
    const out = join(dir, 'unpacked');
    await mkdir(out);
    await writeFile(join(dir, 'initrd.cpio'), archive);
    execFileSync(busybox, ['cpio', '-i', '-d', '-F', join(dir, 'initrd.cpio')], { cwd: out, stdio: 'pipe' });
    assert.equal(await readFile(join(out, 'bin/busybox'), 'utf8'), 'not really busybox');
    assert.equal((await stat(join(out, 'init'))).mode & 0o777, 0o755);
  }
});
