import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MachineError } from '../../errors.js';
import { findSum, parseChecksum } from './download.js';
import { requireTool } from './host-tool.js';
import { ensureBootImage } from './image.js';

const oneLine = (re: RegExp) => (e: unknown) =>
  e instanceof MachineError && !e.message.includes('\n') && re.test(e.message);

test('--qemu-image-checksum takes sha256:HEX or sha512:HEX of the right length', () => {
  const h256 = 'A'.repeat(64);
  assert.deepEqual(parseChecksum(`sha256:${h256}`), { algorithm: 'sha256', hex: 'a'.repeat(64) });
  assert.deepEqual(parseChecksum(` sha512:${'0'.repeat(128)} `), {
    algorithm: 'sha512',
    hex: '0'.repeat(128),
  });
  for (const bad of [
    `md5:${'0'.repeat(32)}`,
    `sha256:${'0'.repeat(63)}`,
    `sha512:${h256}`,
    h256,
    'sha256:xyz',
  ]) {
    assert.throws(() => parseChecksum(bad), oneLine(/is not sha256:HEX .* or sha512:HEX/), bad);
  }
});

test('a SHA*SUMS file gives the line of the file, in GNU or BSD form, and nothing for others', () => {
  const a = 'a'.repeat(128);
  const b = 'b'.repeat(128);
  const sums = `${a}  debian-12-genericcloud-amd64.qcow2\n${b} *debian-12-genericcloud-arm64.qcow2\n`;
  assert.equal(findSum(sums, 'debian-12-genericcloud-amd64.qcow2', 128), a);
  assert.equal(findSum(sums, 'debian-12-genericcloud-arm64.qcow2', 128), b);
  assert.equal(findSum(sums, 'debian-12-genericcloud-amd64.raw', 128), undefined);
  // A SHA256SUMS line is not taken for a sha512 one.
  assert.equal(findSum(`${'c'.repeat(64)}  x.qcow2\n`, 'x.qcow2', 128), undefined);
  assert.equal(findSum(`SHA512 (x.qcow2) = ${a.toUpperCase()}\n`, 'x.qcow2', 128), a);
});

test('a missing tool is named with the Debian package that has it', () => {
  assert.throws(
    () => requireTool('no-such-tool-for-qemu', 'some-package', 'the machine needs it'),
    oneLine(
      /^no-such-tool-for-qemu is not installed, and the machine needs it: install it \(apt-get install some-package\)$/,
    ),
  );
});

test('building the image without root says so, before anything is made', async () => {
  const cache = await mkdtemp(join(tmpdir(), 'dm-qemu-cache-'));
  const getuid = process.getuid;
  process.getuid = () => 1000;
  try {
    await assert.rejects(
      ensureBootImage({ image: 'build', mirror: '', cacheDir: cache, log: () => {} }),
      oneLine(/^building the machine image needs root \(debootstrap\): run this create once as root/),
    );
    assert.deepEqual(await readdir(cache), []);
  } finally {
    process.getuid = getuid;
    await rm(cache, { recursive: true, force: true });
  }
});

test('a URL of another scheme is refused', async () => {
  await assert.rejects(
    ensureBootImage({
      image: 'ftp://example.invalid/x.qcow2',
      mirror: '',
      cacheDir: '/nonexistent',
      log: () => {},
    }),
    oneLine(/^--qemu-image ftp:\/\/example\.invalid\/x\.qcow2: only http and https URLs can be downloaded/),
  );
});
