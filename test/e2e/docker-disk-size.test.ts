import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { onProcessEnd, sweepKilledDirs } from '../helpers/cleanup.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { cacheDir, type HostEngine, startHostEngine, testHostsAvailable } from '../helpers/testhost.js';

// --docker-disk-size on engines whose storage can bound a container's size, each with its data
// root on a loop-mounted file system image of the test's own: btrfs (quota groups), where the
// machine is made with a bounded file system; and overlay2 on xfs without pquota, which /info
// cannot tell from xfs with pquota, so that the container's create refuses. (xfs with pquota
// needs a kernel with XFS quota support, which these machines lack.) The common case, overlay2
// on ext4, refuses in the pre-create check: see docker-driver.test.ts.
function loopMountAvailable(): boolean {
  if (!testHostsAvailable()) return false;
  try {
    execFileSync(
      'sh',
      ['-c', 'command -v mkfs.xfs && command -v mkfs.btrfs && command -v losetup && losetup -f'],
      {
        stdio: 'ignore',
      },
    );
    return true;
  } catch {
    return false;
  }
}
const skip = loopMountAvailable()
  ? false
  : 'needs root, dockerd, debootstrap, mkfs.xfs (xfsprogs), mkfs.btrfs (btrfs-progs) and a free loop device';

const DIR_PREFIX = 'dm-disk-size-';

/** A 4 GB sparse file system image mounted at a folder of the test's own; removed at the end. */
async function loopMount(
  dir: string,
  name: string,
  fs: 'xfs' | 'btrfs',
  options: string[] = [],
): Promise<{ path: string; remove(): void }> {
  const image = join(dir, `${name}.img`);
  const path = join(dir, name);
  await mkdir(path);
  execFileSync('truncate', ['-s', '4G', image]);
  execFileSync(`mkfs.${fs}`, ['-q', image]);
  // A loop mount (autoclear): unmounting also frees the loop device.
  execFileSync('mount', ['-o', ['loop', ...options].join(','), image, path]);
  const remove = () => execFileSync('umount', [path], { stdio: 'ignore' });
  const forget = onProcessEnd(remove);
  return {
    path,
    remove() {
      forget();
      remove();
    },
  };
}

describe('--docker-disk-size where the storage driver can bound a container', {
  skip,
  timeout: 30 * 60_000,
}, () => {
  let dir: string;
  let s: CliStore;
  const engines: HostEngine[] = [];
  const mounts: { remove(): void }[] = [];

  /** An engine whose data root is on a file system of its own. */
  const engineOn = async (
    name: string,
    fs: 'xfs' | 'btrfs',
    options: string[],
    dockerdArgs: string[] = [],
  ) => {
    const m = await loopMount(dir, name, fs, options);
    mounts.push(m);
    const pool = `172.24.${Math.floor(Math.random() * 256)}.0/24`;
    const engine = await startHostEngine({
      dockerdArgs: [
        '--data-root',
        join(m.path, 'docker'),
        ...dockerdArgs,
        '--default-address-pool',
        `base=${pool},size=26`,
      ],
    });
    engines.push(engine);
    const dockerHost = `unix://${engine.dockerd.socket}`;
    // The engine removes its containers and networks before it stops (helpers/dockerd.ts).
    return { engine, dockerHost };
  };

  const leftovers = async (engine: HostEngine, name: string) =>
    [
      await engine.docker(['ps', '-aq', '--filter', `label=io.docker-machine.name=${name}`]),
      await engine.docker(['volume', 'ls', '-q', '--filter', `label=io.docker-machine.name=${name}`]),
    ]
      .join('')
      .trim();

  before(async () => {
    sweepKilledDirs(DIR_PREFIX);
    dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
    await writeFile(join(dir, 'owner'), String(process.pid));
    s = await tempStore();
    const shared = join(cacheDir(), 'docker-driver');
    await mkdir(shared, { recursive: true });
    await mkdir(join(s.dir, 'cache'), { recursive: true });
    await symlink(shared, join(s.dir, 'cache', 'docker-driver'));
  });

  after(async () => {
    for (const e of engines) await e.stop();
    for (const m of mounts) m.remove();
    await s?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test('btrfs: the machine is made, and its file system holds no more than that size', async () => {
    const { engine, dockerHost } = await engineOn('btrfs', 'btrfs', [], ['--storage-driver', 'btrfs']);
    const r = await s.run(
      ['create', '-d', 'docker', '--docker-host', dockerHost, '--docker-disk-size', '1G', 'sized'],
      {
        timeoutMs: 900_000,
      },
    );
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const config = JSON.parse(await readFile(join(s.dir, 'machines', 'sized', 'config.json'), 'utf8'));
    assert.equal(config.Driver.DiskSize, 1024);
    assert.equal(
      (
        await engine.docker(['inspect', '-f', '{{json .HostConfig.StorageOpt}}', config.Driver.ContainerID])
      ).trim(),
      '{"size":"1024M"}',
    );
    // btrfs bounds the whole root file system, the image's half a GB included: 100 MB more fit,
    // 600 MB more do not, and the write stops at the bound.
    const small = await s.run(['ssh', 'sized', 'head -c 100M /dev/zero > /root/small && echo written']);
    assert.deepEqual([small.code, small.stdout], [0, 'written\n'], small.stderr);
    const big = await s.run([
      'ssh',
      'sized',
      'head -c 600M /dev/zero > /root/big; echo "status $?"; stat -c %s /root/big',
    ]);
    const [status, size] = big.stdout.trim().split('\n');
    assert.notEqual(status, 'status 0', big.stdout);
    assert.ok(Number(size) < 1024 * 1024 * 1024 - 100 * 1024 * 1024, `wrote ${size} bytes`);
    // The machine's own engine is not bounded: its data is in the machine's volume.
    const info = await s.run(['ssh', 'sized', 'rm -f /root/big && docker info -f "{{.Driver}}"']);
    assert.equal(info.code, 0, info.stderr);
    const rmr = await s.run(['rm', '-y', 'sized'], { timeoutMs: 180_000 });
    assert.equal(rmr.code, 0, rmr.stderr);
    assert.equal(await leftovers(engine, 'sized'), '');
  });

  test('xfs without pquota: the create of the container refuses, saying what to do; rm -y removes what was made', async () => {
    const { engine, dockerHost } = await engineOn('xfs', 'xfs', ['noquota']);
    const r = await s.run(
      ['create', '-d', 'docker', '--docker-host', dockerHost, '--docker-disk-size', '1G', 'nosize'],
      {
        timeoutMs: 900_000,
      },
    );
    assert.equal(r.code, 1, r.stdout);
    assert.equal(
      r.stderr,
      `Error creating machine: Error in driver during machine creation: the Docker engine at ${dockerHost} cannot bound the container's size (--storage-opt is supported only for overlay over xfs with 'pquota' mount option); leave out --docker-disk-size, or mount the engine's data root with pquota\n`,
    );
    const rmr = await s.run(['rm', '-y', 'nosize'], { timeoutMs: 180_000 });
    assert.equal(rmr.code, 0, rmr.stderr);
    assert.equal(await leftovers(engine, 'nosize'), '');
    assert.equal((await s.run(['ls', '-q'])).stdout, '');
  });
});
