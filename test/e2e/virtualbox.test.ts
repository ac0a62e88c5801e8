import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildImage, cmdline, DEFAULT_MIRROR } from '../../src/drivers/qemu/build.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { onProcessEnd } from '../helpers/cleanup.js';
import { binPath, type CliStore, repoRoot, runProcess, tempStore } from '../helpers/cli.js';
import { killAt } from '../helpers/kill-at.js';
import { cacheDir } from '../helpers/testhost.js';

// VirtualBox does not install here: the driver runs against a fake VBoxManage
// (test/fakes/virtualbox) that keeps VirtualBox's state in a file and answers as VirtualBox 7
// does, and whose startvm boots the disk and seed the driver attached with QEMU (software
// emulation), the NAT rules as forwards on 127.0.0.1. So the image conversion, the seed, the
// forwards and the engine are real; VirtualBox itself is not.
const skip = (() => {
  if (process.getuid?.() !== 0) return 'needs root (debootstrap builds the image)';
  try {
    execFileSync(
      'sh',
      [
        '-c',
        'command -v qemu-system-x86_64 && command -v qemu-img && command -v debootstrap && command -v genisoimage',
      ],
      { stdio: 'ignore' },
    );
  } catch {
    return 'needs qemu-system-x86, qemu-utils, debootstrap and genisoimage (npm test installs them)';
  }
  return process.arch === 'x64' ? false : 'the built image is x86_64 only';
})();

const FAKE = join(repoRoot, 'test', 'fakes', 'virtualbox', 'VBoxManage');

interface FakeState {
  vms: Record<
    string,
    { pid: number; state: string; cfgFile: string; natpf: string[]; settings: Record<string, string> }
  >;
  hostonlyifs: { name: string; ip: string; netmask: string }[];
  dhcpservers: { netname: string; ip: string; lowerip: string; upperip: string }[];
}

describe('create -d virtualbox against a fake VBoxManage that boots the VM under QEMU', {
  skip,
  timeout: 45 * 60_000,
}, () => {
  let s: CliStore;
  let env: NodeJS.ProcessEnv;
  const pids = new Set<number>();

  const state = (): FakeState => JSON.parse(readFileSync(join(s.dir, 'vbox-state.json'), 'utf8'));
  const commands = (): string[][] =>
    readFileSync(join(s.dir, 'vbox-commands.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  const track = () => {
    try {
      for (const vm of Object.values(state().vms)) if (vm.pid) pids.add(vm.pid);
    } catch {}
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  const run = (args: string[], timeoutMs = 120_000) => s.run(args, { env, timeoutMs });
  const machineDir = (name: string) => join(s.dir, 'machines', name);
  const driverOf = async (name: string) =>
    JSON.parse(await readFile(join(machineDir(name), 'config.json'), 'utf8')).Driver;
  const common = [
    '-d',
    'virtualbox',
    '--virtualbox-image',
    'build',
    '--virtualbox-no-vtx-check',
    '--wait-timeout',
    '600',
  ];

  before(async () => {
    s = await tempStore();
    const shared = join(cacheDir(), 'qemu', 'images');
    await mkdir(shared, { recursive: true });
    await mkdir(join(s.dir, 'cache', 'qemu'), { recursive: true });
    await symlink(shared, join(s.dir, 'cache', 'qemu', 'images'));
    // The built image (minutes when not cached): the fake boots its kernel, as a boot loader would.
    const image = await buildImage({
      mirror: DEFAULT_MIRROR,
      cacheDir: join(s.dir, 'cache'),
      arch: 'amd64',
      log: () => {},
    });
    env = {
      MACHINE_VBOXMANAGE: FAKE,
      FAKE_VBOX_NODE: process.execPath,
      FAKE_VBOX_STATE: join(s.dir, 'vbox-state.json'),
      FAKE_VBOX_LOG: join(s.dir, 'vbox-commands.log'),
      FAKE_VBOX_KERNEL: image.kernel,
      FAKE_VBOX_INITRD: image.initrd,
      FAKE_VBOX_APPEND: `${cmdline('amd64')} mitigations=off`,
      // Not this computer's /etc/vbox/networks.conf: VirtualBox's default range applies.
      MACHINE_VIRTUALBOX_NETWORKS_CONF: join(s.dir, 'networks.conf'),
    };
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
      await run(['rm', '-f', '-y', name]);
    }
    track();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await s?.cleanup();
  });

  test('bad input: one line each, exit status as the original, nothing made', async () => {
    const noVBox = await s.run(['create', ...common, 'bad1'], { env: { PATH: '/usr/bin:/bin' } });
    assert.equal(noVBox.code, 3);
    assert.equal(
      noVBox.stderr,
      'Error with pre-create check: "VBoxManage not found. Make sure VirtualBox is installed and VBoxManage is in the path"\n',
    );
    const outside = await run(['create', ...common, '--virtualbox-hostonly-cidr', '192.168.99.1/24', 'bad2']);
    assert.equal(outside.code, 3);
    assert.equal(
      outside.stderr,
      `Error with pre-create check: "--virtualbox-hostonly-cidr 192.168.99.1/24 is outside the host-only ranges VirtualBox allows (192.168.56.0/21: VirtualBox's default, as ${env.MACHINE_VIRTUALBOX_NETWORKS_CONF} does not exist); choose one inside them, or add \\"* 192.168.99.0/24\\" to ${env.MACHINE_VIRTUALBOX_NETWORKS_CONF}"\n`,
    );
    for (const mem of ['1', 'lots']) {
      const r = await run(['create', ...common, '--virtualbox-memory', mem, 'bad3']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`invalid value "${mem}" for flag -virtualbox-memory: expected MB of memory`),
      );
    }
    const netAddr = await run(['create', ...common, '--virtualbox-hostonly-cidr', '192.168.57.0/24', 'bad4']);
    assert.equal(netAddr.code, 3);
    assert.match(
      netAddr.stderr,
      /host-only cidr must be specified with a host address, not a network address/,
    );
    // Nothing made: no machine folders, and VirtualBox was only asked questions.
    assert.deepEqual(
      (await readdir(join(s.dir, 'machines')).catch(() => [])).filter((n) => !n.startsWith('.')),
      [],
    );
    // VirtualBox was only asked questions, and holds nothing.
    for (const c of commands()) {
      assert.ok(
        ['--version', 'list vms', 'list hostonlyifs'].includes(c.slice(0, c[0] === 'list' ? 2 : 1).join(' ')),
        c.join(' '),
      );
    }
    const st = existsSync(env.FAKE_VBOX_STATE as string)
      ? state()
      : { vms: {}, hostonlyifs: [], dhcpservers: [] };
    assert.deepEqual([Object.keys(st.vms), st.hostonlyifs, st.dhcpservers], [[], [], []]);
  });

  test('create → env → docker run → stop → start → rm, with VBoxManage called as the original did', async () => {
    const r = await run(['create', ...common, 'v1'], 1_500_000);
    track();
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const line of [
      '(v1) Creating SSH key...',
      '(v1) Check network to re-create if needed...',
      '(v1) Creating the host-only network 192.168.59.1/24...',
      '(v1) Creating VirtualBox VM...',
      '(v1) Starting the VM...',
      '(v1) Waiting for an IP...',
      'Docker is up and running!',
    ]) {
      assert.ok(r.stdout.split('\n').includes(line), `missing "${line}" in:\n${r.stdout}`);
    }
    const d = await driverOf('v1');
    // The original's field names and values, plus ours.
    assert.equal(d.SSHUser, 'docker');
    assert.equal(d.Memory, 1024);
    assert.equal(d.CPU, 1);
    assert.equal(d.DiskSize, 20000);
    assert.equal(d.HostOnlyCIDR, '192.168.59.1/24');
    assert.equal(d.DNSProxy, true);
    assert.equal(d.IPAddress, '192.168.59.2');

    // The sequence: network, VM, settings, disks, NIC 2, share, forwards, start.
    const seq = commands().map((c) => c.slice(0, 2).join(' '));
    const order = [
      'hostonlyif create',
      'hostonlyif ipconfig',
      'dhcpserver add',
      'createvm --basefolder',
      'modifyvm v1',
      'storagectl v1',
      'storageattach v1',
      'sharedfolder add',
      'startvm v1',
    ];
    let at = 0;
    for (const step of order) {
      const i = seq.indexOf(step, at);
      assert.ok(i >= 0, `${step} missing or out of order in:\n${seq.join('\n')}`);
      at = i;
    }
    const all = commands();
    const find = (pred: (c: string[]) => boolean) => all.find(pred) ?? assert.fail('missing command');
    assert.deepEqual(
      find((c) => c[0] === 'hostonlyif' && c[1] === 'ipconfig'),
      ['hostonlyif', 'ipconfig', 'vboxnet0', '--ip', '192.168.59.1', '--netmask', '255.255.255.0'],
    );
    assert.deepEqual(
      find((c) => c[0] === 'dhcpserver'),
      [
        'dhcpserver',
        'add',
        '--netname',
        'HostInterfaceNetworking-vboxnet0',
        '--ip',
        '192.168.59.100',
        '--netmask',
        '255.255.255.0',
        '--lowerip',
        '192.168.59.101',
        '--upperip',
        '192.168.59.254',
        '--enable',
      ],
    );
    const settings = find((c) => c[0] === 'modifyvm' && c.includes('--firmware')).join(' ');
    assert.match(settings, /--cpus 1 --memory 1024 .*--natdnshostresolver1 off --natdnsproxy1 on/);
    assert.deepEqual(
      all.filter((c) => c[0] === 'storageattach').map((c) => [c[5], c[9], c[11]]),
      [
        ['0', 'dvddrive', join(machineDir('v1'), 'seed.iso')],
        ['1', 'hdd', join(machineDir('v1'), 'disk.vmdk')],
      ],
    );
    assert.deepEqual(find((c) => c[0] === 'sharedfolder').slice(0, 7), [
      'sharedfolder',
      'add',
      'v1',
      '--name',
      'hosthome',
      '--hostpath',
      '/home',
    ]);
    const vm = state().vms.v1;
    assert.deepEqual(vm.natpf, [
      `ssh,tcp,127.0.0.1,${d.SSHPort},,22`,
      `docker,tcp,127.0.0.1,${d.EnginePort},,2376`,
    ]);
    // The disk VirtualBox was given is a VMDK of the machine's size, converted from the image.
    const info = JSON.parse(
      execFileSync('qemu-img', ['info', '--output=json', '-U', join(machineDir('v1'), 'disk.vmdk')], {
        encoding: 'utf8',
      }),
    );
    assert.equal(info.format, 'vmdk');
    assert.equal(info['virtual-size'], 20000 * 1024 * 1024);

    assert.equal((await run(['ip', 'v1'])).stdout, '192.168.59.2\n');
    assert.equal((await run(['url', 'v1'])).stdout, `tcp://127.0.0.1:${d.EnginePort}\n`);
    assert.equal((await run(['status', 'v1'])).stdout, 'Running\n');
    // The address the driver read over SSH is on the NIC with NIC 2's MAC.
    const ipShow = await run(['ssh', 'v1', 'ip -o -4 addr show']);
    assert.match(ipShow.stdout, /inet 192\.168\.59\.2\/24/);

    const withEnv = (script: string) =>
      runProcess('bash', ['-c', `eval "$("${process.execPath}" "${binPath}" env v1)" && ${script}`], {
        env: { ...env, MACHINE_STORAGE_PATH: s.dir, DOCKER_CONFIG: join(s.dir, 'docker-config') },
        timeoutMs: 180_000,
      });
    const hello = await withEnv(
      `docker import ${busyboxTarball()} busybox >/dev/null && docker run --pull=never --rm busybox echo hello`,
    );
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(hello.stdout, 'hello\n');

    const pid = vm.pid;
    const stop = await run(['stop', 'v1'], 300_000);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await run(['status', 'v1'])).stdout, 'Stopped\n');
    assert.equal(alive(pid), false, 'the VM process ended');
    assert.ok(commands().some((c) => c.join(' ') === 'controlvm v1 acpipowerbutton'));

    const start = await run(['start', 'v1'], 900_000);
    track();
    assert.equal(start.code, 0, `${start.stdout}\n${start.stderr}`);
    assert.equal((await run(['status', 'v1'])).stdout, 'Running\n');
    const again = await withEnv('docker run --pull=never --rm busybox echo again');
    assert.equal(again.stdout, 'again\n', again.stderr);
    assert.equal((await run(['ip', 'v1'])).stdout, '192.168.59.2\n');

    const pid2 = state().vms.v1.pid;
    const rm = await run(['rm', '-y', 'v1']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(alive(pid2), false);
    const after = state();
    assert.deepEqual(Object.keys(after.vms), []);
    assert.ok(commands().some((c) => c.join(' ') === 'unregistervm v1 --delete'));
    assert.equal(existsSync(machineDir('v1')), false);
    // The host-only interface and its DHCP server stay: other machines share them.
    assert.deepEqual(
      after.hostonlyifs.map((i) => `${i.name} ${i.ip}`),
      ['vboxnet0 192.168.59.1'],
    );
    assert.equal(after.dhcpservers.length, 1);
  });

  test('kill -9 after createvm and after startvm, then rm -y: no registered VM, no VM process, no files', async () => {
    const points = { k1: 'virtualbox-registered', k2: 'virtualbox-started' };
    for (const [name, point] of Object.entries(points)) {
      await killAt(point, ['create', ...common, name], {
        env: { ...env, MACHINE_STORAGE_PATH: s.dir },
        timeoutMs: 600_000,
      });
      track();
    }
    const vms = state().vms;
    assert.ok(vms.k1 && vms.k2, 'both VMs were registered before the kill');
    assert.ok(alive(vms.k2.pid), 'the VM killed after startvm runs');
    // Two machines of the store on one host-only network: two addresses.
    assert.deepEqual(
      [(await driverOf('k1')).IPAddress, (await driverOf('k2')).IPAddress],
      ['192.168.59.2', '192.168.59.3'],
    );
    for (const name of Object.keys(points)) {
      const vm = vms[name];
      const r = await run(['rm', '-y', name]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.equal(state().vms[name], undefined);
      if (vm.pid) assert.equal(alive(vm.pid), false);
      assert.equal(existsSync(machineDir(name)), false);
      assert.equal(existsSync(vm.cfgFile), false);
    }
  });

  test("a VirtualBox VM of the machine's name made elsewhere: refused before anything is made, and left alone", async () => {
    const other = join(s.dir, 'elsewhere');
    await mkdir(other);
    execFileSync(FAKE, ['createvm', '--basefolder', other, '--name', 'theirs', '--register'], {
      env: { ...process.env, ...env },
    });
    const r = await run(['create', ...common, 'theirs']);
    assert.equal(r.code, 3);
    assert.equal(
      r.stderr,
      'Error with pre-create check: "VirtualBox already has a VM named \\"theirs\\" that this store did not make; choose another machine name, or remove that VM in VirtualBox"\n',
    );
    assert.equal(existsSync(machineDir('theirs')), false);
    assert.ok(state().vms.theirs);
    assert.ok(existsSync(join(other, 'theirs', 'theirs.vbox')));
  });
});
