import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { arch, platform, release } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MachineError } from '../../errors.js';
import { writeFileAtomic } from '../../store/atomic.js';

/**
 * Which accelerator really works. /dev/kvm can exist while KVM fails (MSR errors, a hang), so the
 * probe runs guest code under the accelerator: a boot sector that writes one byte to the serial
 * port. The answer is cached per QEMU binary and kernel, since a failing probe may cost its whole
 * timeout.
 */

export type Accel = 'kvm' | 'hvf' | 'tcg';

export const ACCELS = ['auto', 'kvm', 'hvf', 'tcg'] as const;

const PROBE_MS = 5000;
const MARK = 'K';

/** mov dx,0x3f8; mov al,'K'; out dx,al; hlt; jmp back to hlt — then the boot signature. */
function bootSector(): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from([0xba, 0xf8, 0x03, 0xb0, MARK.charCodeAt(0), 0xee, 0xf4, 0xeb, 0xfd]).copy(b);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

/** The hardware accelerator this platform may have. */
export function nativeAccel(): Accel | undefined {
  if (platform() === 'linux') return 'kvm';
  if (platform() === 'darwin') return 'hvf';
  return undefined;
}

/** The qemu-system binary for this computer's architecture. */
export function defaultBinary(): string {
  return arch() === 'arm64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64';
}

/** The binary's absolute path, or a clear error when QEMU is not installed. */
export async function findBinary(binary: string): Promise<string> {
  if (binary.includes('/')) {
    try {
      await stat(binary);
      return binary;
    } catch {
      throw new MachineError(
        `QEMU binary ${binary} does not exist; give --qemu-binary the path of qemu-system-*`,
      );
    }
  }
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const p = join(dir, binary);
    try {
      if ((await stat(p)).isFile()) return p;
    } catch {}
  }
  throw new MachineError(
    `${binary} is not installed (not found on PATH); install QEMU (Debian/Ubuntu: apt-get install ${debianPackage(binary)} qemu-utils; macOS: brew install qemu), or give --qemu-binary its path`,
  );
}

/** The Debian/Ubuntu package that holds a qemu-system binary: an arm64 host's is not the x86 one. */
export function debianPackage(binary: string): string {
  if (binary === 'qemu-system-aarch64' || binary === 'qemu-system-arm') return 'qemu-system-arm';
  if (binary === 'qemu-system-x86_64' || binary === 'qemu-system-i386') return 'qemu-system-x86';
  return 'qemu-system';
}

/**
 * The CPU model for an accelerator: the host's own under KVM and HVF. Under TCG, Nehalem: the
 * x86-64-v2 level that current distributions require (RHEL 9's kernel does not boot below it),
 * without what costs more to emulate than it saves: `max` offers AVX2, which glibc's string
 * functions then take, and 5-level paging, and boots measured 15-25% slower here.
 */
export function cpuArgs(accel: Accel): string[] {
  if (accel !== 'tcg') return ['-cpu', 'host'];
  return ['-cpu', process.arch === 'arm64' ? 'max' : 'Nehalem'];
}

/**
 * Kernel options for a kernel QEMU boots directly. TCG executes nothing speculatively, so the
 * guest kernel's Spectre and Meltdown mitigations protect nothing there and only cost time.
 */
export function kernelArgs(accel: Accel): string {
  return accel === 'tcg' ? ' mitigations=off' : '';
}

/** Whether guest code runs under `accel` with this binary, within the probe's time. */
export async function probeAccel(binary: string, accel: Accel, workDir: string): Promise<boolean> {
  if (arch() !== 'x64') return probeStarts(binary, accel);
  await mkdir(workDir, { recursive: true });
  const img = join(workDir, `probe-${process.pid}.img`);
  await writeFile(img, bootSector());
  try {
    return await new Promise<boolean>((resolve) => {
      const child = spawn(
        binary,
        [
          '-accel',
          accel,
          // The machine's own CPU model: with `host`, a KVM that cannot run guests here fails at
          // once (an MSR it cannot set), where the default model would hang.
          ...cpuArgs(accel),
          '-display',
          'none',
          '-nodefaults',
          '-no-user-config',
          '-m',
          '16',
          '-serial',
          'stdio',
          '-drive',
          `file=${img},format=raw,if=ide`,
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      let seen = false;
      const timer = setTimeout(() => finish(false), PROBE_MS);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        if (child.exitCode === null) child.kill('SIGKILL');
        resolve(ok);
      };
      child.stdout.on('data', (d: Buffer) => {
        if (!seen && d.includes(MARK)) {
          seen = true;
          finish(true);
        }
      });
      child.on('error', () => finish(false));
      child.on('exit', () => finish(seen));
    });
  } finally {
    await rm(img, { force: true });
  }
}

/** Where no boot sector can be run (not x86): the accelerator at least starts a machine. */
async function probeStarts(binary: string, accel: Accel): Promise<boolean> {
  const run = promisify(execFile);
  try {
    await run(
      binary,
      [
        '-accel',
        accel,
        '-M',
        'virt',
        '-cpu',
        'host',
        '-display',
        'none',
        '-nodefaults',
        '-S',
        '-qmp',
        'stdio',
      ],
      { timeout: PROBE_MS, input: '' } as never,
    );
    return true;
  } catch (err) {
    // Killed by the timeout means it was still running: it started.
    return (err as { killed?: boolean }).killed === true;
  }
}

interface CacheEntry {
  binary: string;
  mtimeMs: number;
  kernel: string;
  accel: Accel;
}

/**
 * The accelerator for `wanted` ('auto' probes the native one and falls back to TCG; a named one
 * must pass the probe). Logs why it chose TCG.
 */
export async function chooseAccel(
  binary: string,
  wanted: string,
  cacheDir: string,
  log: (l: string) => void,
): Promise<Accel> {
  if (wanted === 'tcg') return 'tcg';
  const native = nativeAccel();
  const accel = (wanted === 'auto' ? native : wanted) as Accel | undefined;
  if (!accel) return 'tcg';
  const file = join(cacheDir, 'qemu', `accel-${accel}.json`);
  const mtimeMs = (await stat(binary)).mtimeMs;
  const key = { binary, mtimeMs, kernel: release() };
  let works: boolean | undefined;
  try {
    const c = JSON.parse(await readFile(file, 'utf8')) as CacheEntry;
    if (c.binary === key.binary && c.mtimeMs === key.mtimeMs && c.kernel === key.kernel)
      works = c.accel === accel;
  } catch {}
  if (works === undefined) {
    works = await probeAccel(binary, accel, join(cacheDir, 'qemu'));
    await writeFileAtomic(file, JSON.stringify({ ...key, accel: works ? accel : 'tcg' }), 0o600).catch(
      () => {},
    );
  }
  if (works) return accel;
  if (wanted !== 'auto') {
    throw new MachineError(
      `--qemu-accel ${accel}: guest code does not run under ${accel.toUpperCase()} on this computer; use --qemu-accel tcg (software emulation) or auto`,
    );
  }
  log(`${accel.toUpperCase()} does not work here (a probe VM did not run); using software emulation (TCG)`);
  return 'tcg';
}
