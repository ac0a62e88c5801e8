import { execFile } from 'node:child_process';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errorMessage, MachineError } from '../../errors.js';
import { type Accel, cpuArgs, kernelArgs } from './accel.js';
import type { BootImage } from './image.js';
import { type QMPStatus, qmp } from './qmp.js';

/**
 * One VM's QEMU process: its command line, a detached start, and what its files say about it.
 * QEMU daemonizes itself (-daemonize), so the VM outlives the CLI that started it, and the
 * parent exits only once the VM is set up: a bad option or a taken port is an exit status with
 * QEMU's own message, not a VM that dies later.
 */

export interface VMFiles {
  dir: string;
  disk: string;
  seed: string;
  qmp: string;
  pid: string;
  console: string;
}

export function vmFiles(machineDir: string): VMFiles {
  return {
    dir: machineDir,
    disk: join(machineDir, 'disk.qcow2'),
    seed: join(machineDir, 'seed.iso'),
    qmp: join(machineDir, 'qmp.sock'),
    pid: join(machineDir, 'qemu.pid'),
    console: join(machineDir, 'console.log'),
  };
}

/** The longest unix socket path Linux and macOS accept (sun_path less its terminator). */
const MAX_SOCKET_PATH = 103;

export interface SegmentNIC {
  hubPort: number;
  localPort: number;
  mac: string;
}

export interface VMSpec {
  name: string;
  binary: string;
  accel: Accel;
  cpus: number;
  memoryMB: number;
  boot: BootImage;
  files: VMFiles;
  sshPort: number;
  /** 0 for an SSH-only engine: nothing is forwarded to 2376. */
  enginePort: number;
  /** Cut the VM off from every network but its forwarded ports (user networking restrict=on). */
  restrict: boolean;
  segment?: SegmentNIC;
}

export function qemuArgs(s: VMSpec): string[] {
  const f = s.files;
  const fwd = [
    `hostfwd=tcp:127.0.0.1:${s.sshPort}-:22`,
    ...(s.enginePort ? [`hostfwd=tcp:127.0.0.1:${s.enginePort}-:2376`] : []),
  ].join(',');
  const args = [
    '-name',
    `docker-machine-${s.name},process=qemu-${s.name}`,
    '-accel',
    s.accel,
    ...cpuArgs(s.accel),
    '-smp',
    String(s.cpus),
    '-m',
    String(s.memoryMB),
    // No graphics: the firmware and boot loaders write to the serial console (console.log).
    '-machine',
    'graphics=off',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-daemonize',
    '-pidfile',
    f.pid,
    '-qmp',
    `unix:${f.qmp},server=on,wait=off`,
    '-chardev',
    `file,id=console,path=${f.console},append=on`,
    '-serial',
    'chardev:console',
    '-drive',
    `file=${f.disk},format=qcow2,if=virtio,discard=unmap`,
    '-drive',
    `file=${f.seed},format=raw,if=virtio,readonly=on`,
    '-netdev',
    `user,id=net0,${s.restrict ? 'restrict=on,' : ''}${fwd}`,
    '-device',
    'virtio-net-pci,netdev=net0',
    '-device',
    'virtio-rng-pci',
  ];
  if (s.segment) {
    args.push(
      '-netdev',
      `socket,id=seg0,udp=127.0.0.1:${s.segment.hubPort},localaddr=127.0.0.1:${s.segment.localPort}`,
      '-device',
      `virtio-net-pci,netdev=seg0,mac=${s.segment.mac}`,
    );
  }
  if (s.boot.kernel) {
    const cmdline = (s.boot.cmdline ?? 'console=ttyS0 root=/dev/vda rw') + kernelArgs(s.accel);
    args.push('-kernel', s.boot.kernel, '-append', cmdline);
    if (s.boot.initrd) args.push('-initrd', s.boot.initrd);
  }
  return args;
}

/** Start the VM; resolves when QEMU has daemonized with the VM running. */
export async function startVM(s: VMSpec): Promise<number> {
  if (s.files.qmp.length > MAX_SOCKET_PATH) {
    throw new MachineError(
      `the machine's folder path is too long for QEMU's monitor socket (${s.files.qmp.length} > ${MAX_SOCKET_PATH} characters); use a shorter --storage-path`,
    );
  }
  await rm(s.files.qmp, { force: true });
  await rm(s.files.pid, { force: true });
  const run = promisify(execFile);
  try {
    await run(s.binary, qemuArgs(s), { timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; killed?: boolean };
    const msg = (e.stderr ?? '').trim().split('\n').filter(Boolean).slice(-3).join('; ') || errorMessage(err);
    throw new VMStartError(msg, portConflict(msg));
  }
  const pid = await readPid(s.files);
  if (!pid) throw new VMStartError('QEMU started but wrote no pid file', false);
  return pid;
}

export class VMStartError extends MachineError {
  constructor(
    readonly qemuMessage: string,
    readonly portTaken: boolean,
  ) {
    super(`QEMU did not start: ${qemuMessage}`);
  }
}

/** QEMU's words for a host forward or socket it could not bind. */
function portConflict(msg: string): boolean {
  return /Could not set up host forwarding rule|Address already in use|can't bind/i.test(msg);
}

export async function readPid(f: VMFiles): Promise<number | undefined> {
  try {
    const n = Number((await readFile(f.pid, 'utf8')).trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live QEMU of this machine (a stale pid file may name a reused pid). */
export async function vmAlive(f: VMFiles): Promise<number | undefined> {
  const pid = await readPid(f);
  if (!pid) return undefined;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(f.pid) ? pid : undefined;
  } catch {
    // No /proc (macOS): the live pid is taken as ours.
    return pid;
  }
}

export async function vmStatus(f: VMFiles): Promise<QMPStatus> {
  return qmp<QMPStatus>(f.qmp, 'query-status');
}

/** Wait until the process is gone, at most `ms`; true when it is. */
export async function waitExit(f: VMFiles, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!(await vmAlive(f))) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return !(await vmAlive(f));
}

/** The serial console's last lines, for errors about a boot that went wrong. */
export async function consoleTail(f: VMFiles, lines = 15): Promise<string> {
  try {
    const size = (await stat(f.console)).size;
    const fh = await open(f.console, 'r');
    try {
      const len = Math.min(size, 16_384);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      return (
        buf
          .toString('utf8')
          // Terminal control sequences from the guest's boot output.
          .replace(/\x1b\[[0-9;?]*[A-Za-z]|\r/g, '')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .slice(-lines)
          .join('\n')
      );
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}
