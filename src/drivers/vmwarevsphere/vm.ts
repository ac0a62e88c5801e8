import type { Ledger, LedgerEntry } from '../cloud/ledger.js';
import type { DriverContext } from '../driver.js';
import { TASK_TIMEOUT_MS, type VSphereMachine } from './machine.js';
import { items, moRef, type VimClient } from './soap/client.js';
import type { MoRef } from './soap/envelope.js';
import { VimFault } from './soap/fault.js';
import { child, childText, xsiType } from './soap/xml.js';
import type { Device } from './spec.js';

/** What every creation type does to its new VM: record it, read its devices, reconfigure it. */

/** The hardware the VM is given, from --vmwarevsphere-cpu-count, -memory-size and -disk-size. */
export interface Hardware {
  numCPUs: number;
  memoryMB: number;
  diskMB: number;
}

/** What create gives each creation type. */
export interface CreateInput {
  c: VimClient;
  ledger: Ledger;
  hw: Hardware;
  /** The VM's extraConfig: guestinfo for cloud-init, the user's keys, the machine's mark. */
  extra: [string, string][];
  /** The VM's inventory path, by which rm finds it when create never heard its id. */
  path: string;
  publicKey: string;
}

/** The new VM in the ledger and the machine, saved before anything more is done to it. */
export async function recordVM(
  m: VSphereMachine,
  ctx: DriverContext,
  ledger: Ledger,
  entry: LedgerEntry,
  vm: MoRef | undefined,
  method: string,
): Promise<MoRef> {
  if (!vm) throw new VimFault('SystemError', `${method} answered no VM`);
  await ledger.made(entry, vm.value);
  m.set({ VMRef: vm.value });
  await ctx.save();
  return vm;
}

export async function reconfigure(
  c: VimClient,
  vm: MoRef,
  spec: string,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  await c.runTask('ReconfigVM_Task', vm, spec, what, TASK_TIMEOUT_MS, signal);
}

export async function devices(c: VimClient, vm: MoRef): Promise<Device[]> {
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
