import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { onProcessEnd } from '../helpers/cleanup.js';
import { type CliStore, cliCommand, runCLI, runProcess, tempStore } from '../helpers/cli.js';
import { genericCreateArgs, type HostRig, startHostRig } from '../helpers/generic-rig.js';
import { type TestHost, testHostsAvailable } from '../helpers/testhost.js';

// Two real Debian hosts (systemd, sshd, docker.io, rsync) in containers on an engine of the
// test's own. Each is reached only through its port published on 127.0.0.1, so from inside one
// host the other is unreachable: a machine-to-machine copy works only through this computer.
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

const NOT_EXIST = (name: string) =>
  `Docker machine "${name}" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.\n`;

describe('scp and mount against machines on real Debian hosts', { skip, timeout: 15 * 60_000 }, () => {
  let s: CliStore;
  let rig: HostRig;
  let hostA: TestHost;
  let hostB: TestHost;
  let work: string;
  let key: string;

  before(async () => {
    rig = await startHostRig({ prefix: 'scp', withDocker: true, count: 2 });
    ({ work, key } = rig);
    [hostA, hostB] = rig.hosts;
    s = await tempStore();
    for (const [name, host] of [
      ['gen-a', hostA],
      ['gen-b', hostB],
    ] as const) {
      const r = await s.run(genericCreateArgs(host, key, name), { timeoutMs: 300_000 });
      assert.equal(r.code, 0, `create ${name}:\n${r.stdout}\n${r.stderr}`);
    }
    // A machine whose host is down: its SSH port has no listener (create fails and leaves it).
    const down = await s.run([
      'create',
      '-d',
      'generic',
      '--generic-ip-address',
      '127.0.0.1',
      '--generic-ssh-port',
      '1',
      '--wait-timeout',
      '1',
      'down',
    ]);
    assert.equal(down.code, 1, down.stderr);
  });

  after(async () => {
    await rig?.stop();
    await s?.cleanup();
  });

  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
  /** Bytes the host's network interface has received (all of it our SSH traffic). */
  const rxBytes = async (host: TestHost) =>
    Number((await host.exec('cat /sys/class/net/eth0/statistics/rx_bytes')).trim());

  test('a file to the machine and back, with user@machine: too', async () => {
    const content = `hello ${randomBytes(8).toString('hex')}\n`;
    const local = join(work, 'f.txt');
    await writeFile(local, content);
    const up = await s.run(['scp', local, 'gen-a:/root/f.txt']);
    assert.deepEqual([up.code, up.stdout, up.stderr], [0, '', '']);
    assert.equal(await hostA.exec('cat /root/f.txt'), content);
    const back = join(work, 'back.txt');
    const down = await s.run(['scp', 'root@gen-a:/root/f.txt', back]);
    assert.deepEqual([down.code, down.stdout, down.stderr], [0, '', '']);
    assert.equal(await readFile(back, 'utf8'), content);
    // localhost: is a local path, as in the original.
    const copy = join(work, 'copy.txt');
    const loc = await s.run(['scp', 'gen-a:/root/f.txt', `localhost:${copy}`]);
    assert.equal(loc.code, 0, loc.stderr);
    assert.equal(await readFile(copy, 'utf8'), content);
  });

  test('a directory needs -r; with it the tree arrives', async () => {
    const dir = join(work, 'tree');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'one.txt'), 'one\n');
    await writeFile(join(dir, 'sub', 'two.txt'), 'two\n');
    const noR = await s.run(['scp', dir, 'gen-a:/root/tree']);
    assert.deepEqual(
      [noR.code, noR.stderr],
      [1, `Error: Cannot copy "${dir}": it is a directory; use -r to copy directories\n`],
    );
    const r = await s.run(['scp', '-r', dir, 'gen-a:/root/tree']);
    assert.deepEqual([r.code, r.stderr], [0, '']);
    assert.equal(
      await hostA.exec('cd /root/tree && find . -type f | sort | xargs cat'),
      'one\ntwo\n',
      'one.txt then sub/two.txt',
    );
    // A machine directory without -r: scp's own message and exit status.
    const remoteNoR = await s.run(['scp', 'gen-a:/root/tree', join(work, 'tree-back')]);
    assert.equal(remoteNoR.code, 1);
    assert.match(remoteNoR.stderr, /not a regular file/);
    const back = await s.run(['scp', '-r', 'gen-a:/root/tree', join(work, 'tree-back')]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(await readFile(join(work, 'tree-back', 'sub', 'two.txt'), 'utf8'), 'two\n');
  });

  test('--delta sends only the changes of a large file the second time', async (t) => {
    const big = join(work, 'big.bin');
    const size = 8 * 1024 * 1024;
    await writeFile(big, randomBytes(size));
    let rx = await rxBytes(hostA);
    const first = await s.run(['scp', '-d', big, 'gen-a:/root/big.bin'], { timeoutMs: 120_000 });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /100%/, 'rsync --progress unless -q');
    const firstRx = (await rxBytes(hostA)) - rx;
    assert.ok(firstRx > size, `the whole file went over the network the first time (${firstRx} bytes)`);
    assert.equal((await hostA.exec('sha256sum /root/big.bin')).split(' ')[0], sha256(await readFile(big)));

    // Change 4 KiB in the middle: rsync sends those blocks, not the file.
    const fh = await open(big, 'r+');
    await fh.write(randomBytes(4096), 0, 4096, size / 2);
    await fh.close();
    rx = await rxBytes(hostA);
    const second = await s.run(['scp', '--delta', '-q', big, 'gen-a:/root/big.bin'], { timeoutMs: 120_000 });
    assert.deepEqual([second.code, second.stdout, second.stderr], [0, '', '']);
    const secondRx = (await rxBytes(hostA)) - rx;
    t.diagnostic(`bytes received by the host: first copy ${firstRx}, second copy ${secondRx}`);
    assert.ok(secondRx < size / 8, `only the differences went over the network (${secondRx} bytes)`);
    assert.equal((await hostA.exec('sha256sum /root/big.bin')).split(' ')[0], sha256(await readFile(big)));
  });

  test('machine to machine through this computer (the hosts cannot reach each other)', async () => {
    const content = `between ${randomBytes(8).toString('hex')}\n`;
    await hostA.exec(`printf '%s' '${content}' > /root/m2m.txt`);
    const probe = `timeout 3 bash -c '</dev/tcp/127.0.0.1/${hostB.sshPort}' 2>/dev/null && echo open || echo closed`;
    assert.equal(await hostA.exec(probe), 'closed\n', "host B's published port is not reachable from host A");
    const r = await s.run(['scp', 'gen-a:/root/m2m.txt', 'gen-b:/root/m2m.txt']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
    assert.equal(await hostB.exec('cat /root/m2m.txt'), content);
    const delta = await s.run(['scp', '-d', 'gen-a:/root/m2m.txt', 'gen-b:/root/m2m.txt']);
    assert.deepEqual(
      [delta.code, delta.stderr],
      [
        1,
        'Error: --delta cannot copy from one machine to another (rsync needs one local side); copy without --delta, or through a local directory\n',
      ],
    );
  });

  test('-q hides the progress meter that scp shows on a terminal', async () => {
    const local = join(work, 'meter.bin');
    await writeFile(local, randomBytes(256 * 1024));
    // `script` gives the CLI (and the scp it runs) a terminal, where scp draws its meter.
    const onTerminal = (args: string[]) =>
      runProcess('script', ['-qec', [...cliCommand, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], {
        env: { MACHINE_STORAGE_PATH: s.dir },
      });
    const loud = await onTerminal(['scp', local, 'gen-a:/root/meter.bin']);
    assert.equal(loud.code, 0, loud.stdout);
    assert.match(loud.stdout, /meter\.bin\s+100%/);
    const quiet = await onTerminal(['scp', '-q', local, 'gen-a:/root/meter2.bin']);
    assert.equal(quiet.code, 0, quiet.stdout);
    assert.equal(quiet.stdout, '');
    assert.equal(await hostA.exec('cmp /root/meter.bin /root/meter2.bin && echo same'), 'same\n');
  });

  test('errors: unknown and stopped machines, a missing local file, wrong argument counts', async () => {
    const local = join(work, 'e.txt');
    await writeFile(local, 'e\n');
    const unknown = await s.run(['scp', local, 'nope:/tmp/x']);
    assert.deepEqual([unknown.code, unknown.stderr], [1, NOT_EXIST('nope')]);
    const stopped = await s.run(['scp', local, 'down:/tmp/x']);
    assert.deepEqual(
      [stopped.code, stopped.stderr],
      [1, 'Error: Cannot copy: Host "down" is not running (state Stopped); start it, then retry\n'],
    );
    const none = await s.run(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'nodrv']);
    assert.equal(none.code, 0, none.stderr);
    const noSSH = await s.run(['scp', local, 'nodrv:/tmp/x']);
    assert.deepEqual(
      [noSSH.code, noSSH.stderr],
      [1, 'Error: Cannot copy: machine "nodrv" (driver none) has no SSH access\n'],
    );
    assert.equal((await s.run(['rm', '-y', 'nodrv'])).code, 0);
    const missing = await s.run(['scp', join(work, 'nonexistent'), 'gen-a:/tmp/x']);
    assert.deepEqual(
      [missing.code, missing.stderr],
      [1, `Error: Cannot copy "${join(work, 'nonexistent')}": no such file or directory\n`],
    );
    // A missing file on the machine: the tool's message and its own exit status (rsync: 23).
    const remoteMissing = await s.run(['scp', 'gen-a:/root/nonexistent', join(work, 'x')]);
    assert.equal(remoteMissing.code, 1);
    assert.match(remoteMissing.stderr, /No such file or directory/);
    const rsyncMissing = await s.run(['scp', '-d', '-q', 'gen-a:/root/nonexistent', join(work, 'x')]);
    assert.equal(rsyncMissing.code, 23, rsyncMissing.stderr);
    for (const args of [
      ['scp', local],
      ['scp', local, 'gen-a:/x', 'gen-b:/y'],
      ['mount'],
      ['mount', 'a', 'b', 'c'],
    ]) {
      const r = await s.run(args);
      assert.deepEqual([r.code, r.stderr], [1, 'Improper number of arguments\n'], args.join(' '));
      assert.match(
        r.stdout,
        new RegExp(`^Usage: docker-machine ${args[0]} \\[OPTIONS\\] \\[arg\\.\\.\\.\\]\n`),
      );
    }
    const help = await s.run(['scp', '--help']);
    assert.match(help.stdout, /through this computer\n.*\(scp -3\): the two need not reach each other\n/);
  });

  test('without scp, rsync or sshfs on PATH: a line that names what to install', async () => {
    const bin = join(work, 'bin-ssh-only');
    await mkdir(bin, { recursive: true });
    await symlink('/usr/bin/ssh', join(bin, 'ssh')).catch(() => {});
    const env = { PATH: bin };
    const local = join(work, 'e.txt');
    await writeFile(local, 'e\n');
    const cases: [string[], string][] = [
      [
        ['scp', local, 'gen-a:/tmp/x'],
        'You must have a copy of the scp binary locally to use the scp feature (install the openssh-client package)\n',
      ],
      [
        ['scp', '-d', local, 'gen-a:/tmp/x'],
        'You must have a copy of the rsync binary locally to use the --delta option (install the rsync package)\n',
      ],
      [
        ['mount', 'gen-a:/root', join(work, 'mnt-none')],
        'You must have a copy of the sshfs binary locally to use the mount feature (install the sshfs package, e.g. apt-get install sshfs)\n',
      ],
    ];
    for (const [args, want] of cases) {
      const r = await s.run(args, { env });
      assert.deepEqual([r.code, r.stderr], [1, want], args.join(' '));
    }
  });

  test('mount a machine directory, read what the host wrote, write back, unmount', async (t) => {
    const reason = fuseUnavailable();
    if (reason) return skipMount(t, reason);
    // The same path on both sides: with no mount point given, mount uses the machine's path.
    const dir = await mkdtemp(join(tmpdir(), 'dm-mount-'));
    const forget = onProcessEnd(() => unmountQuietly(dir));
    try {
      await hostA.exec(`mkdir -p ${dir} && echo 'written on the host' > ${dir}/hello.txt`);
      const m = await s.run(['mount', `gen-a:${dir}`], { timeoutMs: 60_000 });
      if (
        m.code !== 0 &&
        /fuse: (device not found|failed to open \/dev\/fuse)|Operation not permitted/.test(m.stderr)
      ) {
        return skipMount(t, `FUSE refused the mount here: ${m.stderr.trim()}`);
      }
      assert.deepEqual([m.code, m.stdout, m.stderr], [0, '', '']);
      assert.ok(mounted(dir), `${dir} is a fuse.sshfs mount`);
      assert.equal(await readFile(join(dir, 'hello.txt'), 'utf8'), 'written on the host\n');
      await writeFile(join(dir, 'reply.txt'), 'written through the mount\n');
      assert.equal(await hostA.exec(`cat ${dir}/reply.txt`), 'written through the mount\n');
      const u = await s.run(['mount', '-u', `gen-a:${dir}`]);
      assert.deepEqual([u.code, u.stdout, u.stderr], [0, '', '']);
      assert.ok(!mounted(dir), 'unmounted');
      assert.ok(!existsSync(join(dir, 'hello.txt')), 'the local directory is empty again');

      // user@machine: and an explicit mount point, for mounting and for unmounting.
      const mnt = await mkdtemp(join(tmpdir(), 'dm-mnt-'));
      const forgetMnt = onProcessEnd(() => unmountQuietly(mnt));
      try {
        const m2 = await s.run(['mount', `root@gen-a:${dir}`, mnt], { timeoutMs: 60_000 });
        assert.deepEqual([m2.code, m2.stderr], [0, '']);
        assert.equal(await readFile(join(mnt, 'reply.txt'), 'utf8'), 'written through the mount\n');
        const u2 = await s.run(['mount', '-u', `gen-a:${dir}`, mnt]);
        assert.deepEqual([u2.code, u2.stderr], [0, '']);
        assert.ok(!mounted(mnt));
      } finally {
        unmountQuietly(mnt);
        forgetMnt();
        await rm(mnt, { recursive: true, force: true });
      }
    } finally {
      unmountQuietly(dir);
      forget();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('mount errors: unknown or stopped machine, missing mount point, sshfs failing', async () => {
    const mnt = await mkdtemp(join(tmpdir(), 'dm-mnt-'));
    try {
      const unknown = await s.run(['mount', 'nope:/root', mnt]);
      assert.deepEqual([unknown.code, unknown.stderr], [1, NOT_EXIST('nope')]);
      const unknownU = await s.run(['mount', '-u', 'nope:/root', mnt]);
      assert.deepEqual([unknownU.code, unknownU.stderr], [1, NOT_EXIST('nope')]);
      const stopped = await s.run(['mount', 'down:/root', mnt]);
      assert.deepEqual(
        [stopped.code, stopped.stderr],
        [1, 'Error: Cannot mount: Host "down" is not running (state Stopped); start it, then retry\n'],
      );
      // -u does not need the machine running: it goes straight to fusermount (here: nothing mounted).
      const staleU = await s.run(['mount', '-u', 'down:/root', mnt]);
      assert.equal(staleU.code, 1);
      assert.equal(staleU.stderr, `fusermount: failed to unmount ${mnt}: Invalid argument\n`);
      const noDefault = await s.run(['mount', '/root', mnt]);
      assert.deepEqual([noDefault.code, noDefault.stderr], [1, NOT_EXIST('default')]);
      const where = join(work, 'no-such-dir');
      const noPoint = await s.run(['mount', 'gen-a:/root', where]);
      assert.deepEqual(
        [noPoint.code, noPoint.stderr],
        [
          1,
          `Error: mount point "${where}" is not a directory: create it (mkdir -p ${where}) or name another as the second argument\n`,
        ],
      );
      if (!fuseUnavailable()) {
        // sshfs's own message and exit status when the machine's directory does not exist.
        const gone = await s.run(['mount', 'gen-a:/nonexistent', mnt], { timeoutMs: 60_000 });
        unmountQuietly(mnt);
        assert.notEqual(gone.code, 0);
        assert.match(gone.stderr, /No such file or directory/);
      }
    } finally {
      await rm(mnt, { recursive: true, force: true });
    }
  });

  test('a store path with a space and a comma: scp, --delta and mount find the key and known_hosts', async (t) => {
    // ssh splits option values at spaces, FUSE splits -o at commas.
    const store = await mkdtemp(join(tmpdir(), 'dm store, x-'));
    // The same name as host B's machine in the main store: re-provisioning under another name
    // would rename the host, and sed -i cannot replace the /etc/hosts a container has bind-mounted.
    const run = (args: string[]) =>
      runCLI(args, { env: { MACHINE_STORAGE_PATH: store }, timeoutMs: 300_000 });
    try {
      const c = await run(genericCreateArgs(hostB, key, 'gen-b'));
      assert.equal(c.code, 0, `${c.stdout}\n${c.stderr}`);
      const local = join(work, 'spaced.txt');
      await writeFile(local, 'spaced store\n');
      for (const args of [
        ['scp', local, 'gen-b:/root/spaced.txt'],
        ['scp', '-d', '-q', local, 'gen-b:/root/spaced-delta.txt'],
      ]) {
        const r = await run(args);
        assert.deepEqual([r.code, r.stderr], [0, ''], args.join(' '));
      }
      assert.equal(
        await hostB.exec('cat /root/spaced.txt /root/spaced-delta.txt'),
        'spaced store\nspaced store\n',
      );
      const reason = fuseUnavailable();
      if (reason) return skipMount(t, reason);
      const mnt = await mkdtemp(join(tmpdir(), 'dm-mnt-'));
      const forget = onProcessEnd(() => unmountQuietly(mnt));
      try {
        const m = await run(['mount', 'gen-b:/root', mnt]);
        assert.deepEqual([m.code, m.stderr], [0, '']);
        assert.equal(await readFile(join(mnt, 'spaced.txt'), 'utf8'), 'spaced store\n');
        assert.equal((await run(['mount', '-u', 'gen-b:/root', mnt])).code, 0);
        assert.ok(!mounted(mnt));
      } finally {
        unmountQuietly(mnt);
        forget();
        await rm(mnt, { recursive: true, force: true });
      }
    } finally {
      await run(['rm', '-y', 'gen-b']);
      await rm(store, { recursive: true, force: true });
    }
  });

  test('rm of the machines leaves the hosts running', async () => {
    for (const n of ['gen-a', 'gen-b', 'down']) {
      const r = await s.run(['rm', '-y', n]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await hostA.exec('systemctl is-active ssh')).trim(), 'active');
  });
});

function fuseUnavailable(): string | undefined {
  if (!existsSync('/dev/fuse')) return '/dev/fuse does not exist (no FUSE device in this container)';
  for (const b of ['sshfs', 'fusermount']) {
    try {
      execFileSync('sh', ['-c', `command -v ${b}`], { stdio: 'ignore' });
    } catch {
      return `${b} is not installed (apt-get install sshfs)`;
    }
  }
  return undefined;
}

function skipMount(t: TestContext, reason: string): void {
  t.diagnostic(`skipping the FUSE mount: ${reason}`);
  t.skip(reason);
}

function mounted(dir: string): boolean {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === dir && l.split(' ')[2] === 'fuse.sshfs');
}

function unmountQuietly(dir: string): void {
  if (!mounted(dir)) return;
  try {
    execFileSync('fusermount', ['-u', '-z', dir], { stdio: 'ignore' });
  } catch {}
}
