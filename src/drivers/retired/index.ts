import { MachineError } from '../../errors.js';
import type { FlagDef } from '../../flags/def.js';
import type { DriverJSON } from '../../store/host.js';
import { str } from '../base.js';
import type { Driver, DriverModule, MachineState } from '../driver.js';
import { softlayerFlags, vmwarefusionFlags, vmwarevcloudairFlags } from './flags.js';

/**
 * Drivers of the original whose service or product is gone. Their names are known, so that a
 * create says in one line what happened and what to use instead, and so that machines an older
 * store holds still list, keep every field of their config.json, and leave with `rm -f`.
 */
export interface RetiredDriver {
  /** What happened, and what to use instead: the whole answer to a create. */
  why: string;
  flags: FlagDef[];
  /** The URL a stored machine's engine had, from its saved fields. */
  url(json: DriverJSON): string;
}

const tcp = (host: string, port: number | string) => (host ? `tcp://${host}:${port}` : '');

export const retiredDrivers: Record<string, RetiredDriver> = {
  softlayer: {
    why: "SoftLayer became IBM Cloud classic infrastructure, and this driver was not carried over. Create the server with 'ibmcloud sl vs create' (or the IBM Cloud console), then add it with: docker-machine create -d generic --generic-ip-address IP NAME",
    flags: softlayerFlags,
    url: (j) => tcp(str(j, 'IPAddress'), 2376),
  },
  vmwarevcloudair: {
    why: 'VMware sold vCloud Air to OVH in 2017 and the service was discontinued. For a server of another VMware cloud, reached by SSH, use: docker-machine create -d generic --generic-ip-address IP NAME',
    flags: vmwarevcloudairFlags,
    url: (j) => tcp(str(j, 'PublicIP'), Number(j.DockerPort) || 2376),
  },
  vmwarefusion: {
    why: 'it booted boot2docker, which is no longer made. On macOS use the qemu driver (accelerated by Hypervisor.framework): docker-machine create -d qemu NAME; a Fusion VM that already runs Linux can be added with -d generic',
    flags: vmwarefusionFlags,
    url: (j) => tcp(str(j, 'IPAddress'), 2376),
  },
};

/** The one line a create with a retired driver ends with. */
export function retiredMessage(name: string): string {
  return `The ${name} driver is retired: ${retiredDrivers[name].why}`;
}

/** A machine of a retired driver, as an older store holds it: listed, inspected, removed locally. */
class StoredMachine implements Driver {
  constructor(
    readonly driverName: string,
    private readonly json: DriverJSON,
  ) {}

  private refuse(): never {
    throw new MachineError(
      `the ${this.driverName} driver is retired and cannot reach this machine; manage the server with its provider's tools, and 'docker-machine rm -f ${str(this.json, 'MachineName')}' removes it from the store`,
    );
  }

  toJSON(): DriverJSON {
    return this.json;
  }
  async preCreateCheck(): Promise<void> {
    throw new MachineError(retiredMessage(this.driverName));
  }
  async create(): Promise<void> {
    throw new MachineError(retiredMessage(this.driverName));
  }
  async remove(): Promise<void> {
    this.refuse();
  }
  async start(): Promise<void> {
    this.refuse();
  }
  async stop(): Promise<void> {
    this.refuse();
  }
  async restart(): Promise<void> {
    this.refuse();
  }
  async kill(): Promise<void> {
    this.refuse();
  }
  async getState(): Promise<MachineState> {
    this.refuse();
  }
  async getURL(): Promise<string> {
    return retiredDrivers[this.driverName].url(this.json);
  }
  async getIP(): Promise<string> {
    return str(this.json, 'IPAddress') || str(this.json, 'PublicIP');
  }
  async getSSHHostname(): Promise<string> {
    return this.getIP();
  }
  async getSSHPort(): Promise<number> {
    return Number(this.json.SSHPort) || 22;
  }
  getSSHUsername(): string {
    return str(this.json, 'SSHUser') || 'root';
  }
  getSSHKeyPath(): string {
    return str(this.json, 'SSHKeyPath');
  }
}

export function retiredModule(name: string): DriverModule {
  return {
    name,
    flags: retiredDrivers[name].flags,
    fromFlags(): Driver {
      throw new MachineError(retiredMessage(name));
    },
    fromJSON(json: DriverJSON): Driver {
      return new StoredMachine(name, json);
    },
  };
}
