import { randomBytes } from 'node:crypto';
import type { ParsedFlags } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { bool, mergeDriverJSON, num, str } from '../base.js';
import { CloudDriver } from '../cloud/driver.js';
import type { Ledger, ResourceKind } from '../cloud/ledger.js';
import type { ServerStatus } from '../cloud/wait.js';
import type { Driver, DriverContext, DriverModule, MachineState } from '../driver.js';
import * as api from './api.js';
import { authenticate, type Session } from './auth/keystone.js';
import { flags, interfaceOf } from './flags.js';
import { attachFloatingIP } from './floating-ip.js';
import { createKeyPair } from './keypair.js';
import type { APIContext, OpenStackMachine } from './machine.js';
import { power, serverState } from './power.js';
import { preCreateCheck } from './precreate.js';
import { originalLedger, resourceKinds } from './remove.js';
import { createSecurityGroup } from './security-group.js';
import { createServer, serverBody, serverStatus, type WantedAddress, waitForAddress } from './server.js';
import { credentialsOf, settingsFromFlags, tlsOf } from './settings.js';
import { pickAddress } from './state.js';

/**
 * The `openstack` driver: a Nova server on Keystone v3, with Neutron (or nova-network) for the
 * network, floating IPs and security groups. What create makes (key pair, a security group when
 * none is named, the server, a floating IP it allocated) is in the ledger; rm deletes exactly
 * those, and a floating IP it reused from the pool stays in the pool. Each step is a module of
 * this folder; the class gives them the machine (OpenStackMachine) and the command's session.
 */

export class OpenStackDriver extends CloudDriver {
  readonly driverName: string = 'openstack';
  protected readonly provider: string = 'OpenStack';
  protected readonly serverNoun = 'server';
  /** Nova documents no poll rate; the original polled every 4 s. */
  protected readonly pollIntervalMs = Number(process.env.MACHINE_OPENSTACK_POLL_MS) || 4000;
  private session: Promise<api.OpenStackAPI> | undefined;
  private lastServer: api.Server | undefined;
  private readonly machine: OpenStackMachine = this.view();

  constructor(json: DriverJSON) {
    super(json);
    this.runningTimeoutMs = (num(json, 'ActiveTimeout') || 200) * 1000;
  }

  /** Whether this cloud has security groups and floating IPs this driver manages (Rackspace: no). */
  protected readonly managesNetwork: boolean = true;

  protected async authenticate(ctx?: APIContext): Promise<Session> {
    return authenticate(credentialsOf(this.json), tlsOf(this.json), ctx);
  }

  protected get iface(): string {
    return interfaceOf(str(this.json, 'EndpointType')) ?? 'public';
  }

  /** One token per command: every call of a create or an rm shares it. */
  protected api(ctx?: APIContext): Promise<api.OpenStackAPI> {
    this.session ??= this.authenticate(ctx).then(
      (s) =>
        new api.OpenStackAPI(s, this.iface, str(this.json, 'Region'), tlsOf(this.json), ctx, () =>
          this.authenticate(ctx),
        ),
    );
    this.session.catch(() => {
      this.session = undefined;
    });
    return this.session;
  }

  /** Requests made so far (bench/cloud-create.ts counts a create's). */
  async requestCount(): Promise<number> {
    return this.session ? (await this.session).requests + 1 : 0;
  }

  /** The machine as the step modules see it: every field read when used, never a copy. */
  private view(): OpenStackMachine {
    const d = this;
    return {
      get json() {
        return d.json;
      },
      set: (fields) => d.set(fields),
      api: (ctx) => d.api(ctx),
      ledger: (ctx) => d.ledger(ctx),
      get name() {
        return d.machineName;
      },
      get tag() {
        return str(d.json, 'MachineTag');
      },
      get serverId() {
        return str(d.json, 'MachineId');
      },
      get managesNetwork() {
        return d.managesNetwork;
      },
      get useNeutron() {
        return d.managesNetwork && !bool(d.json, 'ComputeNetwork');
      },
      get timeoutMs() {
        return d.runningTimeoutMs;
      },
      get pollMs() {
        return d.pollIntervalMs;
      },
      label: () => d.serverLabel(),
    };
  }

  protected serverLabel(): string {
    const id = this.machine.serverId;
    return `server ${this.machineName}${id ? ` (id ${id})` : ''}`;
  }

  async preCreateCheck(ctx: DriverContext): Promise<void> {
    await preCreateCheck(this.machine, ctx);
  }

  protected async createKey(ctx: DriverContext, ledger: Ledger): Promise<void> {
    await createKeyPair(this.machine, ctx, ledger);
  }

  /** A security group of this machine's own when none is named (Neutron only). */
  protected override async createFirewall(ctx: DriverContext, ledger: Ledger): Promise<void> {
    await createSecurityGroup(this.machine, ctx, ledger);
  }

  /** POST /servers's body: the request the original sent, with the additions. */
  async serverBody(): Promise<Record<string, unknown>> {
    return serverBody(this.machine);
  }

  protected async createServer(ctx: DriverContext, ledger: Ledger): Promise<void> {
    await createServer(this.machine, ctx, ledger);
  }

  protected async serverStatus(signal?: AbortSignal): Promise<ServerStatus> {
    return serverStatus(this.machine, signal, (s) => {
      this.lastServer = s;
    });
  }

  protected async serverAddress(ctx: DriverContext): Promise<string> {
    if (this.managesNetwork && str(this.json, 'FloatingIpPool')) await attachFloatingIP(this.machine, ctx);
    const last = this.lastServer;
    this.lastServer = undefined;
    return waitForAddress(this.machine, ctx, last, (s, wanted) => this.addressOf(s, wanted));
  }

  protected addressOf(s: api.Server, wanted: WantedAddress): string {
    return pickAddress(s.addresses, wanted);
  }

  protected resourceKinds(ctx: DriverContext): Record<string, ResourceKind> {
    return resourceKinds(this.machine, ctx);
  }

  override async remove(ctx: DriverContext): Promise<void> {
    if (!Array.isArray(this.json.Ledger) && this.machine.serverId)
      this.set({ Ledger: originalLedger(this.machine) });
    await super.remove(ctx);
  }

  async start(ctx: DriverContext): Promise<void> {
    await power(this.machine, ctx, { 'os-start': null }, 'ACTIVE', 'start');
  }
  async stop(ctx: DriverContext): Promise<void> {
    await power(this.machine, ctx, { 'os-stop': null }, 'SHUTOFF', 'stop');
  }
  async restart(ctx: DriverContext): Promise<void> {
    await power(this.machine, ctx, { reboot: { type: 'SOFT' } }, 'ACTIVE', 'restart');
  }
  /** Nova has no power-off without a shutdown signal beyond os-stop: the original's Kill was Stop. */
  async kill(ctx: DriverContext): Promise<void> {
    await power(this.machine, ctx, { 'os-stop': null }, 'SHUTOFF', 'kill');
  }

  async getState(signal?: AbortSignal): Promise<MachineState> {
    return serverState(this.machine, signal);
  }
}

function driverFromFlags(base: BaseDriverFields, p: ParsedFlags): Driver {
  const json: DriverJSON = {
    ...base,
    ...settingsFromFlags(p),
    SSHUser: p.values.get('openstack-ssh-user') as string,
    SSHPort: p.values.get('openstack-ssh-port') as number,
    EnginePort: 2376,
    MachineId: '',
    MachineTag: randomBytes(5).toString('hex'),
    KeyPairMade: false,
    SecurityGroupID: '',
    FloatingIpID: '',
    FloatingIp: '',
    FloatingIpAllocated: false,
    VolumeExisting: false,
    BootVolumeId: '',
    Ledger: [],
  };
  return new OpenStackDriver(json);
}

export const openstackDriver: DriverModule = {
  name: 'openstack',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    return new OpenStackDriver(mergeDriverJSON(json, {}));
  },
};
