import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from './testhost.js';

/**
 * A busybox image as a tarball for `docker import`, made from Debian's busybox-static: no image
 * registry is reachable here.
 */
export function busyboxTarball(): string {
  const out = join(cacheDir(), 'busybox-rootfs.tar');
  if (existsSync(out)) return out;
  mkdirSync(cacheDir(), { recursive: true });
  const root = mkdtempSync(join(tmpdir(), 'dm-busybox-'));
  try {
    mkdirSync(join(root, 'bin'));
    execFileSync('cp', ['/bin/busybox', join(root, 'bin', 'busybox')]);
    for (const applet of ['sh', 'echo', 'sleep', 'cat', 'ls', 'hostname']) {
      execFileSync('ln', ['-s', 'busybox', join(root, 'bin', applet)]);
    }
    // Beside its final name, under this process's own: another test process may build it too.
    execFileSync('tar', ['-C', root, '-cf', `${out}.${process.pid}.tmp`, '.']);
    execFileSync('mv', [`${out}.${process.pid}.tmp`, out]);
    return out;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
