import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { errorMessage, MachineError } from '../../errors.js';
import { intRange, oneOf } from '../../flags/checks.js';
import type { FlagDef, ParsedFlags } from '../../flags/def.js';
import { flagBool, flagInt, flagString } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { withFileLock } from '../../store/lock.js';
import { pauseAt } from '../../test-pause.js';
import { bool, mergeDriverJSON, num, sshOnlyEngine, str } from '../base.js';
import type { Driver, DriverContext, DriverModule, EngineEndpoint, MachineState } from '../driver.js';
import { ERR_HOST_NOT_RUNNING } from '../driver.js';
import { freePort, portTaken, sshBanner } from '../loopback.js';
import type { BootImage } from '../qemu/image.js';
import {
  allowedRanges,
  chooseHostOnlyCIDR,
  ensureHostOnlyNetwork,
  parseCIDR,
  staticAddresses,
} from './hostonly.js';
import {
  addressOfMAC,
  colonMAC,
  findVBoxManage,
  majorVersion,
  parseVMList,
  VBOX_NOT_FOUND,
  VBoxManage,
  VMNotFoundError,
} from './vboxmanage.js';

/**
 * The `virtualbox` driver, the original's default, through VBoxManage. boot2docker is gone: the
 * VM boots the qemu driver's Debian image converted to a VMDK, with a NoCloud seed on its DVD
 * drive (user, key, hostname, its host-only address, the engine's files). NIC 1 is NAT with SSH
 * and the engine forwarded on 127.0.0.1; NIC 2 is on a host-only network, where machines reach
 * each other and the host reaches them.
 */

const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const NIC_TYPES = ['Am79C970A', 'Am79C973', '82540EM', '82543GC', '82545EM', 'virtio'];
/** Attempts of the original at reading the host-only address, 4 s apart. */
const IP_ATTEMPTS = 5;
const IP_PAUSE_MS = 4000;
const STOP_GRACE_MS = 60_000;

const flags: FlagDef[] = [
  {
    name: 'virtualbox-memory',
    kind: 'int',
    default: 1024,
    envVar: 'VIRTUALBOX_MEMORY_SIZE',
    usage: 'Size of memory for host in MB',
    check: intRange(256, 4 * 1024 * 1024, 'MB of memory (at least 256: the Debian image needs it)'),
  },
  {
    name: 'virtualbox-cpu-count',
    kind: 'int',
    default: 1,
    envVar: 'VIRTUALBOX_CPU_COUNT',
    usage: 'number of CPUs for the machine (-1 to use the number of CPUs available)',
    check: (v) =>
      typeof v === 'number' && Number.isInteger(v) && v >= -1 ? undefined : 'a number of CPUs, or -1 for all',
  },
  {
    name: 'virtualbox-disk-size',
    kind: 'int',
    default: 20000,
    envVar: 'VIRTUALBOX_DISK_SIZE',
    usage: 'Size of disk for host in MB',
    check: intRange(1024, 64 * 1024 * 1024, 'MB of disk'),
  },
  {
    name: 'virtualbox-boot2docker-url',
    kind: 'string',
    envVar: 'VIRTUALBOX_BOOT2DOCKER_URL',
    usage: 'Ignored: boot2docker is gone; the machine boots a Debian image (--virtualbox-image)',
  },
  {
    name: 'virtualbox-import-boot2docker-vm',
    kind: 'string',
    envVar: 'VIRTUALBOX_BOOT2DOCKER_IMPORT_VM',
    usage: 'Ignored: boot2docker is gone; the machine boots a Debian image (--virtualbox-image)',
  },
  {
    name: 'virtualbox-host-dns-resolver',
    kind: 'bool',
    envVar: 'VIRTUALBOX_HOST_DNS_RESOLVER',
    usage: 'Use the host DNS resolver',
  },
  {
    name: 'virtualbox-nat-nictype',
    kind: 'string',
    default: '82540EM',
    envVar: 'VIRTUALBOX_NAT_NICTYPE',
    usage: 'Specify the Network Adapter Type',
    check: oneOf(NIC_TYPES),
  },
  {
    name: 'virtualbox-hostonly-cidr',
    kind: 'string',
    envVar: 'VIRTUALBOX_HOSTONLY_CIDR',
    usage:
      "Specify the Host Only CIDR (default: 192.168.99.1/24 where /etc/vbox/networks.conf allows it, else 192.168.59.1/24, inside VirtualBox's default 192.168.56.0/21)",
  },
  {
    name: 'virtualbox-hostonly-nictype',
    kind: 'string',
    default: '82540EM',
    envVar: 'VIRTUALBOX_HOSTONLY_NIC_TYPE',
    usage: 'Specify the Host Only Network Adapter Type',
    check: oneOf(NIC_TYPES),
  },
  {
    name: 'virtualbox-hostonly-nicpromisc',
    kind: 'string',
    default: 'deny',
    envVar: 'VIRTUALBOX_HOSTONLY_NIC_PROMISC',
    usage: 'Specify the Host Only Network Adapter Promiscuous Mode',
    check: oneOf(['deny', 'allow-vms', 'allow-all']),
  },
  {
    name: 'virtualbox-ui-type',
    kind: 'string',
    default: 'headless',
    envVar: 'VIRTUALBOX_UI_TYPE',
    usage: 'Specify the UI Type: (gui|sdl|headless|separate)',
    check: oneOf(['gui', 'sdl', 'headless', 'separate']),
  },
  {
    name: 'virtualbox-hostonly-no-dhcp',
    kind: 'bool',
    envVar: 'VIRTUALBOX_HOSTONLY_NO_DHCP',
    usage: 'Disable the Host Only DHCP Server',
  },
  {
    name: 'virtualbox-no-share',
    kind: 'bool',
    envVar: 'VIRTUALBOX_NO_SHARE',
    usage: 'Disable the mount of your home directory',
  },
  {
    name: 'virtualbox-no-dns-proxy',
    kind: 'bool',
    envVar: 'VIRTUALBOX_NO_DNS_PROXY',
    usage: 'Disable proxying all DNS requests to the host',
  },
  {
    name: 'virtualbox-no-vtx-check',
    kind: 'bool',
    envVar: 'VIRTUALBOX_NO_VTX_CHECK',
    usage: 'Disable checking for the availability of hardware virtualization before the vm is started',
  },
  {
    name: 'virtualbox-share-folder',
    kind: 'string',
    envVar: 'VIRTUALBOX_SHARE_FOLDER',
    usage: 'Mount the specified directory instead of the default home location. Format: dir:name',
  },
  {
    name: 'virtualbox-image',
    kind: 'string',
    envVar: 'MACHINE_VIRTUALBOX_IMAGE',
    usage:
      "Path or URL of a cloud image, or 'build' to build one from a Debian mirror (default: Debian 12's generic cloud image, as the qemu driver's --qemu-image)",
  },
  {
    name: 'virtualbox-debian-mirror',
    kind: 'string',
    default: DEFAULT_MIRROR,
    envVar: 'MACHINE_VIRTUALBOX_DEBIAN_MIRROR',
    usage: 'Debian mirror that a built image comes from',
  },
];

class VirtualBoxDriver implements Driver {
  readonly driverName = 'virtualbox';
  private json: DriverJSON;
  private vboxCache?: VBoxManage;

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

  private get storePath(): string {
    return str(this.json, 'StorePath');
  }

  private get machineDir(): string {
    return join(this.storePath, 'machines', this.name);
  }

  private get vbox(): VBoxManage {
    if (!this.vboxCache) {
      const program = findVBoxManage();
      if (!program) throw new MachineError(VBOX_NOT_FOUND);
      this.vboxCache = new VBoxManage(program);
    }
    return this.vboxCache;
  }

  async preCreateCheck(ctx: DriverContext): Promise<void> {
    for (const [flag, key] of [
      ['--virtualbox-boot2docker-url', 'Boot2DockerURL'],
      ['--virtualbox-import-boot2docker-vm', 'Boot2DockerImportVM'],
    ] as const) {
      if (str(this.json, key)) {
        ctx.log(
          `${flag} is ignored: boot2docker is gone, and the machine boots a Debian image (--virtualbox-image)`,
        );
      }
    }
    const version = (await this.vbox.run(['--version'], ctx.signal)).trim();
    const major = majorVersion(version);
    if (major === undefined || major < 5) {
      throw new MachineError(
        `We support Virtualbox starting with version 5. Your VirtualBox install is "${version}". Please upgrade at https://www.virtualbox.org`,
      );
    }
    if (!bool(this.json, 'NoVTXCheck') && vtxMissing()) {
      throw new MachineError(
        "This computer doesn't have VT-X/AMD-v enabled. Enabling it in the BIOS is mandatory (or give --virtualbox-no-vtx-check to try without it)",
      );
    }
    const cidr = chooseHostOnlyCIDR(str(this.json, 'HostOnlyCIDR'), allowedRanges());
    this.set({ HostOnlyCIDR: cidr });
    const vms = parseVMList(await this.vbox.run(['list', 'vms'], ctx.signal));
    if (vms.some((v) => v.name === this.name)) {
      throw new MachineError(
        `VirtualBox already has a VM named "${this.name}" that this store did not make; choose another machine name, or remove that VM in VirtualBox`,
      );
    }
    // The original's last check: host-only interfaces can be listed.
    await this.vbox.run(['list', 'hostonlyifs'], ctx.signal);
    const share = this.shareFolder();
    if (share && !existsSync(share.dir))
      ctx.debug(`the shared folder ${share.dir} does not exist: not shared`);
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
      mirror: str(this.json, 'DebianMirror') || DEFAULT_MIRROR,
      cacheDir: join(this.storePath, 'cache'),
      log: ctx.log,
      signal: ctx.signal,
    });
    if (boot.kernel) {
      ctx.log(
        `The image ${boot.source} has no boot loader of its own: VirtualBox's BIOS cannot boot it (a VBoxManage that boots kernels itself can); the default image can`,
      );
    }
    this.set({ Boot: boot as unknown as DriverJSON[string] });
    await ctx.save();

    ctx.log(`Creating a ${num(this.json, 'DiskSize')} MB disk from ${boot.source}...`);
    await prepareDisk(boot, join(dir, 'disk.vmdk'), num(this.json, 'DiskSize'));

    ctx.log('Check network to re-create if needed...');
    await this.hostOnly(ctx);
    await this.allocateAddress(ctx);

    const engine = await this.seededEngine(ctx, boot);
    const cidr = parseCIDR(str(this.json, 'HostOnlyCIDR'));
    await writeSeed(dir, {
      engine,
      hostname: this.name,
      user: this.getSSHUsername(),
      publicKey: publicLine.trim(),
      instanceId: str(this.json, 'MachineID'),
      primaryMac: colonMAC(str(this.json, 'NatMAC')),
      segment: {
        address: `${str(this.json, 'IPAddress')}/${cidr?.prefix ?? 24}`,
        mac: colonMAC(str(this.json, 'HostOnlyMAC')),
      },
    });

    ctx.log('Creating VirtualBox VM...');
    await this.vbox.run(['createvm', '--basefolder', dir, '--name', this.name, '--register'], ctx.signal);
    await pauseAt('virtualbox-registered');
    await this.configureVM(ctx);
    ctx.log('Starting the VM...');
    await this.boot_(ctx);
  }

  private async seededEngine(ctx: DriverContext, boot: BootImage) {
    if (!boot.engine || !ctx.seedEngine) return undefined;
    const { port, certSANs } = await this.engineEndpoint();
    return ctx.seedEngine({ ip: '127.0.0.1', certSANs, port, ...boot.engine });
  }

  /** The original's settings, less boot2docker's: the VM boots its disk; the DVD is the seed. */
  private async configureVM(ctx: DriverContext): Promise<void> {
    const vm = this.name;
    const onOff = (b: boolean) => (b ? 'on' : 'off');
    const run = (args: string[]) => this.vbox.run(args, ctx.signal);
    await run([
      'modifyvm',
      vm,
      '--firmware',
      'bios',
      '--bioslogofadein',
      'off',
      '--bioslogofadeout',
      'off',
      '--bioslogodisplaytime',
      '0',
      '--biosbootmenu',
      'disabled',
      '--ostype',
      'Debian_64',
      '--cpus',
      String(num(this.json, 'CPU')),
      '--memory',
      String(num(this.json, 'Memory')),
      '--acpi',
      'on',
      '--ioapic',
      'on',
      '--rtcuseutc',
      'on',
      '--natdnshostresolver1',
      onOff(bool(this.json, 'HostDNSResolver')),
      '--natdnsproxy1',
      onOff(bool(this.json, 'DNSProxy')),
      '--cpuhotplug',
      'off',
      '--pae',
      'on',
      '--hpet',
      'on',
      '--hwvirtex',
      'on',
      '--nestedpaging',
      'on',
      '--largepages',
      'on',
      '--vtxvpid',
      'on',
      '--accelerate3d',
      'off',
      '--boot1',
      'disk',
      '--boot2',
      'dvd',
    ]);
    await run([
      'modifyvm',
      vm,
      '--nic1',
      'nat',
      '--nictype1',
      str(this.json, 'NatNicType'),
      '--macaddress1',
      str(this.json, 'NatMAC'),
      '--cableconnected1',
      'on',
    ]);
    await run(['storagectl', vm, '--name', 'SATA', '--add', 'sata', '--hostiocache', 'on']);
    const dir = this.machineDir;
    const attach = (port: string, type: string, medium: string) =>
      run([
        'storageattach',
        vm,
        '--storagectl',
        'SATA',
        '--port',
        port,
        '--device',
        '0',
        '--type',
        type,
        '--medium',
        medium,
      ]);
    await attach('0', 'dvddrive', join(dir, 'seed.iso'));
    await attach('1', 'hdd', join(dir, 'disk.vmdk'));
    await this.attachHostOnly(ctx);
    const share = this.shareFolder();
    if (share && existsSync(share.dir)) {
      await run(['guestproperty', 'set', vm, '/VirtualBox/GuestAdd/SharedFolders/MountPrefix', '/']);
      await run(['guestproperty', 'set', vm, '/VirtualBox/GuestAdd/SharedFolders/MountDir', '/']);
      await run(['sharedfolder', 'add', vm, '--name', share.name, '--hostpath', share.dir, '--automount']);
      await run(['setextradata', vm, `VBoxInternal2/SharedFoldersEnableSymlinksCreate/${share.name}`, '1']);
    }
  }

  /** --virtualbox-share-folder dir:name, else the original's default per system; none with --virtualbox-no-share. */
  private shareFolder(): { dir: string; name: string } | undefined {
    if (bool(this.json, 'NoShare')) return undefined;
    const given = str(this.json, 'ShareFolder');
    if (given) {
      const i = given.lastIndexOf(':');
      return { dir: given.slice(0, i), name: given.slice(i + 1) };
    }
    if (process.platform === 'darwin') return { dir: '/Users', name: 'Users' };
    if (process.platform === 'win32') return { dir: '\\\\?\\c:\\Users', name: 'c/Users' };
    return { dir: '/home', name: 'hosthome' };
  }

  /** The host-only interface for the machine's network, made (with its DHCP server) if missing. */
  private async hostOnly(ctx: DriverContext): Promise<void> {
    const name = await ensureHostOnlyNetwork(this.vbox, str(this.json, 'HostOnlyCIDR'), {
      noDHCP: bool(this.json, 'HostOnlyNoDHCP'),
      log: ctx.log,
      signal: ctx.signal,
    });
    this.set({ HostOnlyInterface: name });
    await ctx.save();
  }

  private async attachHostOnly(ctx: DriverContext): Promise<void> {
    await this.vbox.run(
      [
        'modifyvm',
        this.name,
        '--nic2',
        'hostonly',
        '--nictype2',
        str(this.json, 'HostOnlyNicType'),
        '--nicpromisc2',
        str(this.json, 'HostOnlyPromiscMode'),
        '--hostonlyadapter2',
        str(this.json, 'HostOnlyInterface'),
        // A machine of the original's store has none recorded: VirtualBox keeps the one it has.
        ...(str(this.json, 'HostOnlyMAC') ? ['--macaddress2', str(this.json, 'HostOnlyMAC')] : []),
        '--cableconnected2',
        'on',
      ],
      ctx.signal,
    );
  }

  /**
   * The machine's address on the host-only network, below the DHCP server's range and unlike
   * any other machine's of this store on the same network (chosen under the store's lock).
   */
  private async allocateAddress(ctx: DriverContext): Promise<void> {
    const cidr = str(this.json, 'HostOnlyCIDR');
    const lock = join(this.storePath, 'cache', 'virtualbox-addresses.lock');
    await withFileLock(
      lock,
      { what: 'VirtualBox host-only addresses', doing: 'choosing an address' },
      async () => {
        const taken = new Set<string>();
        const machines = join(this.storePath, 'machines');
        for (const m of await readdir(machines).catch(() => [] as string[])) {
          if (m === this.name) continue;
          try {
            const cfg = JSON.parse(await readFile(join(machines, m, 'config.json'), 'utf8'));
            if (cfg.DriverName === 'virtualbox' && cfg.Driver?.HostOnlyCIDR === cidr)
              taken.add(cfg.Driver.IPAddress);
          } catch {}
        }
        const free = staticAddresses(cidr).find((a) => !taken.has(a));
        if (!free) {
          throw new MachineError(
            `the host-only network ${cidr} has no address left for another machine; remove one, or give --virtualbox-hostonly-cidr another network`,
          );
        }
        this.set({ IPAddress: free });
        await ctx.save();
      },
    );
  }

  /** Forwards on 127.0.0.1 (kept from the last start when still free), then startvm and the waits. */
  private async boot_(ctx: DriverContext): Promise<void> {
    const vm = this.name;
    let ssh = num(this.json, 'SSHPort');
    if (ssh === 0 || (await portTaken(ssh))) ssh = await freePort();
    this.set({ SSHPort: ssh });
    const original = this.madeByOriginal;
    if (!original && !sshOnlyEngine(this.json)) {
      let engine = num(this.json, 'EnginePort');
      while (engine === 0 || engine === ssh || (await portTaken(engine))) engine = await freePort();
      this.set({ EnginePort: engine });
    }
    await ctx.save();
    for (const rule of original ? ['ssh'] : ['ssh', 'docker']) {
      await this.vbox.run(['modifyvm', vm, '--natpf1', 'delete', rule], ctx.signal).catch(() => {});
    }
    for (const rule of natForwards(this.json, original)) {
      await this.vbox.run(['modifyvm', vm, '--natpf1', rule], ctx.signal);
    }
    await this.vbox.run(['startvm', vm, '--type', str(this.json, 'UIType') || 'headless'], ctx.signal);
    await pauseAt('virtualbox-started');
    this.checkVTX();
    await this.waitForSSH(ctx);
    await this.learnIP(ctx);
  }

  /** What VirtualBox logs when it started the VM without hardware virtualization. */
  private checkVTX(): void {
    if (bool(this.json, 'NoVTXCheck')) return;
    const log = join(this.machineDir, this.name, 'Logs', 'VBox.log');
    let text = '';
    try {
      text = readFileSync(log, 'utf8');
    } catch {
      return;
    }
    if (/VT-x is not available|AMD-V is not available|VERR_VMX_NO_VMX|VERR_SVM_NO_SVM/.test(text)) {
      throw new MachineError(
        "This computer doesn't have VT-X/AMD-v enabled. Enabling it in the BIOS is mandatory",
      );
    }
  }

  private async waitForSSH(ctx: DriverContext): Promise<void> {
    const port = num(this.json, 'SSHPort');
    ctx.log('Waiting for the VM to boot (SSH)...');
    await ctx.waitFor(
      `the VM to boot to SSH on 127.0.0.1:${port}`,
      async () => {
        const s = await this.getState();
        if (s !== 'Running') throw new VMStopped(`the VM is ${s || 'in an unknown state'}`);
        // The NAT forward accepts before the guest listens: the banner says sshd answers.
        await sshBanner('127.0.0.1', port, 15_000);
      },
      (err) => err instanceof VMStopped,
    );
  }

  /** The original's way: the address on the NIC with NIC 2's MAC, read over SSH. */
  private async learnIP(ctx: DriverContext): Promise<void> {
    ctx.log('Waiting for an IP...');
    const info = await this.vbox.vmInfo(this.name, ctx.signal);
    const mac = info?.get('macaddress2') ?? str(this.json, 'HostOnlyMAC');
    let last = '';
    for (let i = 1; i <= IP_ATTEMPTS; i++) {
      try {
        const ssh = await ctx.ssh();
        try {
          const r = await ssh.run('ip addr show', { timeoutMs: 15_000 });
          const ip = addressOfMAC(r.stdout, mac);
          if (ip) {
            if (ip !== str(this.json, 'IPAddress')) ctx.debug(`the host-only address is ${ip}`);
            this.set({ IPAddress: ip });
            await ctx.save();
            return;
          }
          last = `no IPv4 address on the NIC with MAC ${colonMAC(mac)}`;
        } finally {
          await ssh.close();
        }
      } catch (err) {
        last = errorMessage(err);
      }
      if (i < IP_ATTEMPTS) await new Promise((r) => setTimeout(r, IP_PAUSE_MS));
    }
    throw new MachineError(`the VM's host-only address could not be read over SSH: ${last}`);
  }

  async remove(ctx: DriverContext): Promise<void> {
    const info = await this.vbox.vmInfo(this.name, ctx.signal);
    if (!info) return;
    // Only the VM this machine made: one whose settings file is in the machine's folder.
    const cfg = info.get('CfgFile') ?? '';
    const inside = cfg !== '' && !relative(this.machineDir, resolve(cfg)).startsWith('..');
    if (!inside) {
      ctx.log(
        `The VirtualBox VM "${this.name}" (${cfg || 'settings file unknown'}) is not this machine's: left alone`,
      );
      return;
    }
    if (isUp(info.get('VMState') ?? '')) await this.kill(ctx);
    try {
      await this.vbox.run(['unregistervm', this.name, '--delete'], ctx.signal);
    } catch (err) {
      if (!(err instanceof VMNotFoundError)) throw err;
    }
  }

  async start(ctx: DriverContext): Promise<void> {
    const info = await this.vbox.vmInfo(this.name, ctx.signal);
    if (!info)
      throw new MachineError(`the VirtualBox VM "${this.name}" does not exist; remove the machine with rm`);
    const state = info.get('VMState') ?? '';
    if (state === 'paused') {
      await this.vbox.run(['controlvm', this.name, 'resume'], ctx.signal);
      return;
    }
    if (state === 'running') return;
    ctx.log('Check network to re-create if needed...');
    await this.hostOnly(ctx);
    await this.attachHostOnly(ctx);
    ctx.log('Starting the VM...');
    await this.boot_(ctx);
  }

  async stop(ctx: DriverContext): Promise<void> {
    if (!isUp(await this.vmState(ctx.signal))) return;
    ctx.log('Stopping the VM (ACPI power button)...');
    await this.vbox.run(['controlvm', this.name, 'acpipowerbutton'], ctx.signal);
    const deadline = Date.now() + STOP_GRACE_MS;
    while (Date.now() < deadline) {
      if (!isUp(await this.vmState(ctx.signal))) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
    ctx.log(`The VM did not power down within ${STOP_GRACE_MS / 1000} s; powering it off`);
    await this.kill(ctx);
  }

  async restart(ctx: DriverContext): Promise<void> {
    await this.stop(ctx);
    await this.start(ctx);
  }

  async kill(ctx: DriverContext): Promise<void> {
    if (!isUp(await this.vmState(ctx.signal))) return;
    await this.vbox.run(['controlvm', this.name, 'poweroff'], ctx.signal);
  }

  private async vmState(signal?: AbortSignal): Promise<string | undefined> {
    return (await this.vbox.vmInfo(this.name, signal))?.get('VMState');
  }

  async getState(signal?: AbortSignal): Promise<MachineState> {
    const s = await this.vmState(signal);
    return s === undefined ? 'NotFound' : stateOf(s);
  }

  async getURL(signal?: AbortSignal): Promise<string> {
    if ((await this.getState(signal)) !== 'Running') throw new MachineError(ERR_HOST_NOT_RUNNING);
    return engineURL(this.json);
  }

  /**
   * A machine the original made (a boot2docker VM, whose engine certificate names its host-only
   * address, not 127.0.0.1) has no EnginePort: it keeps the original's URL and forwards.
   */
  private get madeByOriginal(): boolean {
    return !Object.hasOwn(this.json, 'EnginePort');
  }

  /** The engine listens on 2376 in the VM; its certificate also names the host-only address. */
  async engineEndpoint(): Promise<EngineEndpoint> {
    const ip = str(this.json, 'IPAddress');
    return { port: 2376, certSANs: [...(ip ? [ip] : []), this.name] };
  }

  async clusterAddress(): Promise<string> {
    return this.getIP();
  }

  async getIP(): Promise<string> {
    const ip = str(this.json, 'IPAddress');
    if (!ip)
      throw new MachineError(
        `machine "${this.name}" has no host-only address yet (its create did not finish)`,
      );
    return ip;
  }
  async getSSHHostname(): Promise<string> {
    return '127.0.0.1';
  }
  async getSSHPort(): Promise<number> {
    return num(this.json, 'SSHPort');
  }
  getSSHUsername(): string {
    return str(this.json, 'SSHUser') || 'docker';
  }
  getSSHKeyPath(): string {
    return str(this.json, 'SSHKeyPath');
  }
}

class VMStopped extends Error {}

function isUp(state: string | undefined): boolean {
  return state === 'running' || state === 'paused' || state === 'starting' || state === 'stopping';
}

/**
 * The NAT forwards on 127.0.0.1: SSH, and the engine's 2376 unless the engine is SSH-only or the
 * machine is the original's (which reached its engine on the host-only address).
 */
export function natForwards(json: DriverJSON, original: boolean): string[] {
  const out = [`ssh,tcp,127.0.0.1,${num(json, 'SSHPort')},,22`];
  if (!original && !sshOnlyEngine(json)) out.push(`docker,tcp,127.0.0.1,${num(json, 'EnginePort')},,2376`);
  return out;
}

/** The engine's URL: the NAT forward on 127.0.0.1, or for the original's machines its host-only address. */
export function engineURL(json: DriverJSON): string {
  if (Object.hasOwn(json, 'EnginePort')) return `tcp://127.0.0.1:${num(json, 'EnginePort')}`;
  const ip = str(json, 'IPAddress');
  return ip ? `tcp://${ip}:2376` : '';
}

/** VMState of showvminfo --machinereadable, as the original read it. */
export function stateOf(s: string): MachineState {
  switch (s) {
    case 'running':
      return 'Running';
    case 'paused':
      return 'Paused';
    case 'saved':
      return 'Saved';
    case 'poweroff':
    case 'aborted':
      return 'Stopped';
    case 'starting':
    case 'restoring':
      return 'Starting';
    case 'stopping':
      return 'Stopping';
    default:
      return '';
  }
}

/** The host has no VT-x/AMD-V (Linux: the CPU flags; elsewhere VirtualBox's log says it after start). */
function vtxMissing(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    return !/^flags\s*:.*\b(vmx|svm)\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** A MAC in VirtualBox's form, with its own OUI (08:00:27). */
function newMAC(): string {
  return `080027${randomBytes(3).toString('hex').toUpperCase()}`;
}

function driverFromFlags(base: BaseDriverFields, parsed: ParsedFlags): Driver {
  let cpu = flagInt(parsed, 'virtualbox-cpu-count');
  if (cpu < 1) cpu = cpus().length;
  cpu = Math.min(cpu, 32);
  const share = flagString(parsed, 'virtualbox-share-folder');
  if (share !== '' && !/^.+:[^:]+$/.test(share)) {
    throw new MachineError(`--virtualbox-share-folder ${share} is not dir:name (e.g. /home:hosthome)`);
  }
  const cidr = flagString(parsed, 'virtualbox-hostonly-cidr');
  if (cidr !== '' && !parseCIDR(cidr)) {
    throw new MachineError(
      `--virtualbox-hostonly-cidr ${cidr} is not an IPv4 address with a prefix, like 192.168.56.1/24`,
    );
  }
  return new VirtualBoxDriver({
    ...base,
    SSHUser: 'docker',
    VBoxManager: {},
    HostInterfaces: {},
    CPU: cpu,
    Memory: flagInt(parsed, 'virtualbox-memory'),
    DiskSize: flagInt(parsed, 'virtualbox-disk-size'),
    NatNicType: flagString(parsed, 'virtualbox-nat-nictype') || '82540EM',
    Boot2DockerURL: flagString(parsed, 'virtualbox-boot2docker-url'),
    Boot2DockerImportVM: flagString(parsed, 'virtualbox-import-boot2docker-vm'),
    HostDNSResolver: flagBool(parsed, 'virtualbox-host-dns-resolver'),
    HostOnlyCIDR: cidr,
    HostOnlyNicType: flagString(parsed, 'virtualbox-hostonly-nictype') || '82540EM',
    HostOnlyPromiscMode: flagString(parsed, 'virtualbox-hostonly-nicpromisc') || 'deny',
    UIType: flagString(parsed, 'virtualbox-ui-type') || 'headless',
    HostOnlyNoDHCP: flagBool(parsed, 'virtualbox-hostonly-no-dhcp'),
    NoShare: flagBool(parsed, 'virtualbox-no-share'),
    DNSProxy: !flagBool(parsed, 'virtualbox-no-dns-proxy'),
    NoVTXCheck: flagBool(parsed, 'virtualbox-no-vtx-check'),
    ShareFolder: share,
    Image: flagString(parsed, 'virtualbox-image'),
    DebianMirror: flagString(parsed, 'virtualbox-debian-mirror'),
    EnginePort: 0,
    HostOnlyInterface: '',
    HostOnlyMAC: newMAC(),
    NatMAC: newMAC(),
    MachineID: randomBytes(8).toString('hex'),
  });
}

export const virtualboxDriver: DriverModule = {
  name: 'virtualbox',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    return new VirtualBoxDriver(mergeDriverJSON(json, {}));
  },
};
