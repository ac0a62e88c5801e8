import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, MachineError } from '../../errors.js';
import { intRange, matching, oneOf, tcpPortOrFree } from '../../flags/checks.js';
import type { FlagDef, ParsedFlags } from '../../flags/def.js';
import { flagBool, flagInt, flagString } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { bool, mergeDriverJSON, num, sshOnlyEngine, str } from '../base.js';
import type { Driver, DriverContext, DriverModule, EngineEndpoint, MachineState } from '../driver.js';
import { ERR_HOST_NOT_RUNNING } from '../driver.js';
import type { SeededEngine } from '../engine-seed.js';
import { LoopbackDriver, sshBanner } from '../loopback.js';
import { ACCELS, defaultBinary } from './accel.js';
import type { BootImage } from './image.js';
import { qmp, qmpQuit } from './qmp.js';
import {
  consoleTail,
  startVM,
  type VMFiles,
  VMStartError,
  vmAlive,
  vmFiles,
  vmStatus,
  waitExit,
} from './vm.js';

/**
 * The `qemu` driver: a local VM on a copy-on-write disk over a cached base image, seeded with
 * cloud-init NoCloud (user, key, hostname), reached through ports forwarded on 127.0.0.1, and
 * managed through QMP. QEMU runs detached: the VM outlives the command that started it.
 */

const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

const flags: FlagDef[] = [
  {
    name: 'qemu-image',
    kind: 'string',
    envVar: 'MACHINE_QEMU_IMAGE',
    usage:
      "Path or URL of a cloud image, or 'build' to build one from a Debian mirror (default: Debian 12's generic cloud image, downloaded once; built from --qemu-debian-mirror when it cannot be)",
  },
  {
    name: 'qemu-image-checksum',
    kind: 'string',
    envVar: 'MACHINE_QEMU_IMAGE_CHECKSUM',
    usage: 'Checksum of a --qemu-image URL, sha256:HEX or sha512:HEX (default: the SHA*SUMS file beside it)',
    check: matching(/^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/i, 'sha256:HEX or sha512:HEX'),
  },
  {
    name: 'qemu-debian-mirror',
    kind: 'string',
    default: DEFAULT_MIRROR,
    envVar: 'MACHINE_QEMU_DEBIAN_MIRROR',
    usage: 'Debian mirror that a built image comes from',
  },
  {
    name: 'qemu-cpu-count',
    kind: 'int',
    // Two: under TCG each virtual CPU is a host thread, and a 1-CPU machine took twice as long
    // to boot to a running engine on a 2-core host.
    default: 2,
    envVar: 'MACHINE_QEMU_CPU_COUNT',
    usage: 'Number of CPUs of the VM',
    // 255: what QEMU's default x86 machine takes.
    check: intRange(1, 255, 'a number of CPUs'),
  },
  {
    name: 'qemu-memory',
    kind: 'int',
    default: 1024,
    envVar: 'MACHINE_QEMU_MEMORY',
    usage: 'Memory of the VM in MB',
    check: intRange(256, 4 * 1024 * 1024, 'MB of memory'),
  },
  {
    name: 'qemu-disk-size',
    kind: 'int',
    default: 20000,
    envVar: 'MACHINE_QEMU_DISK_SIZE',
    usage: 'Disk size of the VM in MB (a copy-on-write disk: it takes only what is written)',
    check: intRange(1024, 64 * 1024 * 1024, 'MB of disk'),
  },
  {
    name: 'qemu-accel',
    kind: 'string',
    default: 'auto',
    envVar: 'MACHINE_QEMU_ACCEL',
    usage:
      'Accelerator: auto (KVM on Linux, HVF on macOS when a probe VM runs under it, else tcg), kvm, hvf, tcg',
    check: oneOf(ACCELS),
  },
  {
    name: 'qemu-binary',
    kind: 'string',
    default: defaultBinary(),
    envVar: 'MACHINE_QEMU_BINARY',
    usage: 'The qemu-system binary (a name on PATH or a path)',
  },
  {
    name: 'qemu-network',
    kind: 'string',
    default: 'shared',
    envVar: 'MACHINE_QEMU_NETWORK',
    usage:
      "shared: user networking plus a segment that the store's qemu machines share (they reach each other); user: user networking only",
    check: oneOf(['shared', 'user']),
  },
  {
    name: 'qemu-ssh-port',
    kind: 'int',
    default: 0,
    envVar: 'MACHINE_QEMU_SSH_PORT',
    usage: "Port on 127.0.0.1 forwarded to the VM's SSH (0: a free one)",
    check: tcpPortOrFree(),
  },
  {
    name: 'qemu-engine-port',
    kind: 'int',
    default: 0,
    envVar: 'MACHINE_QEMU_ENGINE_PORT',
    usage: "Port on 127.0.0.1 forwarded to the VM's Docker engine (0: a free one)",
    check: tcpPortOrFree(),
  },
  {
    name: 'qemu-restrict',
    kind: 'bool',
    envVar: 'MACHINE_QEMU_RESTRICT',
    usage: 'Cut the VM off from every network but its forwarded ports and the shared segment',
  },
];

/** Attempts at a boot whose random host ports another process took meanwhile. */
const PORT_ATTEMPTS = 3;
/** ACPI power-down before the VM is made to quit. */
const STOP_GRACE_MS = 60_000;

class QemuDriver extends LoopbackDriver implements Driver {
  readonly driverName = 'qemu';

  private set(fields: DriverJSON): void {
    this.json = { ...this.json, ...fields };
  }

  private get name(): string {
    return str(this.json, 'MachineName');
  }

  private get storePath(): string {
    return str(this.json, 'StorePath');
  }

  private get cacheDir(): string {
    return join(this.storePath, 'cache');
  }

  private get files(): VMFiles {
    return vmFiles(join(this.storePath, 'machines', this.name));
  }

  private get boot(): BootImage {
    const b = this.json.Boot as BootImage | undefined;
    if (!b?.disk)
      throw new MachineError(
        `machine "${this.name}" has no disk (its create did not finish); remove it with rm`,
      );
    return b;
  }

  async preCreateCheck(): Promise<void> {
    const { findBinary } = await import('./accel.js');
    await findBinary(str(this.json, 'Binary'));
    const { portTaken } = await import('../loopback.js');
    for (const [flag, key] of [
      ['--qemu-ssh-port', 'SSHPort'],
      ['--qemu-engine-port', 'EnginePort'],
    ] as const) {
      const p = num(this.json, key);
      if (p !== 0 && (await portTaken(p))) {
        throw new MachineError(
          `port ${p} on 127.0.0.1 is already in use; choose another ${flag} or leave it out`,
        );
      }
    }
    const image = str(this.json, 'Image');
    if (image !== '' && image !== 'build' && !/^https?:\/\//.test(image)) {
      const { stat } = await import('node:fs/promises');
      try {
        await stat(image);
      } catch {
        throw new MachineError(
          `--qemu-image ${image}: no such file; give the path or URL of a disk image, or 'build'`,
        );
      }
    }
  }

  async create(ctx: DriverContext): Promise<void> {
    const f = this.files;
    const [{ generateSSHKeyPair }, { findBinary, chooseAccel }, { ensureBootImage }, { createOverlay }] =
      await Promise.all([
        import('../../ssh/keys.js'),
        import('./accel.js'),
        import('./image.js'),
        import('./disk.js'),
      ]);
    ctx.log('Creating SSH key...');
    const keyPath = join(f.dir, 'id_rsa');
    const { publicLine } = await generateSSHKeyPair(keyPath);
    this.set({ SSHKeyPath: keyPath });
    await ctx.save();

    const binary = await findBinary(str(this.json, 'Binary'));
    const accel = await chooseAccel(binary, str(this.json, 'Accel') || 'auto', this.cacheDir, ctx.log);
    this.set({ Binary: binary, AccelUsed: accel });

    ctx.log('Finding the machine image...');
    const boot = await ensureBootImage({
      image: str(this.json, 'Image'),
      checksum: str(this.json, 'ImageChecksum') || undefined,
      mirror: str(this.json, 'DebianMirror') || DEFAULT_MIRROR,
      cacheDir: this.cacheDir,
      log: ctx.log,
      signal: ctx.signal,
    });
    this.set({ Boot: boot as unknown as DriverJSON[string] });
    await ctx.save();

    ctx.log(`Creating a ${num(this.json, 'DiskSize')} MB copy-on-write disk on ${boot.source}...`);
    await createOverlay(boot, f.disk, num(this.json, 'DiskSize'));

    if (str(this.json, 'Network') === 'shared') await this.joinSegment();
    const { writeSeed } = await import('./seed.js');
    const engine = await this.seededEngine(ctx, boot);
    await writeSeed(f.dir, {
      engine,
      hostname: this.name,
      user: this.getSSHUsername(),
      publicKey: publicLine.trim(),
      instanceId: str(this.json, 'MachineID'),
      ...(str(this.json, 'SegmentAddress')
        ? { segment: { address: str(this.json, 'SegmentAddress'), mac: str(this.json, 'SegmentMAC') } }
        : {}),
    });
    await ctx.save();
    await this.boot_(ctx, true);
  }

  /**
   * The engine files for the seed, where the image is the project's own (its initrd puts them in
   * place): the engine then starts while the machine boots, not after provisioning.
   */
  private async seededEngine(ctx: DriverContext, boot: BootImage): Promise<SeededEngine | undefined> {
    if (!boot.engine || !ctx.seedEngine) return undefined;
    const { port, certSANs } = await this.engineEndpoint();
    const engine = await ctx.seedEngine({ ip: await this.getIP(), certSANs, port, ...boot.engine });
    if (engine) ctx.debug('the engine files go on the seed: the engine starts at the first boot');
    return engine;
  }

  private async joinSegment(): Promise<void> {
    const seg = await import('./segment.js');
    const a = await seg.allocateSegmentAddress(this.cacheDir, this.name);
    this.set({ SegmentAddress: a.address, SegmentMAC: a.mac, SegmentPort: a.localPort });
  }

  /** Start QEMU (choosing free ports first when none were given) and wait for SSH to answer. */
  private async boot_(ctx: DriverContext, choosePorts: boolean): Promise<void> {
    const { freePort } = await import('../loopback.js');
    const fixedSSH = bool(this.json, 'FixedSSHPort');
    const fixedEngine = bool(this.json, 'FixedEnginePort');
    let pid = 0;
    for (let attempt = 1; ; attempt++) {
      if (choosePorts) {
        if (!fixedSSH) this.set({ SSHPort: await freePort() });
        if (!fixedEngine && !sshOnlyEngine(this.json)) {
          let p = await freePort();
          while (p === num(this.json, 'SSHPort')) p = await freePort();
          this.set({ EnginePort: p });
        }
        await ctx.save();
      }
      let segment: { hubPort: number; localPort: number; mac: string } | undefined;
      if (str(this.json, 'SegmentAddress')) {
        const seg = await import('./segment.js');
        // Same address and MAC as before; a new local port if another process took the old one.
        const a = await seg.allocateSegmentAddress(this.cacheDir, this.name);
        this.set({ SegmentAddress: a.address, SegmentMAC: a.mac, SegmentPort: a.localPort });
        await ctx.save();
        const { hubPort } = await seg.ensureSegment(this.cacheDir, { log: ctx.log });
        segment = { hubPort, localPort: num(this.json, 'SegmentPort'), mac: str(this.json, 'SegmentMAC') };
      }
      ctx.log(
        `Starting the VM (${str(this.json, 'AccelUsed') || 'tcg'}, ${num(this.json, 'CPU')} CPU, ${num(this.json, 'Memory')} MB)...`,
      );
      try {
        pid = await startVM({
          name: this.name,
          binary: str(this.json, 'Binary'),
          accel: (str(this.json, 'AccelUsed') || 'tcg') as 'tcg',
          cpus: num(this.json, 'CPU') || 1,
          memoryMB: num(this.json, 'Memory') || 1024,
          boot: this.boot,
          files: this.files,
          sshPort: num(this.json, 'SSHPort'),
          enginePort: num(this.json, 'EnginePort'),
          restrict: bool(this.json, 'Restrict'),
          segment,
        });
        break;
      } catch (err) {
        const retry = err instanceof VMStartError && err.portTaken && choosePorts && attempt < PORT_ATTEMPTS;
        if (retry && !(fixedSSH && (fixedEngine || sshOnlyEngine(this.json)))) {
          ctx.debug(`QEMU could not bind a port (${err.qemuMessage}); choosing others`);
          continue;
        }
        if (err instanceof VMStartError && err.portTaken) {
          throw new MachineError(
            `QEMU could not forward a port on 127.0.0.1 (${err.qemuMessage}); free it, or choose other --qemu-ssh-port / --qemu-engine-port values`,
          );
        }
        throw err;
      }
    }
    if (segment_(this.json)) {
      const seg = await import('./segment.js');
      await seg.joinSegment(this.cacheDir, this.name, {
        vmPort: num(this.json, 'SegmentPort'),
        qemuPid: pid,
      });
    }
    await this.waitForSSH(ctx);
  }

  /** The guest's sshd sends its banner: the VM has booted (QEMU's forward accepts before that). */
  private async waitForSSH(ctx: DriverContext): Promise<void> {
    const f = this.files;
    const port = num(this.json, 'SSHPort');
    ctx.log('Waiting for the VM to boot (SSH)...');
    try {
      await ctx.waitFor(
        `the VM to boot to SSH on 127.0.0.1:${port}`,
        async () => {
          if (!(await vmAlive(f))) throw new VMExited();
          // A guest not yet listening has QEMU close the connection at once; a guest whose sshd
          // is busy starting (seconds under emulation) must not be given up on and asked again.
          await sshBanner('127.0.0.1', port, 15_000);
        },
        (err) => err instanceof VMExited,
      );
    } catch (err) {
      const tail = await consoleTail(f);
      const why = err instanceof VMExited ? 'the VM stopped while booting' : errorMessage(err);
      throw new MachineError(
        `${why}; the console's last lines (${f.console}):\n${tail || '(the console printed nothing)'}`,
      );
    }
  }

  async remove(ctx: DriverContext): Promise<void> {
    await this.kill().catch((err) => ctx.debug(`kill before remove: ${errorMessage(err)}`));
    if (str(this.json, 'SegmentAddress')) {
      const seg = await import('./segment.js');
      await seg.leaveSegment(this.cacheDir, this.name);
    }
    const f = this.files;
    for (const p of [f.disk, f.seed, f.qmp, f.pid]) await rm(p, { force: true });
  }

  async start(ctx: DriverContext): Promise<void> {
    const f = this.files;
    if (await vmAlive(f)) {
      const s = await vmStatus(f);
      // A paused VM resumes; a running one is left as it is.
      if (!s.running) await qmp(f.qmp, 'cont');
      return;
    }
    await this.boot_(ctx, false);
  }

  async stop(ctx: DriverContext): Promise<void> {
    const f = this.files;
    if (!(await vmAlive(f))) return;
    ctx.log('Powering the VM down (ACPI)...');
    await qmp(f.qmp, 'system_powerdown').catch(() => {});
    if (await waitExit(f, STOP_GRACE_MS)) return;
    ctx.log(`The VM did not power down within ${STOP_GRACE_MS / 1000} s; stopping it`);
    await this.kill();
  }

  async restart(ctx: DriverContext): Promise<void> {
    await this.stop(ctx);
    await this.start(ctx);
  }

  async kill(): Promise<void> {
    const f = this.files;
    const pid = await vmAlive(f);
    if (!pid) return;
    await qmpQuit(f.qmp).catch(() => {});
    if (await waitExit(f, 5000)) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    await waitExit(f, 5000);
  }

  async getState(): Promise<MachineState> {
    const f = this.files;
    if (!this.json.Boot) return 'NotFound';
    if (!(await vmAlive(f))) return 'Stopped';
    try {
      return stateOf((await vmStatus(f)).status);
    } catch {
      return 'Error';
    }
  }

  async getURL(): Promise<string> {
    if ((await this.getState()) !== 'Running') throw new MachineError(ERR_HOST_NOT_RUNNING);
    return `tcp://127.0.0.1:${num(this.json, 'EnginePort')}`;
  }

  /** The engine listens on 2376 inside; its certificate also names the address on the segment. */
  async engineEndpoint(): Promise<EngineEndpoint> {
    const seg = str(this.json, 'SegmentAddress').split('/')[0];
    return { port: 2376, certSANs: [...(seg ? [seg] : []), this.name] };
  }

  /** The address on the shared segment, where the store's other qemu machines reach this one. */
  async clusterAddress(): Promise<string> {
    const seg = str(this.json, 'SegmentAddress').split('/')[0];
    if (!seg) {
      throw new MachineError(
        `machine "${this.name}" has no address that other machines reach (--qemu-network user); recreate it with --qemu-network shared, or give --swarm-addr`,
      );
    }
    return seg;
  }

  getSSHUsername(): string {
    return str(this.json, 'SSHUser') || 'docker';
  }
}

class VMExited extends Error {}

function segment_(json: DriverJSON): boolean {
  return str(json, 'SegmentAddress') !== '';
}

/** QMP's RunState as the driver's state. */
export function stateOf(status: string): MachineState {
  switch (status) {
    case 'running':
      return 'Running';
    case 'paused':
    case 'suspended':
    case 'io-error':
    case 'watchdog':
      return 'Paused';
    case 'shutdown':
      return 'Stopping';
    case 'prelaunch':
    case 'inmigrate':
    case 'restore-vm':
      return 'Starting';
    case 'save-vm':
    case 'postmigrate':
    case 'finish-migrate':
      return 'Saved';
    default:
      return 'Error';
  }
}

/** Each flag's own value is checked by its definition (flags above); here what spans flags. */
function driverFromFlags(base: BaseDriverFields, parsed: ParsedFlags): Driver {
  const cpu = flagInt(parsed, 'qemu-cpu-count');
  const memory = flagInt(parsed, 'qemu-memory');
  const disk = flagInt(parsed, 'qemu-disk-size');
  const accel = flagString(parsed, 'qemu-accel') || 'auto';
  const network = flagString(parsed, 'qemu-network') || 'shared';
  const sshPort = flagInt(parsed, 'qemu-ssh-port');
  const enginePort = flagInt(parsed, 'qemu-engine-port');
  if (sshPort !== 0 && sshPort === enginePort) {
    throw new MachineError('--qemu-ssh-port and --qemu-engine-port must differ');
  }
  if (enginePort !== 0 && base.EngineEndpoint === 'ssh') {
    throw new MachineError(
      '--qemu-engine-port has no use with --engine-endpoint ssh (the engine listens on no TCP port): leave one of them out',
    );
  }
  const checksum = flagString(parsed, 'qemu-image-checksum');
  return new QemuDriver({
    ...base,
    IPAddress: '127.0.0.1',
    SSHUser: 'docker',
    SSHPort: sshPort,
    Image: flagString(parsed, 'qemu-image'),
    ImageChecksum: checksum,
    DebianMirror: flagString(parsed, 'qemu-debian-mirror'),
    CPU: cpu,
    Memory: memory,
    DiskSize: disk,
    Accel: accel,
    AccelUsed: '',
    Binary: flagString(parsed, 'qemu-binary') || defaultBinary(),
    Network: network,
    Restrict: flagBool(parsed, 'qemu-restrict'),
    EnginePort: enginePort,
    FixedSSHPort: sshPort !== 0,
    FixedEnginePort: enginePort !== 0,
    MachineID: randomBytes(8).toString('hex'),
    SegmentAddress: '',
    SegmentMAC: '',
    SegmentPort: 0,
  });
}

export const qemuDriver: DriverModule = {
  name: 'qemu',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    return new QemuDriver(mergeDriverJSON(json, {}));
  },
};
