import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partialFile, removeLeftoversOfSync } from '../../src/cache/partial.js';
import { cacheDir } from './testhost.js';

/**
 * A busybox image as a tarball for `docker import`, made from Debian's busybox-static: no image
 * registry is reachable here.
 */
export function busyboxTarball(): string {
  const out = join(cacheDir(), 'busybox-rootfs.tar');
  removeLeftoversOfSync(out);
  if (existsSync(out)) return out;
  mkdirSync(cacheDir(), { recursive: true });
  const root = mkdtempSync(join(tmpdir(), 'dm-busybox-'));
  try {
    mkdirSync(join(root, 'bin'));
    execFileSync('cp', ['/bin/busybox', join(root, 'bin', 'busybox')]);
    for (const applet of ['sh', 'echo', 'sleep', 'cat', 'ls', 'hostname']) {
      execFileSync('ln', ['-s', 'busybox', join(root, 'bin', applet)]);
    }
    // Under a partial name of this process: parallel test files make it at the same time.
    const tmp = partialFile(out);
    try {
      execFileSync('tar', ['-C', root, '-cf', tmp, '.']);
      renameSync(tmp, out);
    } finally {
      rmSync(tmp, { force: true });
    }
    return out;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
