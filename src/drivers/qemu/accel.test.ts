import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MachineError } from '../../errors.js';
import { defaultBinary, findBinary } from './accel.js';

test('a missing qemu-system names the Debian package that holds it, for arm64 hosts too', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'dm-accel-'));
  const saved = process.env.PATH;
  process.env.PATH = empty;
  try {
    for (const [binary, pkg] of [
      ['qemu-system-x86_64', 'qemu-system-x86'],
      ['qemu-system-aarch64', 'qemu-system-arm'],
      ['qemu-system-riscv64', 'qemu-system'],
    ]) {
      await assert.rejects(findBinary(binary), (e: unknown) => {
        assert.ok(e instanceof MachineError);
        assert.equal(
          e.message,
          `${binary} is not installed (not found on PATH); install QEMU (Debian/Ubuntu: apt-get install ${pkg} qemu-utils; macOS: brew install qemu), or give --qemu-binary its path`,
        );
        return true;
      });
    }
    // The default binary is this computer's architecture's: its hint names the right package.
    await assert.rejects(
      findBinary(defaultBinary()),
      new RegExp(`apt-get install ${process.arch === 'arm64' ? 'qemu-system-arm' : 'qemu-system-x86'} `),
    );
  } finally {
    process.env.PATH = saved;
    await rm(empty, { recursive: true, force: true });
  }
});
