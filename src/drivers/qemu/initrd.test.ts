import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { APPLY_SEED, cpioNewc, loadOrder, makeInitrd } from './initrd.js';
import { seedFiles } from './seed.js';

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

const hostBusybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));

test('the initrd applies the seed: hostname, segment address, first-boot engine files', {
  skip: hostBusybox ? false : 'needs busybox',
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'initrd-seed-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const seed = join(dir, 'seed');
  const root = join(dir, 'root');
  await mkdir(seed);
  await mkdir(join(root, 'etc/systemd/network'), { recursive: true });
  await writeFile(join(root, 'etc/hostname'), 'debian\n');
  const files = seedFiles({
    hostname: 'm-1.example',
    user: 'docker',
    publicKey: 'ssh-ed25519 AAAA test',
    instanceId: 'i-1',
    segment: { address: '10.251.0.7/24', mac: '52:54:00:FB:00:07' },
  });
  for (const [name, text] of Object.entries(files)) await writeFile(join(seed, name), text);
  await writeFile(join(seed, 'engine-1'), 'KEY\n');
  await writeFile(join(seed, 'engine-2'), '[Service]\n');
  await writeFile(
    join(seed, 'engine-files'),
    'engine-1 600 /etc/docker/server-key.pem\nengine-2 644 /etc/systemd/system/docker.service.d/10-machine.conf\nengine-1 644 /usr/bin/elsewhere\n',
  );
  const apply = () =>
    execFileSync(
      hostBusybox as string,
      ['sh', '-c', `b=${hostBusybox}; s=$1 r=$2\n${APPLY_SEED}`, 'sh', seed, root],
      {
        stdio: 'pipe',
      },
    );
  apply();
  assert.equal(await readFile(join(root, 'etc/hostname'), 'utf8'), 'm-1.example\n');
  assert.equal(
    await readFile(join(root, 'etc/systemd/network/10-machine-segment.network'), 'utf8'),
    '[Match]\nMACAddress=52:54:00:fb:00:07\n\n[Link]\nRequiredForOnline=no\n\n[Network]\nAddress=10.251.0.7/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n',
  );
  const key = join(root, 'etc/docker/server-key.pem');
  assert.equal(await readFile(key, 'utf8'), 'KEY\n');
  assert.equal((await stat(key)).mode & 0o777, 0o600);
  assert.equal((await stat(join(root, 'etc/docker'))).mode & 0o777, 0o755, 'folders as usual');
  const dropIn = join(root, 'etc/systemd/system/docker.service.d/10-machine.conf');
  assert.equal((await stat(dropIn)).mode & 0o777, 0o644);
  assert.ok(!existsSync(join(root, 'usr/bin/elsewhere')), 'only paths in /etc');

  // A later boot keeps what the machine has since, and a seed without a segment drops its file.
  await writeFile(dropIn, '[Service]\n# changed\n');
  await writeFile(
    join(seed, 'meta-data'),
    seedFiles({
      ...{ hostname: 'm-1', user: 'docker', publicKey: 'ssh-ed25519 AAAA test', instanceId: 'i-1' },
    })['meta-data'],
  );
  apply();
  assert.equal(await readFile(dropIn, 'utf8'), '[Service]\n# changed\n');
  assert.equal(await readFile(join(root, 'etc/hostname'), 'utf8'), 'm-1\n');
  assert.ok(!existsSync(join(root, 'etc/systemd/network/10-machine-segment.network')));
});
