import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MachineError } from '../../errors.js';
import type { ParsedFlags } from '../../flags/def.js';
import { flagBool, flagInt, flagString } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { pauseAt } from '../../test-pause.js';
import { bool, mergeDriverJSON, num, str } from '../base.js';
import type { Driver, DriverContext, DriverModule, MachineState } from '../driver.js';
import { ERR_HOST_NOT_RUNNING } from '../driver.js';
import * as cmd from './commands.js';
import { hypervFlags } from './flags.js';
import {
  findPowerShell,
  OVERRIDE_ENV,
  POWERSHELL_NOT_FOUND,
  PowerShell,
  VMNotFoundError,
} from './powershell.js';

/**
 * The `hyperv` driver: a Hyper-V VM on this Windows computer, through PowerShell's Hyper-V
 * module. boot2docker is gone: the VM (generation 1, BIOS) boots the qemu driver's Debian cloud
 * image converted to a VHDX, with a NoCloud seed ISO in its DVD drive (user, key, hostname, and
 * Hyper-V's integration daemons, which report the guest's address to the host). Its one network
 * adapter is on a virtual switch, where the host reaches it at the address Hyper-V reports.
 */

const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
/** hv_kvp_daemon, which gives Hyper-V the guest's addresses (Get-VM's IPAddresses). */
const GUEST_PACKAGES = ['hyperv-daemons'];

export const NO_EXTERNAL_SWITCH =
  'no External vswitch found. A valid vswitch must be available for this command to run. Check https://docs.docker.com/machine/drivers/hyper-v/';

/** The one line a create gets where Hyper-V cannot be (any system but Windows, without our override). */
export function needsWindows(platform: string = process.platform): string {
  return `The hyperv driver needs Windows with Hyper-V, and this system is ${platform}: use -d qemu (or -d virtualbox) here`;
}

interface VMInfo {
  Name: string;
  State: string;
  Path: string;
}

interface Switch {
  Name: string;
  SwitchType: string;
}

class HyperVDriver implements Driver {
  readonly driverName = 'hyperv';
  private json: DriverJSON;
  private psCache?: PowerShell;

  constructor(json: DriverJSON) {
    this.json = json;
  }

  toJSON(): DriverJSON {
    return this.json;
  }

  private set(fields: DriverJSON): void {
    this.json = { ...this.json, ...fields };
  }

  private get name(): string {
    return str(this.json, 'MachineName');
  }

  private get machineDir(): string {
    return join(str(this.json, 'StorePath'), 'machines', this.name);
  }

  private get ps(): PowerShell {
    if (!this.psCache) {
      const why = unavailable(process.env);
      if (why) throw new MachineError(why);
      const program = findPowerShell();
      if (!program) throw new MachineError(POWERSHELL_NOT_FOUND);
      this.psCache = new PowerShell(program);
    }
    return this.psCache;
  }

  async preCreateCheck(ctx: DriverContext): Promise<void> {
    if (str(this.json, 'Boot2DockerURL')) {
      ctx.log(
        '--hyperv-boot2docker-url is ignored: boot2docker is gone, and the machine boots a Debian image (--hyperv-image)',
      );
    }
    const mod = (await this.ps.run(cmd.hyperVModule, ctx.signal)).trim();
    if (mod !== 'Hyper-V') {
      throw new MachineError(
        'Hyper-V PowerShell Module is not available: turn on Hyper-V with its PowerShell module (Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V-All), then restart Windows',
      );
    }
    const r = await this.ps.json<{ HyperVAdministrator?: boolean; Administrator?: boolean }>(
      cmd.rights,
      ctx.signal,
    );
    if (!r?.HyperVAdministrator && !r?.Administrator) {
      throw new MachineError(
        'Hyper-v commands have to be run as an Administrator: run as a member of the Hyper-V Administrators group or as an Administrator',
      );
    }
    const sw = await this.chooseSwitch(ctx);
    this.set({ VSwitch: sw });
    const { requireIsoTool, requireQemuImg } = await import('./disk.js');
    requireQemuImg();
    requireIsoTool();
    if (await this.vmInfo(ctx.signal)) {
      throw new MachineError(
        `Hyper-V already has a VM named "${this.name}" that this store did not make; choose another machine name, or remove that VM in Hyper-V`,
      );
    }
  }

  /** The named switch, or as the original the first External one. */
  private async chooseSwitch(ctx: DriverContext): Promise<string> {
    const list = (await this.ps.json<Switch[] | Switch>(cmd.switches, ctx.signal)) ?? [];
    const all = Array.isArray(list) ? list : [list];
    const wanted = str(this.json, 'VSwitch');
    if (wanted) {
      if (!all.some((s) => s.Name === wanted)) {
        const names = all.map((s) => `"${s.Name}"`).join(', ');
        throw new MachineError(
          `vswitch "${wanted}" not found (Hyper-V has ${names || 'no virtual switch'}): give --hyperv-virtual-switch one of them`,
        );
      }
      return wanted;
    }
    const external = all.find((s) => s.SwitchType === 'External');
    if (!external) throw new MachineError(NO_EXTERNAL_SWITCH);
    return external.Name;
  }

  async create(ctx: DriverContext): Promise<void> {
    const dir = this.machineDir;
    const [{ generateSSHKeyPair }, { ensureBootImage }, { prepareDisk }, { writeSeed }] = await Promise.all([
      import('../../ssh/keys.js'),
      import('../qemu/image.js'),
      import('./disk.js'),
      import('../qemu/seed.js'),
    ]);
    ctx.log('Creating SSH key...');
    const keyPath = join(dir, 'id_rsa');
    const { publicLine } = await generateSSHKeyPair(keyPath);
    this.set({ SSHKeyPath: keyPath });
    await ctx.save();

    ctx.log('Finding the machine image...');
    const boot = await ensureBootImage({
      image: str(this.json, 'Image'),
      mirror: DEFAULT_MIRROR,
      cacheDir: join(str(this.json, 'StorePath'), 'cache'),
      arch: 'amd64',
      log: ctx.log,
      signal: ctx.signal,
    });
    if (boot.kernel) {
      throw new MachineError(
        `The image ${boot.source} has no boot loader of its own, and Hyper-V boots only disks that have one: give --hyperv-image a cloud image (the default, Debian's, has one)`,
      );
    }

    const disk = join(dir, 'disk.vhdx');
    ctx.log(`Creating a ${num(this.json, 'DiskSize')} MB disk from ${boot.source}...`);
    await prepareDisk(boot, disk, num(this.json, 'DiskSize'));
    const mac = str(this.json, 'MacAddr');
    const iso = await writeSeed(dir, {
      hostname: this.name,
      user: this.getSSHUsername(),
      publicKey: publicLine.trim(),
      instanceId: str(this.json, 'MachineID'),
      packages: GUEST_PACKAGES,
    });

    ctx.log('Creating VM...');
    const vm = this.name;
    await this.ps.run(
      cmd.newVM({
        name: vm,
        path: dir,
        switchName: str(this.json, 'VSwitch'),
        memoryMB: num(this.json, 'MemSize'),
      }),
      ctx.signal,
    );
    await pauseAt('hyperv-vm-created');
    if (bool(this.json, 'DisableDynamicMemory')) await this.ps.run(cmd.disableDynamicMemory(vm), ctx.signal);
    if (num(this.json, 'CPU') > 1) await this.ps.run(cmd.setProcessor(vm, num(this.json, 'CPU')), ctx.signal);
    if (mac) await this.ps.run(cmd.staticMac(vm, mac.replace(/[-:]/g, '').toUpperCase()), ctx.signal);
    if (num(this.json, 'VLanID') > 0) await this.ps.run(cmd.vlan(vm, num(this.json, 'VLanID')), ctx.signal);
    await this.ps.run(cmd.dvd(vm, iso), ctx.signal);
    await this.ps.run(cmd.addDisk(vm, disk), ctx.signal);
    await this.ps.run(cmd.bootOrder(vm), ctx.signal);

    ctx.log('Starting VM...');
    await this.ps.run(cmd.start(vm), ctx.signal);
    await pauseAt('hyperv-started');
    await this.waitForIP(ctx);
  }

  /**
   * The first IPv4 address Hyper-V reports for the VM's adapter, within --wait-timeout (the
   * original polled forever, and took the first address, which may be IPv6).
   */
  private async waitForIP(ctx: DriverContext): Promise<void> {
    ctx.log('Waiting for host to start...');
    const ip = await ctx.waitFor(
      "the VM's IPv4 address (reported by Hyper-V's integration daemons in the guest)",
      async () => {
        const info = await this.vmInfo(ctx.signal);
        if (!info) throw new VMGone(`the VM "${this.name}" is gone`);
        if (info.State !== 'Running') throw new VMGone(`the VM is ${info.State}`);
        const list = (await this.ps.json<string[] | string>(cmd.addresses(this.name), ctx.signal)) ?? [];
        const v4 = (Array.isArray(list) ? list : [list]).find((a) => /^\d{1,3}(\.\d{1,3}){3}$/.test(a));
        if (!v4)
          throw new Error(
            'no IPv4 address reported yet (the guest reports it with hyperv-daemons, which cloud-init installs at the first boot: the switch must reach a Debian mirror)',
          );
        return v4;
      },
      (err) => err instanceof VMGone,
    );
    this.set({ IPAddress: ip });
    await ctx.save();
  }

  private async vmInfo(signal?: AbortSignal): Promise<VMInfo | undefined> {
    try {
      return await this.ps.json<VMInfo>(cmd.vmInfo(this.name), signal);
    } catch (err) {
      if (err instanceof VMNotFoundError) return undefined;
      throw err;
    }
  }

  async remove(ctx: DriverContext): Promise<void> {
    const info = await this.vmInfo(ctx.signal);
    if (!info) return;
    // Only the VM this machine made: one whose folder is the machine's.
    if (!inside(info.Path, this.machineDir)) {
      ctx.log(
        `The Hyper-V VM "${this.name}" (${info.Path || 'folder unknown'}) is not this machine's: left alone`,
      );
      return;
    }
    // Remove-VM refuses a running VM; a saved one it removes with its saved state.
    const state = stateOf(info.State);
    if (state !== 'Stopped' && state !== 'Saved') await this.ps.run(cmd.turnOff(this.name), ctx.signal);
    try {
      await this.ps.run(cmd.remove(this.name), ctx.signal);
    } catch (err) {
      if (!(err instanceof VMNotFoundError)) throw err;
    }
  }

  async start(ctx: DriverContext): Promise<void> {
    const info = await this.vmInfo(ctx.signal);
    if (!info)
      throw new MachineError(`the Hyper-V VM "${this.name}" does not exist; remove the machine with rm`);
    if (info.State === 'Running') return;
    // A paused VM keeps its address; Start-VM does not resume it.
    if (info.State === 'Paused') {
      await this.ps.run(cmd.resume(this.name), ctx.signal);
      return;
    }
    await this.ps.run(cmd.start(this.name), ctx.signal);
    // DHCP may hand out another address after a stop.
    await this.waitForIP(ctx);
  }

  async stop(ctx: DriverContext): Promise<void> {
    if ((await this.getState(ctx.signal)) !== 'Running') return;
    await this.ps.run(cmd.stop(this.name), ctx.signal);
    await this.waitUntilDown(ctx);
  }

  async kill(ctx: DriverContext): Promise<void> {
    const s = await this.getState(ctx.signal);
    if (s === 'Stopped' || s === 'NotFound') return;
    await this.ps.run(cmd.turnOff(this.name), ctx.signal);
    await this.waitUntilDown(ctx);
  }

  async restart(ctx: DriverContext): Promise<void> {
    await this.stop(ctx);
    await this.start(ctx);
  }

  private async waitUntilDown(ctx: DriverContext): Promise<void> {
    await ctx.waitFor('the VM to stop', async () => {
      const s = await this.getState(ctx.signal);
      if (s === 'Running' || s === 'Stopping') throw new Error(`the VM is ${s}`);
    });
  }

  async getState(signal?: AbortSignal): Promise<MachineState> {
    const info = await this.vmInfo(signal);
    return info ? stateOf(info.State) : 'NotFound';
  }

  async getURL(signal?: AbortSignal): Promise<string> {
    if ((await this.getState(signal)) !== 'Running') throw new MachineError(ERR_HOST_NOT_RUNNING);
    const ip = str(this.json, 'IPAddress');
    return ip ? `tcp://${ip}:2376` : '';
  }

  async getIP(): Promise<string> {
    const ip = str(this.json, 'IPAddress');
    if (!ip)
      throw new MachineError(`machine "${this.name}" has no IP address yet (its create did not finish)`);
    return ip;
  }
  async getSSHHostname(): Promise<string> {
    return this.getIP();
  }
  async getSSHPort(): Promise<number> {
    return num(this.json, 'SSHPort') || 22;
  }
  getSSHUsername(): string {
    return str(this.json, 'SSHUser') || 'docker';
  }
  getSSHKeyPath(): string {
    return str(this.json, 'SSHKeyPath');
  }
}

class VMGone extends Error {}

/** Whether `path` is `dir` or inside it, as Windows compares paths (either slash, any case). */
export function inside(path: string, dir: string): boolean {
  const norm = (p: string) => p.replace(/\\/g, '/').replace(/\/+$/, '').toLowerCase();
  const p = norm(path);
  const d = norm(dir);
  return p !== '' && (p === d || p.startsWith(`${d}/`));
}

/**
 * Get-VM's State: the original knew Running and Off; the others Hyper-V has are named as the
 * other drivers name them. The "Critical" variants (the VM's storage is unreachable) keep theirs.
 */
export function stateOf(s: string): MachineState {
  switch (s.replace(/Critical$/, '')) {
    case 'Running':
      return 'Running';
    case 'Off':
      return 'Stopped';
    case 'Paused':
    case 'Pausing':
      return 'Paused';
    case 'Saved':
    case 'Saving':
    case 'FastSaved':
    case 'FastSaving':
      return 'Saved';
    case 'Starting':
    case 'Resuming':
      return 'Starting';
    case 'Stopping':
      return 'Stopping';
    default:
      return '';
  }
}

/** Why the driver cannot run here: anywhere but Windows, unless our override names a PowerShell. */
export function unavailable(env: NodeJS.ProcessEnv, platform: string = process.platform): string | undefined {
  if (platform === 'win32' || env[OVERRIDE_ENV]) return undefined;
  return needsWindows(platform);
}

function driverFromFlags(base: BaseDriverFields, parsed: ParsedFlags): Driver {
  return new HyperVDriver({
    ...base,
    SSHUser: 'docker',
    SSHPort: 22,
    Boot2DockerURL: flagString(parsed, 'hyperv-boot2docker-url'),
    VSwitch: flagString(parsed, 'hyperv-virtual-switch'),
    DiskSize: flagInt(parsed, 'hyperv-disk-size'),
    MemSize: flagInt(parsed, 'hyperv-memory'),
    CPU: flagInt(parsed, 'hyperv-cpu-count'),
    MacAddr: flagString(parsed, 'hyperv-static-macaddress'),
    VLanID: flagInt(parsed, 'hyperv-vlan-id'),
    DisableDynamicMemory: flagBool(parsed, 'hyperv-disable-dynamic-memory'),
    Image: flagString(parsed, 'hyperv-image'),
    MachineID: randomBytes(8).toString('hex'),
  });
}

export const hypervDriver: DriverModule = {
  name: 'hyperv',
  flags: hypervFlags,
  unavailable,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    return new HyperVDriver(mergeDriverJSON(json, {}));
  },
};
