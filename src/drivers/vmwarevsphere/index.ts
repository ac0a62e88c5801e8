import { join } from 'node:path';
import { MachineError } from '../../errors.js';
import type { ParsedFlags } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { mergeDriverJSON, str } from '../base.js';
import { CloudDriver } from '../cloud/driver.js';
import { isGone } from '../cloud/errors.js';
import type { Ledger, ResourceKind } from '../cloud/ledger.js';
import type { ServerStatus } from '../cloud/wait.js';
import type { Driver, DriverContext, DriverModule, MachineState } from '../driver.js';
import { createVM } from './create.js';
import { type CreationType, flags } from './flags.js';
import { waitForGuestAddress } from './guest.js';
import type { VSphereMachine } from './machine.js';
import type { Resolved } from './placement.js';
import { machineState, powerOff, powerOn, powerState, shutdownGuest } from './power.js';
import { preCreateCheck } from './precreate.js';
import { originalLedger, resourceKinds } from './remove.js';
import { VimSession } from './session.js';
import { settingsFromFlags } from './settings.js';
import type { MoRef } from './soap/envelope.js';

export { guestId } from './legacy.js';
export { machineState } from './power.js';

/**
 * The `vmwarevsphere` driver: a VM on vCenter or ESXi through the vim25 SOAP API. The main path
 * clones a template (or a VM) made from a cloud image and gives cloud-init the machine's user and
 * SSH key through guestinfo; the legacy path makes a new VM booting an ISO the user gives, with a
 * NoCloud seed. The VM's address comes from VMware Tools. What create made (the VM, the legacy
 * path's datastore folder) is in the ledger; rm powers the VM off, destroys it with its files and
 * deletes the folder. Each step is a module of this folder; the class gives them the machine
 * (VSphereMachine) and the command's session.
 */

class VSphereDriver extends CloudDriver {
  readonly driverName = 'vmwarevsphere';
  protected readonly provider = 'vSphere';
  protected readonly serverNoun = 'VM';
  protected readonly pollIntervalMs = Number(process.env.MACHINE_VSPHERE_POLL_MS) || 1000;
  private readonly vim = new VimSession(() => this.json);
  private readonly machine: VSphereMachine = this.view();

  /** The machine as the step modules see it: every field read when used, never a copy. */
  private view(): VSphereMachine {
    const d = this;
    return {
      get json() {
        return d.json;
      },
      set: (fields) => d.set(fields),
      get name() {
        return d.machineName;
      },
      get creationType() {
        return (str(d.json, 'CreationType') as CreationType) || 'legacy';
      },
      get vm() {
        return d.vm;
      },
      get resolved() {
        const r = d.json.Resolved as unknown as Resolved | undefined;
        if (!r?.datacenter)
          throw new MachineError(`machine "${d.machineName}" was never placed in vSphere; remove it with rm`);
        return r;
      },
      get pollMs() {
        return d.pollIntervalMs;
      },
      label: () => d.serverLabel(),
      session: (ctx, fn) => d.vim.run(ctx, fn),
    };
  }

  private get vm(): MoRef | undefined {
    const v = str(this.json, 'VMRef');
    return v ? { type: 'VirtualMachine', value: v } : undefined;
  }

  protected serverLabel(): string {
    const id = this.vm?.value;
    return `VM ${this.machineName}${id ? ` (${id})` : ''}`;
  }

  async preCreateCheck(ctx: DriverContext): Promise<void> {
    await preCreateCheck(this.machine, ctx);
  }

  override async create(ctx: DriverContext): Promise<void> {
    await this.vim.run(ctx, () => super.create(ctx));
  }

  protected async createKey(ctx: DriverContext): Promise<void> {
    const dest = join(str(this.json, 'StorePath'), 'machines', this.machineName, 'id_rsa');
    const { generateSSHKeyPair } = await import('../../ssh/keys.js');
    await generateSSHKeyPair(dest);
    this.set({ SSHKeyPath: dest });
    await ctx.save();
  }

  protected async createServer(ctx: DriverContext, ledger: Ledger): Promise<void> {
    await createVM(this.machine, ctx, ledger);
  }

  protected async serverStatus(): Promise<ServerStatus> {
    const s = await this.powerState();
    return { state: s, running: s === 'poweredOn' };
  }

  private async powerState(ctx?: Pick<DriverContext, 'debug'>): Promise<string> {
    const vm = this.vm;
    if (!vm) return '';
    return this.vim.run(ctx, (c) => powerState(c, vm));
  }

  protected async serverAddress(ctx: DriverContext): Promise<string> {
    return waitForGuestAddress(this.machine, ctx);
  }

  protected resourceKinds(ctx: DriverContext): Record<string, ResourceKind> {
    return resourceKinds(this.machine, ctx);
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
    await this.vim.run(ctx, async (c) => {
      await powerOn(c, vm, `powering on ${this.serverLabel()}`, ctx.signal);
      const ip = await this.serverAddress(ctx);
      this.set({ IPAddress: ip });
      await ctx.save();
    });
  }

  /** A guest shutdown, waited for (bounded); a VM whose Tools do not answer is powered off. */
  async stop(ctx: DriverContext): Promise<void> {
    const vm = this.need();
    await this.vim.run(ctx, async (c) => {
      if (!(await shutdownGuest(this.machine, c, vm, 120_000))) {
        ctx.log(`${this.serverLabel()} did not shut down within 120 s; powering it off`);
        await powerOff(c, vm, ctx.signal);
      }
    });
  }

  async restart(ctx: DriverContext): Promise<void> {
    await this.stop(ctx);
    await this.start(ctx);
  }

  async kill(ctx: DriverContext): Promise<void> {
    const vm = this.need();
    await this.vim.run(ctx, (c) => powerOff(c, vm, ctx.signal));
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

function driverFromFlags(base: BaseDriverFields, p: ParsedFlags): Driver {
  return new VSphereDriver({ ...base, ...settingsFromFlags(p) });
}

export const vmwarevsphereDriver: DriverModule = {
  name: 'vmwarevsphere',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    if (!Array.isArray(json.Ledger))
      return new VSphereDriver(
        mergeDriverJSON(json, { Ledger: originalLedger(json) as unknown as DriverJSON[string] }),
      );
    return new VSphereDriver(mergeDriverJSON(json, {}));
  },
};
