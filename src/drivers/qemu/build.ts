import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { makePartialDir, partialOwner, removeLeftoversOf, removePartial } from '../../cache/partial.js';
import { MachineError } from '../../errors.js';
import { withFileLock } from '../../store/lock.js';
import { pauseAt } from '../../test-pause.js';
import { DISABLE, ENABLE, FILES, MASK, MASK_GENERATORS, USER } from './guest-files.js';
import { requireTool, runTool, ToolFailedError } from './host-tool.js';
import type { BootImage } from './image.js';
import { INIT_SCRIPT, makeInitrd, ROOT_DISK_MODULES, SEED_MODULES } from './initrd.js';

/**
 * The project's own machine image, built from a Debian mirror: debootstrap a root file system
 * with systemd, sshd, Debian's docker.io and Debian's cloud kernel, then pack it into an ext4
 * disk image with mkfs.ext4 -d (no root mounts, no loop devices) and convert that to qcow2. The
 * disk has no bootloader: QEMU boots the kernel and initrd kept next to it. Cached by the
 * recipe's hash; a build happens once per recipe, also with parallel creates.
 */

export const SUITE = 'bookworm';
export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

export function packages(arch: string): string[] {
  return [
    'systemd',
    'systemd-sysv',
    'dbus',
    'openssh-server',
    'sudo',
    'procps',
    'iproute2',
    'iptables',
    'ca-certificates',
    'curl',
    'docker.io',
    'e2fsprogs',
    // The initrd's shell and tools (initrd.ts): a static binary starts fast under emulation.
    'busybox-static',
    `linux-image-cloud-${arch}`,
  ];
}

/**
 * The kernel's command line. `quiet` and no unit status lines: every byte to the emulated
 * serial port costs time under software emulation. apparmor=0: the cloud kernel turns AppArmor
 * on, and dockerd 20.10 then wants apparmor_parser for its container profile, which the image
 * does not carry (boot2docker had no AppArmor either).
 */
export function cmdline(arch: string): string {
  const console = arch === 'arm64' ? 'ttyAMA0' : 'ttyS0';
  return `console=${console} root=/dev/vda rootfstype=ext4 rw quiet systemd.show_status=0 apparmor=0`;
}

/** Modules the machine loads after the initrd: its NICs and the seed volume. */
const ROOTFS_MODULES = ['virtio_net', 'isofs'];

/** Part of the recipe's hash with the files and packages: raise it when a build step changes. */
const RECIPE_VERSION = 3;

/** Debian's docker.io: dockerd in /usr/sbin, with a docker.socket (the build checks both). */
const BUILT_ENGINE = { dockerd: '/usr/sbin/dockerd', socketActivated: true };

export function recipeHash(arch: string): string {
  const recipe = {
    v: RECIPE_VERSION,
    suite: SUITE,
    arch,
    packages: packages(arch),
    FILES,
    ENABLE,
    DISABLE,
    MASK,
    MASK_GENERATORS,
    USER,
    INIT_SCRIPT,
    ROOT_DISK_MODULES,
    SEED_MODULES,
    BUILT_ENGINE,
  };
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 12);
}

export interface BuildOptions {
  mirror: string;
  cacheDir: string;
  arch: string;
  log(line: string): void;
  signal?: AbortSignal;
  /** What fills the build folder with the image's files (tests replace the minutes of debootstrap). */
  steps?: (tmp: string, o: BuildOptions) => Promise<void>;
}

/** The built image's files in its cache folder (which exists only once the build is complete). */
export function builtImage(dir: string, o: { mirror: string; arch: string }): BootImage {
  return {
    disk: join(dir, 'disk.qcow2'),
    format: 'qcow2',
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    cmdline: cmdline(o.arch),
    engine: BUILT_ENGINE,
    source: `built from ${o.mirror} (${SUITE})`,
  };
}

export async function buildImage(o: BuildOptions): Promise<BootImage> {
  const root = join(o.cacheDir, 'qemu', 'images');
  const name = `debian-${SUITE}-${o.arch}-${recipeHash(o.arch)}`;
  const dir = join(root, name);
  const ready = () => complete(builtImage(dir, o));
  // What builds killed before they finished left (half an image is hundreds of MB): removed by
  // whichever run comes next, even one that finds the image built.
  await removeLeftoversOf(dir);
  if (ready()) return builtImage(dir, o);
  checkBuildHost(o.arch);
  await mkdir(root, { recursive: true, mode: 0o700 });
  // Parallel creates wait for one build instead of running debootstrap each.
  return withFileLock(
    join(root, `${name}.lock`),
    {
      what: 'The qemu machine image',
      doing: `building the qemu machine image ${name}`,
      log: o.log,
      timeoutMs: Number.POSITIVE_INFINITY,
    },
    async () => {
      if (ready()) return builtImage(dir, o);
      // A folder with a file removed by hand is built again.
      await rm(dir, { recursive: true, force: true });
      // Earlier releases named build folders without their maker's pid; none runs now (we hold the lock).
      for (const f of await readdir(root)) {
        if (f.startsWith(`${name}.build-`) && partialOwner(f) === undefined)
          await removePartial(join(root, f));
      }
      const tmp = await makePartialDir(dir);
      try {
        await (o.steps ?? build)(tmp, o);
        await pauseAt('qemu-image-built');
        // The folder appears complete or not at all: a later create never takes half an image.
        // Another build may have put its own there first; either is whole.
        await rename(tmp, dir).catch((err) => {
          if (!ready()) throw err;
        });
      } finally {
        await removePartial(tmp);
      }
      return builtImage(dir, o);
    },
  );
}

function complete(b: BootImage): boolean {
  return [b.disk, b.kernel, b.initrd].every((f) => f && existsSync(f));
}

function checkBuildHost(arch: string): void {
  const how = "or give --qemu-image a disk image or an image's URL";
  if (process.getuid?.() !== 0) {
    throw new MachineError(
      `building the machine image needs root (debootstrap): run this create once as root (the image is cached), ${how}`,
    );
  }
  if (hostArch() !== arch) {
    throw new MachineError(
      `the machine image can be built only for this host's architecture (${hostArch()}, not ${arch}); ${how}`,
    );
  }
  const why = (t: string) => `building the machine image needs it (${t}); ${how}`;
  requireTool('debootstrap', 'debootstrap', why('the Debian root file system'));
  requireTool('mkfs.ext4', 'e2fsprogs', why('the ext4 disk'));
  requireTool('qemu-img', 'qemu-utils', why('the qcow2 image'));
}

export function hostArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

async function build(tmp: string, o: BuildOptions): Promise<void> {
  const rootfs = join(tmp, 'rootfs');
  const pkgs = packages(o.arch);
  const started = Date.now();
  o.log(
    `Building the machine image from ${o.mirror} with debootstrap (${SUITE}, ${pkgs.length} packages); this takes a few minutes...`,
  );
  await debootstrap(rootfs, pkgs, o);
  await pauseAt('qemu-image-debootstrapped');
  await makeImage(rootfs, tmp, o);
  o.log(`Machine image built in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** From a root file system with the packages installed: the configured disk, kernel and initrd in DIR. */
export async function makeImage(
  rootfs: string,
  tmp: string,
  o: Pick<BuildOptions, 'log' | 'signal'>,
): Promise<void> {
  o.log('Configuring the machine image...');
  await configure(rootfs, o.signal);
  const boot = await bootFiles(rootfs);
  await checkEngine(rootfs);
  await copyFile(boot.kernel, join(tmp, 'vmlinuz'));
  await writeFile(join(tmp, 'initrd.img'), await makeInitrd(boot.modules, join(rootfs, 'bin/busybox')));
  await clean(rootfs);

  const used = await runTool('du', ['-s', '--block-size=1M', rootfs], {
    what: 'measuring the root file system',
  });
  const usedMB = Number.parseInt(used.stdout, 10);
  // Room for the journal, inode tables and a first docker image; the file system grows to the
  // machine's disk size at its first boot anyway.
  const sizeMB = Math.ceil((usedMB * 1.5 + 512) / 512) * 512;
  o.log(`Making the disk image (${usedMB} MB of files, ${sizeMB} MB disk)...`);
  const raw = join(tmp, 'disk.raw');
  await runTool(
    requireTool('mkfs.ext4', 'e2fsprogs', 'it makes the disk'),
    ['-q', '-F', '-t', 'ext4', '-L', 'machine-root', '-d', rootfs, raw, `${sizeMB}M`],
    { what: 'making the ext4 disk image', signal: o.signal },
  );
  await rm(rootfs, { recursive: true, force: true });
  await runTool(
    requireTool('qemu-img', 'qemu-utils', 'it makes the qcow2 image'),
    ['convert', '-O', 'qcow2', raw, join(tmp, 'disk.qcow2')],
    { what: 'converting the disk image to qcow2', signal: o.signal },
  );
  await rm(raw, { force: true });
  const size = (await stat(join(tmp, 'disk.qcow2'))).size;
  o.log(`Made the disk image (${Math.round(size / 1e6)} MB qcow2)`);
}

/** Runs debootstrap, showing each of its phases once. */
async function debootstrap(rootfs: string, pkgs: string[], o: BuildOptions): Promise<void> {
  const phases = new Set<string>();
  try {
    await runTool(
      requireTool('debootstrap', 'debootstrap', 'it builds the machine image'),
      ['--variant=minbase', `--arch=${o.arch}`, `--include=${pkgs.join(',')}`, SUITE, rootfs, o.mirror],
      {
        what: 'debootstrap',
        signal: o.signal,
        onLine(line) {
          const m =
            /^I: (Retrieving|Validating|Extracting|Installing|Configuring|Unpacking|Base system installed)/.exec(
              line,
            );
          if (m && !phases.has(m[1])) {
            phases.add(m[1]);
            o.log(`debootstrap: ${line.slice(3).trim()}`);
          }
        },
      },
    );
  } catch (err) {
    if (!(err instanceof ToolFailedError)) throw err;
    throw new MachineError(
      `building the machine image with debootstrap from ${o.mirror} failed (exit status ${err.status}); check --qemu-debian-mirror and the network. Its last lines:\n${err.tail.join('\n')}`,
    );
  }
}

async function configure(rootfs: string, signal?: AbortSignal): Promise<void> {
  const chroot = (what: string, ...args: string[]) => runTool('chroot', [rootfs, ...args], { what, signal });
  // No host key in the image: every machine makes its own at first boot.
  for (const f of await readdir(join(rootfs, 'etc/ssh'))) {
    if (f.startsWith('ssh_host_')) await rm(join(rootfs, 'etc/ssh', f));
  }
  for (const [path, text] of Object.entries(FILES)) {
    const full = join(rootfs, path);
    await mkdir(dirname(full), { recursive: true });
    // resolv.conf may be the build host's symlink: replace, never write through it.
    await rm(full, { force: true });
    await writeFile(full, text);
  }
  await chmod(join(rootfs, 'usr/local/sbin/machine-seed'), 0o755);
  await chroot('enabling the machine units', 'systemctl', 'enable', ...ENABLE);
  await chroot('disabling units', 'systemctl', 'disable', ...DISABLE);
  await chroot('masking units', 'systemctl', 'mask', ...MASK);
  // Generators run at every boot before any unit; these make units the machine has no use for.
  await mkdir(join(rootfs, 'etc/systemd/system-generators'), { recursive: true });
  for (const g of MASK_GENERATORS)
    await symlink('/dev/null', join(rootfs, 'etc/systemd/system-generators', g));
  // The SSH user exists from the start: the seed then only adds its key (useradd is slow there).
  await chroot(
    'adding the machine user',
    'useradd',
    '--create-home',
    '--gid',
    USER,
    '--shell',
    '/bin/bash',
    USER,
  );
  // An empty machine id: systemd makes each machine its own at boot; D-Bus reads the same one.
  await writeFile(join(rootfs, 'etc/machine-id'), '');
  await rm(join(rootfs, 'var/lib/dbus/machine-id'), { force: true });
  await symlink('/etc/machine-id', join(rootfs, 'var/lib/dbus/machine-id'));
  await mkdir(join(rootfs, 'root/.ssh'), { recursive: true, mode: 0o700 });
}

/** The kernel and its modules folder, checked to hold what mounting /dev/vda and the seed needs. */
async function bootFiles(rootfs: string): Promise<{ kernel: string; modules: string }> {
  const boot = join(rootfs, 'boot');
  const kernels = (await readdir(boot)).filter((f) => f.startsWith('vmlinuz-')).sort();
  const version = kernels.at(-1)?.slice('vmlinuz-'.length);
  if (!version)
    throw new MachineError('the machine image has no kernel in /boot: the kernel package failed to install');
  const modules = join(rootfs, 'usr/lib/modules', version);
  const listed = await runTool('find', [modules, '-name', '*.ko*'], {
    what: 'listing the kernel modules',
    keepLines: 3,
  });
  const missing = ROOTFS_MODULES.filter((m) => !new RegExp(`/${m}\\.ko`).test(listed.stdout));
  if (missing.length) {
    throw new MachineError(
      `the machine image's kernel ${version} lacks ${missing.join(', ')}: it could not use its NIC or seed`,
    );
  }
  return { kernel: join(boot, basename(`vmlinuz-${version}`)), modules };
}

/** The engine is where BUILT_ENGINE says: the seeded drop-in names that dockerd and its socket. */
async function checkEngine(rootfs: string): Promise<void> {
  for (const p of [BUILT_ENGINE.dockerd, '/lib/systemd/system/docker.socket']) {
    if (!existsSync(join(rootfs, p)))
      throw new MachineError(`the machine image has no ${p}: the docker.io package changed its layout`);
  }
}

/** The downloaded packages are installed already: leave them out of the image. */
async function clean(rootfs: string): Promise<void> {
  for (const d of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    for (const f of await readdir(join(rootfs, d)).catch(() => [] as string[])) {
      if (f !== 'partial' && f !== 'lock') await rm(join(rootfs, d, f), { recursive: true, force: true });
    }
  }
  for (const f of ['var/cache/apt/pkgcache.bin', 'var/cache/apt/srcpkgcache.bin', 'var/log/bootstrap.log']) {
    await rm(join(rootfs, f), { force: true });
  }
}
