import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MachineError } from '../../errors.js';
import type { ParsedFlags } from '../../flags/def.js';
import { flagBool, flagInt, flagSlice, flagString } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { mergeDriverJSON, num, str } from '../base.js';
import { CloudDriver } from '../cloud/driver.js';
import { isGone } from '../cloud/errors.js';
import type { Ledger, ResourceKind } from '../cloud/ledger.js';
import { trustedCAs } from '../cloud/trust.js';
import type { ServerStatus } from '../cloud/wait.js';
import type { Driver, DriverContext, DriverModule, MachineState } from '../driver.js';
import { CREATION_TYPES, type CreationType, flags } from './flags.js';
import { guestAddress } from './guest.js';
import { type NetworkBacking, resolveDatacenter, resolvePlacement, resolveSource } from './inventory.js';
import { deployLibraryItem, findLibraryItem, type LibraryItem } from './library.js';
import { items, moRef, textOf, VimClient } from './soap/client.js';
import { type MoRef, ref, val } from './soap/envelope.js';
import { VimFault } from './soap/fault.js';
import { child, childText, xsiType } from './soap/xml.js';
import { cdromAdd, cloneArgs, cloneReconfig, type Device, newVMConfig, reconfigSpec } from './spec.js';
import { guestinfo } from './userdata.js';

/**
 * The `vmwarevsphere` driver: a VM on vCenter or ESXi through the vim25 SOAP API. The main path
 * clones a template (or a VM) made from a cloud image and gives cloud-init the machine's user and
 * SSH key through guestinfo; the legacy path makes a new VM booting an ISO the user gives, with a
 * NoCloud seed. The VM's address comes from VMware Tools. What create made (the VM, the legacy
 * path's datastore folder) is in the ledger; rm powers the VM off, destroys it with its files and
 * deletes the folder.
 */

const ID_KEY = 'docker-machine.id';
const TASK_TIMEOUT_MS = 30 * 60_000;

interface Resolved {
  dcPath: string;
  datacenter: MoRef;
  folder: MoRef;
  pool: MoRef;
  host?: MoRef;
  datastore: MoRef;
  datastoreName: string;
  networks: NetworkBacking[];
  source?: MoRef;
  libraryItem?: LibraryItem;
}

class VSphereDriver extends CloudDriver {
  readonly driverName = 'vmwarevsphere';
  protected readonly provider = 'vSphere';
  protected readonly serverNoun = 'VM';
  protected readonly pollIntervalMs = Number(process.env.MACHINE_VSPHERE_POLL_MS) || 1000;
  private client: VimClient | undefined;

  private get creationType(): CreationType {
    return (str(this.json, 'CreationType') as CreationType) || 'legacy';
  }

  private get vm(): MoRef | undefined {
    const v = str(this.json, 'VMRef');
    return v ? { type: 'VirtualMachine', value: v } : undefined;
  }

  private get resolved(): Resolved {
    const r = this.json.Resolved as unknown as Resolved | undefined;
    if (!r?.datacenter)
      throw new MachineError(`machine "${this.machineName}" was never placed in vSphere; remove it with rm`);
    return r;
  }

  protected serverLabel(): string {
    const id = this.vm?.value;
    return `VM ${this.machineName}${id ? ` (${id})` : ''}`;
  }

  private get username(): string {
    return str(this.json, 'Username') || process.env.VSPHERE_USERNAME || '';
  }
  private get password(): string {
    return str(this.json, 'Password') || process.env.VSPHERE_PASSWORD || '';
  }

  /** A logged-in session, opened once per command and closed by `session`. */
  private async connect(ctx?: Pick<DriverContext, 'debug'>): Promise<VimClient> {
    if (this.client) return this.client;
    // A machine of the original has neither setting (it never verified): the environment's, if any.
    const original = !('Insecure' in this.json);
    const cacert = original ? process.env.VSPHERE_CACERT || '' : str(this.json, 'CACert');
    let ca: string[] | undefined;
    if (cacert) {
      const pem = await readFile(cacert, 'utf8').catch(() => '');
      if (!pem.includes('BEGIN CERTIFICATE'))
        throw new MachineError(`--vmwarevsphere-cacert ${cacert} is not a readable PEM certificate file`);
      ca = [...trustedCAs(), pem];
    }
    const c = new VimClient({
      host: str(this.json, 'IP'),
      port: num(this.json, 'Port') || 443,
      insecure: original
        ? /^(1|true)$/i.test(process.env.VSPHERE_INSECURE ?? '')
        : this.json.Insecure === true,
      ca,
      debug: ctx?.debug,
    });
    await c.connect();
    try {
      await c.login(this.username, this.password);
    } catch (err) {
      await c.logout();
      if (err instanceof VimFault && err.code === 'InvalidLogin')
        throw new MachineError(
          `vSphere at ${c.base} refused the user name or password (--vmwarevsphere-username, --vmwarevsphere-password): ${err.apiMessage}`,
        );
      throw err;
    }
    this.client = c;
    return c;
  }

  private async session<T>(
    ctx: Pick<DriverContext, 'debug'> | undefined,
    fn: (c: VimClient) => Promise<T>,
  ): Promise<T> {
    const outer = !this.client;
    const c = await this.connect(ctx);
    try {
      return await fn(c);
    } finally {
      if (outer) {
        this.client = undefined;
        await c.logout();
      }
    }
  }

  async preCreateCheck(ctx: DriverContext): Promise<void> {
    const name = this.machineName;
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(name))
      throw new MachineError(
        `the VM's guest host name would be ${name}: letters, digits, . and - only, at most 63`,
      );
    const type = this.creationType;
    const from = str(this.json, 'CloneFrom');
    if ((type === 'vm' || type === 'template' || type === 'library') && !from)
      throw new MachineError(
        `--vmwarevsphere-creation-type ${type} needs --vmwarevsphere-clone-from (the ${type === 'library' ? 'library item' : type} to start from)`,
      );
    if (type === 'legacy') {
      const iso = str(this.json, 'Boot2DockerURL');
      if (!iso)
        throw new MachineError(
          'creation type legacy needs a boot ISO (--vmwarevsphere-boot2docker-url): boot2docker is gone; or clone a cloud-init template with --vmwarevsphere-clone-from NAME',
        );
      if (!/^https?:\/\//.test(iso) && !(await stat(iso).catch(() => undefined))?.isFile())
        throw new MachineError(`the boot ISO ${iso} (--vmwarevsphere-boot2docker-url) could not be found`);
    }
    const cc = str(this.json, 'CloudConfig');
    if (cc && !(await stat(cc).catch(() => undefined))?.isFile())
      throw new MachineError(`cloud-config file ${cc} (--vmwarevsphere-cloud-config) could not be found`);
    const ci = str(this.json, 'CloudInit');
    if (ci && !/^https?:\/\//.test(ci) && !(await stat(ci).catch(() => undefined))?.isFile())
      throw new MachineError(
        `cloud-init file ${ci} (--vmwarevsphere-cloudinit) could not be found; give a file or an http(s) URL`,
      );

    await this.session(ctx, async (c) => {
      const p = await resolvePlacement(c, {
        datacenter: str(this.json, 'Datacenter'),
        folder: str(this.json, 'Folder'),
        datastore: str(this.json, 'Datastore'),
        datastoreCluster: str(this.json, 'DatastoreCluster'),
        networks: this.list('Network').length || type === 'legacy' ? this.networksOrDefault() : [],
        hostSystem: str(this.json, 'HostSystem'),
        pool: str(this.json, 'Pool'),
      });
      if (await c.findChild(p.folder, name))
        throw new MachineError(
          `a VM named ${name} already exists in that folder of datacenter ${p.dcPath}; choose another machine name`,
        );
      const source =
        type === 'vm' || type === 'template'
          ? await resolveSource(c, p.dcPath, p.datacenter, from, type === 'template')
          : undefined;
      let libraryItem: LibraryItem | undefined;
      if (type === 'library') {
        await c.restLogin(this.username, this.password);
        libraryItem = await findLibraryItem(c, str(this.json, 'ContentLibrary'), from);
      }
      const r: Resolved = {
        dcPath: p.dcPath,
        datacenter: p.datacenter,
        folder: p.folder,
        pool: p.pool,
        host: p.host,
        datastore: p.datastore,
        datastoreName: p.datastoreName,
        networks: p.networks.map((n) => n.backing),
        source,
        libraryItem,
      };
      this.set({ Resolved: r as unknown as DriverJSON[string], DatastoreName: p.datastoreName });
    });
  }

  private list(key: string): string[] {
    const v = this.json[key];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
  }

  private networksOrDefault(): string[] {
    const n = this.list('Network');
    return n.length ? n : ['VM Network'];
  }

  override async create(ctx: DriverContext): Promise<void> {
    await this.session(ctx, () => super.create(ctx));
  }

  protected async createKey(ctx: DriverContext): Promise<void> {
    const dest = join(str(this.json, 'StorePath'), 'machines', this.machineName, 'id_rsa');
    const { generateSSHKeyPair } = await import('../../ssh/keys.js');
    await generateSSHKeyPair(dest);
    this.set({ SSHKeyPath: dest });
    await ctx.save();
  }

  private async extra(publicKey: string): Promise<[string, string][]> {
    const out = await guestinfo({
      hostname: this.machineName,
      user: str(this.json, 'SSHUser') || 'docker',
      publicKey,
      instanceId: `docker-machine-${this.machineName}-${str(this.json, 'MachineID')}`,
      cloudConfig: str(this.json, 'CloudConfig'),
      cloudInit: str(this.json, 'CloudInit'),
    });
    for (const kv of this.list('CfgParams')) {
      const i = kv.indexOf('=');
      out.push([kv.slice(0, i), kv.slice(i + 1)]);
    }
    out.push([ID_KEY, str(this.json, 'MachineID')]);
    return out;
  }

  protected async createServer(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const c = await this.connect(ctx);
    const r = this.resolved;
    const publicKey = (await readFile(`${str(this.json, 'SSHKeyPath')}.pub`, 'utf8')).trim();
    const extra = await this.extra(publicKey);
    const path = this.vmPath();
    const hw = {
      numCPUs: num(this.json, 'CPU') || 2,
      memoryMB: num(this.json, 'Memory') || 2048,
      diskMB: num(this.json, 'DiskSize') || 20480,
    };
    let vm: MoRef | undefined;
    if (this.creationType === 'legacy') {
      const { dir, boot, seed } = await this.uploadISOs(ctx, c, ledger, r, publicKey);
      const entry = await ledger.intend('vm', { by: 'path', value: path }, `VM ${this.machineName}`);
      const result = await c.runTask(
        'CreateVM_Task',
        r.folder,
        newVMConfig({
          name: this.machineName,
          guestId: guestId(str(this.json, 'OS')),
          datastoreName: r.datastoreName,
          ...hw,
          networks: r.networks,
          extra,
        }) +
          ref('pool', r.pool) +
          ref('host', r.host),
        `creating VM ${this.machineName}`,
        TASK_TIMEOUT_MS,
        ctx.signal,
      );
      vm = moRef(result);
      if (!vm) throw new VimFault('SystemError', 'CreateVM_Task answered no VM');
      await ledger.made(entry, vm.value);
      this.set({ VMRef: vm.value });
      await ctx.save();
      const ide = (await this.devices(c, vm))
        .filter((d) => d.type === 'VirtualIDEController')
        .map((d) => d.key);
      if (!ide.length) throw new MachineError(`VM ${this.machineName} has no IDE controller for its CD-ROMs`);
      await c.runTask(
        'ReconfigVM_Task',
        vm,
        reconfigSpec([
          cdromAdd(-300, ide[0], 0, `[${r.datastoreName}] ${dir}/${boot}`, r.datastore),
          cdromAdd(
            -301,
            ide[1] ?? ide[0],
            ide[1] ? 0 : 1,
            `[${r.datastoreName}] ${dir}/${seed}`,
            r.datastore,
          ),
        ]),
        `adding the CD-ROMs to ${this.serverLabel()}`,
        TASK_TIMEOUT_MS,
        ctx.signal,
      );
    } else if (this.creationType === 'library') {
      const item = r.libraryItem;
      if (!item) throw new MachineError(`machine "${this.machineName}" has no library item`);
      ctx.log(
        `Deploying ${str(this.json, 'CloneFrom')} from content library ${str(this.json, 'ContentLibrary')}...`,
      );
      // The deploy cannot carry this machine's mark: rm takes the VM at this path as its own
      // (pre-create checked that no VM had that name).
      const entry = await ledger.intend('vm', { by: 'deployed-path', value: path }, `VM ${this.machineName}`);
      await c.restLogin(this.username, this.password);
      vm = await deployLibraryItem(c, item, this.machineName, r);
      await ledger.made(entry, vm.value);
      this.set({ VMRef: vm.value });
      await ctx.save();
      // vcsim 0.24.2 deploys a VM template item as a template; vSphere deploys a VM.
      if (textOf((await c.props(vm, ['config.template']))['config.template']) === 'true')
        await c.call('MarkAsVirtualMachine', vm, ref('pool', r.pool) + ref('host', r.host));
      await c.runTask(
        'ReconfigVM_Task',
        vm,
        cloneReconfig({ ...hw, devices: await this.devices(c, vm), networks: r.networks, extra }),
        `configuring ${this.serverLabel()}`,
        TASK_TIMEOUT_MS,
        ctx.signal,
      );
    } else {
      if (!r.source) throw new MachineError(`machine "${this.machineName}" has no clone source`);
      ctx.log(`Cloning ${str(this.json, 'CloneFrom')}...`);
      const entry = await ledger.intend('vm', { by: 'path', value: path }, `VM ${this.machineName}`);
      const result = await c.runTask(
        'CloneVM_Task',
        r.source,
        cloneArgs({
          folder: r.folder,
          name: this.machineName,
          datastore: r.datastore,
          pool: r.pool,
          host: r.host,
          extra,
        }),
        `cloning ${str(this.json, 'CloneFrom')} to ${this.machineName}`,
        TASK_TIMEOUT_MS,
        ctx.signal,
      );
      vm = moRef(result);
      if (!vm) throw new VimFault('SystemError', 'CloneVM_Task answered no VM');
      await ledger.made(entry, vm.value);
      this.set({ VMRef: vm.value });
      await ctx.save();
      await c.runTask(
        'ReconfigVM_Task',
        vm,
        cloneReconfig({ ...hw, devices: await this.devices(c, vm), networks: r.networks }),
        `sizing ${this.serverLabel()}`,
        TASK_TIMEOUT_MS,
        ctx.signal,
      );
    }
    ctx.log(`Powering on ${this.serverLabel()}...`);
    await c.runTask(
      'PowerOnVM_Task',
      vm,
      '',
      `powering on ${this.serverLabel()}`,
      TASK_TIMEOUT_MS,
      ctx.signal,
    );
  }

  /** The VM's inventory path: where rm looks for it when create never heard its id. */
  private vmPath(): string {
    const r = this.resolved;
    const folder = str(this.json, 'Folder').replace(/^\/+|\/+$/g, '');
    return `${r.dcPath}/vm/${folder ? `${folder}/` : ''}${this.machineName}`;
  }

  /** The legacy path's folder on the datastore with the boot ISO and the NoCloud seed. */
  private async uploadISOs(
    ctx: DriverContext,
    c: VimClient,
    ledger: Ledger,
    r: Resolved,
    publicKey: string,
  ): Promise<{ dir: string; boot: string; seed: string }> {
    const dir = `docker-machine-${this.machineName}-${str(this.json, 'MachineID')}`;
    const dsPath = `[${r.datastoreName}] ${dir}`;
    const entry = await ledger.intend(
      'datastore_dir',
      { by: 'path', value: dsPath },
      `datastore folder ${dsPath}`,
    );
    await c.call(
      'MakeDirectory',
      c.content.fileManager,
      val('name', dsPath) + ref('datacenter', r.datacenter) + val('createParentDirectories', true),
    );
    await ledger.made(entry, dsPath);
    const machineDir = join(str(this.json, 'StorePath'), 'machines', this.machineName);
    const { bootISO, seedISO } = await import('./iso.js');
    const boot = await bootISO(str(this.json, 'Boot2DockerURL'), machineDir, ctx);
    ctx.log(`Uploading ${boot} to ${dsPath}...`);
    await c.upload(boot, r.dcPath, r.datastoreName, `${dir}/boot.iso`);
    const seed = await seedISO(machineDir, {
      hostname: this.machineName,
      user: str(this.json, 'SSHUser') || 'docker',
      publicKey,
      instanceId: `docker-machine-${this.machineName}-${str(this.json, 'MachineID')}`,
    });
    await c.upload(seed, r.dcPath, r.datastoreName, `${dir}/seed.iso`);
    return { dir, boot: 'boot.iso', seed: 'seed.iso' };
  }

  private async devices(c: VimClient, vm: MoRef): Promise<Device[]> {
    const p = await c.props(vm, ['config.hardware.device']);
    return items(p['config.hardware.device']).map((d) => {
      const backing = child(d, 'backing');
      const n = (name: string) => {
        const t = childText(d, name);
        return t ? Number(t) : undefined;
      };
      return {
        key: Number(childText(d, 'key')),
        type: xsiType(d),
        controllerKey: n('controllerKey'),
        unitNumber: n('unitNumber'),
        capacityInKB: n('capacityInKB'),
        fileName: childText(backing, 'fileName') || undefined,
        datastore: moRef(child(backing, 'datastore')),
        label: childText(child(d, 'deviceInfo'), 'label') || undefined,
      };
    });
  }

  protected async serverStatus(): Promise<ServerStatus> {
    const s = await this.powerState();
    return { state: s, running: s === 'poweredOn' };
  }

  private async powerState(ctx?: Pick<DriverContext, 'debug'>): Promise<string> {
    const vm = this.vm;
    if (!vm) return '';
    return this.session(ctx, async (c) =>
      textOf((await c.props(vm, ['runtime.powerState']))['runtime.powerState']),
    );
  }

  /** VMware Tools' address for the VM, waited for within --vmwarevsphere-ip-timeout. */
  protected async serverAddress(ctx: DriverContext): Promise<string> {
    const vm = this.vm;
    if (!vm) throw new MachineError(`machine "${this.machineName}" has no VM`);
    const timeoutS = num(this.json, 'IPTimeout') || 600;
    const started = Date.now();
    let last = '';
    ctx.log(`Waiting for VMware Tools to report the address of ${this.serverLabel()}...`);
    return this.session(ctx, async (c) => {
      for (;;) {
        const p = await c.props(vm, ['guest.net', 'guest.toolsRunningStatus', 'runtime.powerState']);
        const ip = guestAddress(p['guest.net']);
        if (ip) return ip;
        last = `Tools ${textOf(p['guest.toolsRunningStatus']) || 'not reporting'}, VM ${textOf(p['runtime.powerState'])}`;
        const waited = (Date.now() - started) / 1000;
        if (waited + this.pollIntervalMs / 1000 > timeoutS)
          throw new MachineError(
            `Waited ${Math.round(waited)} s for VMware Tools to report an address of ${this.serverLabel()} (--vmwarevsphere-ip-timeout ${timeoutS}); last seen: ${last}. Is open-vm-tools in the image, and is there DHCP on its network?`,
          );
        if (ctx.signal?.aborted) throw new MachineError('interrupted before it finished');
        await new Promise((res) => setTimeout(res, this.pollIntervalMs));
      }
    });
  }

  protected resourceKinds(ctx: DriverContext): Record<string, ResourceKind> {
    const machineId = str(this.json, 'MachineID');
    return {
      vm: {
        lookup: async (f) =>
          this.session(ctx, async (c) => {
            let found: MoRef | undefined;
            if (f.by === 'original') {
              const dc = await resolveDatacenter(c, str(this.json, 'Datacenter'));
              const folder = str(this.json, 'Folder').replace(/^\/+|\/+$/g, '');
              found = await c.findByInventoryPath(`${dc.path}/vm/${folder ? `${folder}/` : ''}${f.value}`);
            } else found = await c.findByInventoryPath(f.value);
            if (found?.type !== 'VirtualMachine') return [];
            // Only a VM this machine made: a same-named one made by someone else stays.
            if (machineId && f.by !== 'deployed-path') {
              const p = await c.props(found, ['config.extraConfig']);
              const mine = items(p['config.extraConfig']).some(
                (o) => childText(o, 'key') === ID_KEY && childText(o, 'value') === machineId,
              );
              if (!mine) return [];
            }
            return [found.value];
          }),
        delete: (id) => this.session(ctx, (c) => this.destroy(ctx, c, { type: 'VirtualMachine', value: id })),
        byHand: (id) => `govc vm.destroy -vm.ref VirtualMachine:${id}`,
      },
      datastore_dir: {
        lookup: async (f) => [f.value],
        delete: (path) =>
          this.session(ctx, async (c) => {
            await c.runTask(
              'DeleteDatastoreFile_Task',
              c.content.fileManager,
              val('name', path) + ref('datacenter', this.resolved.datacenter),
              `deleting ${path}`,
              TASK_TIMEOUT_MS,
            );
          }),
        byHand: (path) => `govc datastore.rm '${path}'`,
      },
      original_iso: {
        lookup: async (f) => [f.value],
        // The original's ISO: gone already, or going with the VM's folder, is fine.
        delete: (path) =>
          this.session(ctx, async (c) => {
            const dc = await resolveDatacenter(c, str(this.json, 'Datacenter'));
            await c
              .runTask(
                'DeleteDatastoreFile_Task',
                c.content.fileManager,
                val('name', path) + ref('datacenter', dc.ref),
                `deleting ${path}`,
                TASK_TIMEOUT_MS,
              )
              .catch((err) => {
                if (!isGone(err)) throw err;
              });
          }),
        byHand: (path) => `govc datastore.rm '${path}'`,
      },
    };
  }

  /** Powers the VM off (after a guest shutdown, when rm is given time for one) and destroys it with its files. */
  private async destroy(ctx: DriverContext, c: VimClient, vm: MoRef): Promise<void> {
    const state = textOf((await c.props(vm, ['runtime.powerState']))['runtime.powerState']);
    if (state === 'poweredOn') {
      const graceS = num(this.json, 'GracefulShutdownTimeout');
      if (graceS > 0 && (await this.shutdownGuest(c, vm, graceS * 1000))) {
        // shut down in time
      } else await this.powerOff(c, vm, ctx.signal);
    }
    await c.runTask('Destroy_Task', vm, '', `destroying VM ${vm.value}`, TASK_TIMEOUT_MS, ctx.signal);
  }

  private async powerOff(c: VimClient, vm: MoRef, signal?: AbortSignal): Promise<void> {
    await c
      .runTask('PowerOffVM_Task', vm, '', `powering off VM ${vm.value}`, TASK_TIMEOUT_MS, signal)
      .catch((err) => {
        // Already off (a guest shutdown finished meanwhile): what was wanted.
        if (!(err instanceof VimFault && err.code === 'InvalidPowerState')) throw err;
      });
  }

  /** ShutdownGuest, then the power state polled: true once off within timeoutMs. */
  private async shutdownGuest(c: VimClient, vm: MoRef, timeoutMs: number): Promise<boolean> {
    try {
      await c.call('ShutdownGuest', vm, '');
    } catch (err) {
      if (err instanceof VimFault && err.code === 'InvalidPowerState') return true;
      if (err instanceof VimFault && /ToolsUnavailable|NotSupported/.test(err.code)) return false;
      throw err;
    }
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      if (textOf((await c.props(vm, ['runtime.powerState']))['runtime.powerState']) !== 'poweredOn')
        return true;
      await new Promise((res) => setTimeout(res, Math.min(this.pollIntervalMs, 2000)));
    }
    return false;
  }

  private need(): MoRef {
    const vm = this.vm;
    if (!vm)
      throw new MachineError(
        `machine "${this.machineName}" has no VM (its create did not finish); remove it with rm`,
      );
    return vm;
  }

  async start(ctx: DriverContext): Promise<void> {
    const vm = this.need();
    await this.session(ctx, async (c) => {
      await c.runTask(
        'PowerOnVM_Task',
        vm,
        '',
        `powering on ${this.serverLabel()}`,
        TASK_TIMEOUT_MS,
        ctx.signal,
      );
      const ip = await this.serverAddress(ctx);
      this.set({ IPAddress: ip });
      await ctx.save();
    });
  }

  /** A guest shutdown, waited for (bounded); a VM whose Tools do not answer is powered off. */
  async stop(ctx: DriverContext): Promise<void> {
    const vm = this.need();
    await this.session(ctx, async (c) => {
      if (!(await this.shutdownGuest(c, vm, 120_000))) {
        ctx.log(`${this.serverLabel()} did not shut down within 120 s; powering it off`);
        await this.powerOff(c, vm, ctx.signal);
      }
    });
  }

  async restart(ctx: DriverContext): Promise<void> {
    await this.stop(ctx);
    await this.start(ctx);
  }

  async kill(ctx: DriverContext): Promise<void> {
    const vm = this.need();
    await this.session(ctx, (c) => this.powerOff(c, vm, ctx.signal));
  }

  async getState(): Promise<MachineState> {
    if (!this.vm) return 'NotFound';
    try {
      return machineState(await this.powerState());
    } catch (err) {
      if (isGone(err)) return 'NotFound';
      throw err;
    }
  }

  override getSSHUsername(): string {
    return str(this.json, 'SSHUser') || 'docker';
  }
}

/** summary.runtime.powerState to a machine state, as the original mapped it (suspended: None). */
export function machineState(powerState: string): MachineState {
  if (powerState === 'poweredOn') return 'Running';
  if (powerState === 'poweredOff') return 'Stopped';
  return '';
}

/** --vmwarevsphere-os: "linux" (the original's otherLinux64Guest) or a guest id as vSphere names them. */
export function guestId(os: string): string {
  if (!os || os === 'linux') return 'otherLinux64Guest';
  return os;
}

function driverFromFlags(base: BaseDriverFields, p: ParsedFlags): Driver {
  let vcenter = flagString(p, 'vmwarevsphere-vcenter');
  let port = flagInt(p, 'vmwarevsphere-vcenter-port');
  // govc's GOVC_URL form (https://host[:port]/sdk) is taken as the host and port it names.
  if (/^https?:\/\//i.test(vcenter)) {
    try {
      const u = new URL(vcenter);
      vcenter = u.hostname.replace(/^\[|\]$/g, '');
      if (u.port && !p.explicit.has('vmwarevsphere-vcenter-port')) port = Number(u.port);
    } catch {
      throw new MachineError(`--vmwarevsphere-vcenter ${vcenter}: give a host name or address`);
    }
  }
  if (!vcenter)
    throw new MachineError('vSphere URL is missing: give --vmwarevsphere-vcenter HOST (or $VSPHERE_VCENTER)');
  const user = flagString(p, 'vmwarevsphere-username');
  const password = flagString(p, 'vmwarevsphere-password');
  if (!user || !password)
    throw new MachineError(
      'vSphere username or password is missing: give --vmwarevsphere-username and --vmwarevsphere-password (or $VSPHERE_USERNAME and $VSPHERE_PASSWORD)',
    );
  const from = flagString(p, 'vmwarevsphere-clone-from');
  const given = flagString(p, 'vmwarevsphere-creation-type');
  const type = (given || (from ? 'template' : 'legacy')) as CreationType;
  if (!CREATION_TYPES.includes(type))
    throw new MachineError(
      `--vmwarevsphere-creation-type ${given}: give one of ${CREATION_TYPES.join(', ')}`,
    );
  if (type === 'legacy' && from)
    throw new MachineError(
      '--vmwarevsphere-clone-from needs --vmwarevsphere-creation-type template, vm or library, not legacy',
    );
  for (const [flag, min] of [
    ['vmwarevsphere-cpu-count', 1],
    ['vmwarevsphere-memory-size', 4],
    ['vmwarevsphere-disk-size', 1],
    ['vmwarevsphere-vcenter-port', 1],
    ['vmwarevsphere-ssh-port', 1],
    ['vmwarevsphere-ip-timeout', 1],
  ] as const) {
    if (flagInt(p, flag) < min) throw new MachineError(`--${flag} ${flagInt(p, flag)}: give at least ${min}`);
  }
  const cfg = flagSlice(p, 'vmwarevsphere-cfgparam');
  const bad = cfg.find((kv) => !/^[A-Za-z0-9_.:-]+=/.test(kv));
  if (bad) throw new MachineError(`--vmwarevsphere-cfgparam ${bad}: give key=value`);
  const json: DriverJSON = {
    ...base,
    SSHUser: flagString(p, 'vmwarevsphere-ssh-user') || 'docker',
    SSHPort: flagInt(p, 'vmwarevsphere-ssh-port') || 22,
    CPU: flagInt(p, 'vmwarevsphere-cpu-count'),
    Memory: flagInt(p, 'vmwarevsphere-memory-size'),
    DiskSize: flagInt(p, 'vmwarevsphere-disk-size'),
    Boot2DockerURL: flagString(p, 'vmwarevsphere-boot2docker-url'),
    IP: vcenter,
    Port: port,
    Username: user,
    Password: password,
    Network: flagSlice(p, 'vmwarevsphere-network'),
    Datastore: flagString(p, 'vmwarevsphere-datastore'),
    DatastoreCluster: flagString(p, 'vmwarevsphere-datastore-cluster'),
    Datacenter: flagString(p, 'vmwarevsphere-datacenter'),
    Folder: flagString(p, 'vmwarevsphere-folder'),
    Pool: flagString(p, 'vmwarevsphere-pool'),
    HostSystem: flagString(p, 'vmwarevsphere-hostsystem'),
    CfgParams: cfg,
    CloudInit: flagString(p, 'vmwarevsphere-cloudinit'),
    CreationType: type,
    CloneFrom: from,
    ContentLibrary: flagString(p, 'vmwarevsphere-content-library'),
    CloudConfig: flagString(p, 'vmwarevsphere-cloud-config'),
    OS: flagString(p, 'vmwarevsphere-os'),
    GracefulShutdownTimeout: flagInt(p, 'vmwarevsphere-graceful-shutdown-timeout'),
    IPTimeout: flagInt(p, 'vmwarevsphere-ip-timeout'),
    CACert: flagString(p, 'vmwarevsphere-cacert'),
    Insecure: flagBool(p, 'vmwarevsphere-insecure'),
    EnginePort: 2376,
    MachineID: randomBytes(5).toString('hex'),
    VMRef: '',
    Ledger: [],
  };
  return new VSphereDriver(json);
}

export const vmwarevsphereDriver: DriverModule = {
  name: 'vmwarevsphere',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    // A machine of the original has no ledger: its VM (found by its name) and its ISO are what rm removes.
    if (!Array.isArray(json.Ledger)) {
      const name = str(json, 'MachineName');
      const ds = str(json, 'Datastore');
      return new VSphereDriver(
        mergeDriverJSON(json, {
          Ledger: [
            ...(ds
              ? [
                  {
                    kind: 'original_iso',
                    id: '',
                    find: { by: 'path', value: `[${ds}] ${name}/boot2docker.iso` },
                    label: `boot2docker.iso of ${name}`,
                  },
                ]
              : []),
            { kind: 'vm', id: '', find: { by: 'original', value: name }, label: `VM ${name}` },
          ] as unknown as DriverJSON[string],
        }),
      );
    }
    return new VSphereDriver(mergeDriverJSON(json, {}));
  },
};
