import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball } from '../helpers/busybox.js';
import { onProcessEnd } from '../helpers/cleanup.js';
import { type CliStore, cliShell, runProcess, tempStore } from '../helpers/cli.js';
import { cacheDir } from '../helpers/testhost.js';

// Real VMs under QEMU's software emulation (KVM does not work on these machines; the driver's
// probe finds that out), from the image the driver builds from Debian's mirror. Every VM is cut
// off from outside networks (--qemu-restrict) and reached through ports forwarded on 127.0.0.1.
const skip = (() => {
  if (process.getuid?.() !== 0) return 'needs root (debootstrap builds the image)';
  try {
    execFileSync(
      'sh',
      ['-c', 'command -v qemu-system-x86_64 && command -v qemu-img && command -v debootstrap'],
      {
        stdio: 'ignore',
      },
    );
  } catch {
    return 'needs qemu-system-x86, qemu-utils and debootstrap (npm test installs them)';
  }
  return process.arch === 'x64' ? false : 'the built image is x86_64 only';
})();

describe('create -d qemu: local VMs', { skip, timeout: 45 * 60_000 }, () => {
  let s: CliStore;
  const pids = new Set<number>();

  before(async () => {
    s = await tempStore();
    // The built base image outlives this store (the build takes minutes); nothing else is shared.
    const shared = join(cacheDir(), 'qemu', 'images');
    await mkdir(shared, { recursive: true });
    await mkdir(join(s.dir, 'cache', 'qemu'), { recursive: true });
    await symlink(shared, join(s.dir, 'cache', 'qemu', 'images'));
    // VMs run detached from the CLI: a test that dies must not leave them running.
    onProcessEnd(() => {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    });
  });

  after(async () => {
    for (const name of (await readdir(join(s.dir, 'machines')).catch(() => [] as string[])).filter(
      (n) => !n.startsWith('.'),
    )) {
      await s.run(['rm', '-f', '-y', name], { timeoutMs: 120_000 });
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await s?.cleanup();
  });

  // Boots under TCG take minutes when the other tests load both cores: a generous bound.
  const common = [
    '--qemu-image',
    'build',
    '--qemu-restrict',
    '--wait-timeout',
    '600',
    '--qemu-memory',
    '1024',
    '--qemu-cpu-count',
    '2',
  ];
  const create = (name: string, extra: string[] = []) =>
    s.run(['create', '-d', 'qemu', ...common, ...extra, name], { timeoutMs: 1_500_000 });

  const machineDir = (name: string) => join(s.dir, 'machines', name);
  const driverOf = async (name: string) =>
    JSON.parse(await readFile(join(machineDir(name), 'config.json'), 'utf8')).Driver;
  const pidOf = async (name: string): Promise<number | undefined> => {
    try {
      return Number((await readFile(join(machineDir(name), 'qemu.pid'), 'utf8')).trim());
    } catch {
      return undefined;
    }
  };
  /** A live process, not a zombie that its reaper has yet to collect (QEMU daemonizes). */
  const alive = (pid: number | undefined) => {
    if (!pid) return false;
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  const track = async (name: string) => {
    const pid = await pidOf(name);
    if (pid) pids.add(pid);
    return pid;
  };

  const withEnv = (name: string, script: string) =>
    runProcess('bash', ['-c', `eval "$(${cliShell} env ${name})" && ${script}`], {
      env: { MACHINE_STORAGE_PATH: s.dir, DOCKER_CONFIG: join(s.dir, 'docker-config') },
      timeoutMs: 180_000,
    });

  /** A QMP command sent as a test would: straight to the machine's monitor socket. */
  const qmp = async (name: string, command: string) => {
    const { QMPSession } = await import('../../src/drivers/qemu/qmp.js');
    const q = await QMPSession.open(join(machineDir(name), 'qmp.sock'));
    try {
      return await q.execute(command);
    } finally {
      q.close();
    }
  };

  test('create boots a VM from the built image and provisions its engine; env and ssh work', async () => {
    // Engine options reach dockerd through the seeded drop-in (its environment is root's to read).
    const r = await create('q1', [
      '--engine-env',
      'FOO=bar',
      '--engine-env',
      'SP=a b',
      '--engine-opt',
      'log-level=warn',
    ]);
    await track('q1');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const line of [
      'Running pre-create checks...',
      'Creating machine...',
      '(q1) Creating SSH key...',
      '(q1) Finding the machine image...',
      '(q1) Waiting for the VM to boot (SSH)...',
      'Provisioning with debian...',
      // The initrd put the seeded engine files in place: the engine started at boot.
      'Docker started at boot with the certificates and options the machine was seeded with',
      'Docker is up and running!',
    ]) {
      assert.ok(r.stdout.split('\n').includes(line), `missing "${line}" in:\n${r.stdout}`);
    }
    assert.equal((statSync(join(machineDir('q1'), 'seed.iso')).mode & 0o777).toString(8), '600');
    // The engine's files on the machine: the machine folder's, the key readable by root alone.
    const files = await s.run([
      'ssh',
      'q1',
      'sudo stat -c "%a %U %n" /etc/docker/server-key.pem /etc/docker/server.pem && sudo cat /etc/docker/server.pem',
    ]);
    assert.equal(files.code, 0, files.stderr);
    assert.ok(
      files.stdout.startsWith('600 root /etc/docker/server-key.pem\n644 root /etc/docker/server.pem\n'),
      files.stdout,
    );
    assert.ok(files.stdout.endsWith(readFileSync(join(machineDir('q1'), 'server.pem'), 'utf8')));
    const d = await driverOf('q1');
    assert.equal(d.AccelUsed, 'tcg', 'KVM does not run guests here: the probe must have chosen TCG');
    assert.equal((await s.run(['url', 'q1'])).stdout, `tcp://127.0.0.1:${d.EnginePort}\n`);
    assert.equal((await s.run(['status', 'q1'])).stdout, 'Running\n');

    const environ = await s.run(['ssh', 'q1', 'sudo cat /proc/$(pidof dockerd)/environ | base64 -w0']);
    assert.equal(environ.code, 0, environ.stderr);
    const vars = Buffer.from(environ.stdout, 'base64').toString().split('\0');
    assert.ok(vars.includes('FOO=bar') && vars.includes('SP=a b'), vars.join('\n'));
    const cmdline = await s.run(['ssh', 'q1', 'sudo cat /proc/$(pidof dockerd)/cmdline | base64 -w0']);
    assert.ok(Buffer.from(cmdline.stdout, 'base64').toString().split('\0').includes('--log-level=warn'));

    const uname = await s.run(['ssh', 'q1', '--', 'uname', '-r']);
    assert.equal(uname.code, 0, uname.stderr);
    assert.match(uname.stdout, /^\d+\.\d+\.\d+-\d+-cloud-amd64\n$/);
    const host = await s.run(['ssh', 'q1', 'hostname']);
    assert.equal(host.stdout, 'q1\n');

    const hello = await withEnv(
      'q1',
      `docker import ${busyboxTarball()} busybox >/dev/null && docker run --pull=never --rm busybox echo hello`,
    );
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(hello.stdout, 'hello\n');
    const ls = await s.run(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}} {{.DockerVersion}}']);
    assert.match(ls.stdout, /^q1 qemu Running v\d+\.\d+\.\d+/m);
  });

  test('pause shows as Paused and start resumes it', async () => {
    await qmp('q1', 'stop');
    assert.equal((await s.run(['status', 'q1'])).stdout, 'Paused\n');
    const r = await s.run(['start', 'q1'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await s.run(['status', 'q1'])).stdout, 'Running\n');
  });

  test('stop then start keeps a container and its data; kill then start works', async () => {
    const made = await withEnv(
      'q1',
      "docker run --pull=never --name keeper -v keep:/d busybox sh -c 'echo kept > /d/f' && docker ps -aq --filter name=keeper",
    );
    assert.equal(made.code, 0, made.stderr);
    // The seeded files go in at the first boot only: what the machine has since stays.
    const dropIn = '/etc/systemd/system/docker.service.d/10-machine.conf';
    const mark = await s.run(['ssh', 'q1', `echo '# kept' | sudo tee -a ${dropIn} >/dev/null`]);
    assert.equal(mark.code, 0, mark.stderr);
    const pid = await pidOf('q1');
    const stop = await s.run(['stop', 'q1'], { timeoutMs: 300_000 });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await s.run(['status', 'q1'])).stdout, 'Stopped\n');
    assert.equal(alive(pid), false, 'the QEMU process ended');

    const start = await s.run(['start', 'q1'], { timeoutMs: 600_000 });
    assert.equal(start.code, 0, `${start.stdout}\n${start.stderr}`);
    await track('q1');
    const kept = await withEnv(
      'q1',
      'docker ps -aq --filter name=keeper && docker run --pull=never --rm -v keep:/d busybox cat /d/f',
    );
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal(kept.stdout, `${made.stdout.trim().split('\n').pop()}\nkept\n`);
    const tailOf = await s.run(['ssh', 'q1', `tail -n 1 ${dropIn}`]);
    assert.equal(tailOf.stdout, '# kept\n', 'the second boot left the drop-in as it was');

    const kill = await s.run(['kill', 'q1'], { timeoutMs: 120_000 });
    assert.equal(kill.code, 0, kill.stderr);
    assert.equal((await s.run(['status', 'q1'])).stdout, 'Stopped\n');
    const again = await s.run(['start', 'q1'], { timeoutMs: 600_000 });
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    await track('q1');
    const after = await withEnv('q1', 'docker run --pull=never --rm -v keep:/d busybox cat /d/f');
    assert.equal(after.stdout, 'kept\n');
  });

  test('two VMs reach each other over the shared segment', async () => {
    const r = await create('q2');
    await track('q2');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const [a, b] = [await driverOf('q1'), await driverOf('q2')];
    const [ipA, ipB] = [a.SegmentAddress.split('/')[0], b.SegmentAddress.split('/')[0]];
    assert.notEqual(ipA, ipB);
    // q1 reads q2's SSH banner at q2's segment address, and the other way round.
    for (const [from, ip] of [
      ['q1', ipB],
      ['q2', ipA],
    ]) {
      const probe = await s.run([
        'ssh',
        from,
        `timeout 10 bash -c 'exec 3<>/dev/tcp/${ip}/22; head -c 7 <&3'`,
      ]);
      assert.equal(probe.code, 0, `${from} -> ${ip}: ${probe.stderr}`);
      assert.equal(probe.stdout, 'SSH-2.0');
    }
    // The engine's certificate names the segment address, so clients there can verify it.
    const { X509Certificate } = await import('node:crypto');
    const cert = new X509Certificate(await readFile(join(machineDir('q2'), 'server.pem')));
    assert.match(cert.subjectAltName ?? '', new RegExp(`IP Address:${ipB.replaceAll('.', '\\.')}(,|$)`));
  });

  test('rm removes the VM process and its files', async () => {
    const pid = await pidOf('q2');
    assert.ok(alive(pid));
    const r = await s.run(['rm', '-y', 'q2'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(alive(pid), false, 'the QEMU process is gone');
    assert.equal(existsSync(machineDir('q2')), false);
    const members = await readdir(join(s.dir, 'cache', 'qemu', 'segment', 'members')).catch(() => []);
    assert.ok(!members.some((m) => m.startsWith('q2')), `q2 left the segment: ${members}`);
  });

  test('a boot that never reaches SSH fails within the timeout with the console, and rm leaves nothing', async () => {
    // A disk whose boot sector prints a line on the serial port and halts: firmware boots it,
    // nothing ever answers SSH.
    // Interrupts go off first: SeaBIOS mirrors its screen to the serial port from a timer
    // interrupt, and its late '.' and newline once landed in the middle of this line.
    const msg = Buffer.from('no operating system on this disk\r\n\0', 'latin1');
    const codeLength = 22;
    const at = 0x7c00 + codeLength;
    const code = Buffer.from([
      0xfa, // cli
      ...[0x31, 0xc0, 0x8e, 0xd8], // xor ax,ax; mov ds,ax
      ...[0xbe, at & 0xff, at >> 8], // mov si, msg
      ...[0xba, 0xf8, 0x03], // mov dx, 0x3f8 (COM1)
      ...[0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8], // print until NUL
      ...[0xf4, 0xeb, 0xfd], // hlt forever
    ]);
    assert.equal(code.length, codeLength);
    const disk = Buffer.alloc(1024 * 1024);
    Buffer.concat([code, msg]).copy(disk);
    disk[510] = 0x55;
    disk[511] = 0xaa;
    const image = join(s.dir, 'no-os.img');
    await writeFile(image, disk);
    const r = await s.run(
      ['create', '-d', 'qemu', ...common, '--qemu-image', image, '--wait-timeout', '20', 'slow'],
      {
        timeoutMs: 300_000,
      },
    );
    const pid = await track('slow');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Waited \d+ s for the VM to boot to SSH/);
    assert.match(r.stderr, /the console's last lines/);
    assert.match(r.stderr, /no operating system on this disk/, 'the console lines are shown');
    const rm = await s.run(['rm', '-y', 'slow'], { timeoutMs: 120_000 });
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(alive(pid), false);
    assert.equal(existsSync(machineDir('slow')), false);
  });

  test('--engine-endpoint ssh: QEMU forwards SSH only; url, ls and docker through env go over SSH', async () => {
    const sshConfig = join(userInfo().homedir, '.ssh', 'config');
    const sshDirBefore = existsSync(dirname(sshConfig));
    const userConfig = () => (existsSync(sshConfig) ? readFileSync(sshConfig, 'utf8') : undefined);
    const before = userConfig();
    try {
      const r = await create('qs', ['--engine-endpoint', 'ssh']);
      const pid = await track('qs');
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const d = await driverOf('qs');
      assert.equal(d.EnginePort, 0);
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const net = args.find((a) => a.startsWith('user,id=net0'));
      assert.equal(net, `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${d.SSHPort}-:22`);
      const url = `ssh://docker@127.0.0.1:${d.SSHPort}`;
      assert.equal((await s.run(['url', 'qs'])).stdout, `${url}\n`);
      const ls = await s.run([
        'ls',
        '--filter',
        'name=qs',
        '--format',
        '{{.Name}} {{.State}} {{.URL}} {{.DockerVersion}}',
      ]);
      assert.match(ls.stdout, new RegExp(`^qs Running ${url} v\\d+\\.\\d+\\.\\d+`));
      const hello = await withEnv(
        'qs',
        `docker import ${busyboxTarball()} busybox >/dev/null && docker run --pull=never --rm busybox echo hello`,
      );
      assert.equal(hello.code, 0, hello.stderr);
      assert.equal(hello.stdout, 'hello\n');
      const rm = await s.run(['rm', '-y', 'qs'], { timeoutMs: 120_000 });
      assert.equal(rm.code, 0, rm.stderr);
      assert.equal(userConfig(), before);
    } finally {
      if (!sshDirBefore && existsSync(dirname(sshConfig)) && readdirSync(dirname(sshConfig)).length === 0)
        rmdirSync(dirname(sshConfig));
    }
  });

  test('bad input: missing image, corrupt image, no qemu, a port in use', async () => {
    const missing = await create('bad1', ['--qemu-image', '/nonexistent/disk.qcow2']);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /--qemu-image \/nonexistent\/disk.qcow2: no such file/);
    assert.equal(existsSync(machineDir('bad1')), false);

    const corrupt = join(s.dir, 'corrupt.qcow2');
    // A qcow2 header with nothing behind it: qemu-img cannot read it.
    await writeFile(
      corrupt,
      Buffer.concat([Buffer.from('QFI\xfb\x00\x00\x00\x03', 'latin1'), Buffer.alloc(64, 0xff)]),
    );
    const bad = await create('bad2', ['--qemu-image', corrupt]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /corrupt\.qcow2/);
    assert.equal(bad.stderr.trim().split('\n').length <= 2, true, bad.stderr);
    const rm = await s.run(['rm', '-y', 'bad2']);
    assert.equal(rm.code, 0, rm.stderr);

    const noQemu = await s.run(['create', '-d', 'qemu', ...common, 'bad3'], {
      env: { PATH: '/nonexistent' },
    });
    assert.equal(noQemu.code, 3);
    assert.match(noQemu.stderr, /qemu-system-x86_64 is not installed/);

    const busy: Server = createServer();
    await new Promise<void>((res) => busy.listen(0, '127.0.0.1', () => res()));
    const port = (busy.address() as { port: number }).port;
    try {
      const taken = await create('bad4', ['--qemu-ssh-port', String(port)]);
      assert.equal(taken.code, 3);
      assert.match(taken.stderr, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
      assert.equal(existsSync(machineDir('bad4')), false);
    } finally {
      busy.close();
    }
  });
});
