import type { FlagDef, ParsedFlags } from '../flags/def.js';
import type { SSHClient } from '../ssh/client.js';
import type { BaseDriverFields, DriverJSON } from '../store/host.js';
import type { EngineSeedRequest, SeededEngine } from './engine-seed.js';

/**
 * The contract every driver keeps (DESIGN.md §3). A driver knows its infrastructure and nothing
 * about Docker provisioning. Whatever create makes is recorded (through ctx.save) before the next
 * step, so that `rm` can remove it after any failure or a kill -9.
 */

export type MachineState =
  | ''
  | 'Running'
  | 'Paused'
  | 'Saved'
  | 'Stopped'
  | 'Stopping'
  | 'Starting'
  | 'Error'
  | 'Timeout'
  | 'NotFound';

export interface DriverContext {
  /** A progress line shown as `(NAME) line`, as the original's driver plugins printed them. */
  log(line: string): void;
  debug(line: string): void;
  /** Persist the driver's current JSON now (call after each resource a step creates). */
  save(): Promise<void>;
  signal?: AbortSignal;
  /**
   * A new SSH connection to the machine, with its pinned host keys; the caller closes it. For
   * drivers that act over SSH (generic's restart reboots the server).
   */
  ssh(): Promise<SSHClient>;
  /**
   * Poll `probe` until it resolves, within the operation's wait bound (--wait-timeout); the error
   * names `what` and the last failure seen. Errors for which `fatal` is true end the wait at once.
   */
  waitFor<T>(what: string, probe: () => Promise<T>, fatal?: (err: unknown) => boolean): Promise<T>;
  /**
   * For drivers that can put files on the machine before its first boot: the engine's
   * certificates and daemon options as provisioning would install them, so that the engine
   * starts at boot and provisioning only checks them. Undefined when provisioning must handle the
   * engine itself (a pinned --engine-version).
   */
  seedEngine?(req: EngineSeedRequest): Promise<SeededEngine | undefined>;
}

export interface Driver {
  readonly driverName: string;
  /** The object saved as config.json's "Driver", with the original's field names and order. */
  toJSON(): DriverJSON;
  preCreateCheck(ctx: DriverContext): Promise<void>;
  create(ctx: DriverContext): Promise<void>;
  remove(ctx: DriverContext): Promise<void>;
  start(ctx: DriverContext): Promise<void>;
  stop(ctx: DriverContext): Promise<void>;
  restart(ctx: DriverContext): Promise<void>;
  kill(ctx: DriverContext): Promise<void>;
  getState(signal?: AbortSignal): Promise<MachineState>;
  /** Docker URL, e.g. tcp://1.2.3.4:2376. */
  getURL(signal?: AbortSignal): Promise<string>;
  getIP(): Promise<string>;
  getSSHHostname(): Promise<string>;
  getSSHPort(): Promise<number>;
  getSSHUsername(): string;
  getSSHKeyPath(): string;
  /**
   * For machines behind published ports (containers): the port the engine listens on inside the
   * machine, and the addresses its server certificate must also name. Others leave it out.
   */
  engineEndpoint?(signal?: AbortSignal): Promise<EngineEndpoint>;
  /**
   * The machine's address on the network it shares with the other machines of its kind, which
   * a Swarm-mode node advertises (a container's address on its network, a server's IP). Drivers
   * that leave it out advertise getIP().
   */
  clusterAddress?(signal?: AbortSignal): Promise<string>;
}

export interface EngineEndpoint {
  port: number;
  certSANs: string[];
}

/** What the registry loads for a driver name: its flags and two ways to make a driver. */
export interface DriverModule {
  readonly name: string;
  readonly flags: FlagDef[];
  /** Why this driver cannot create machines on this system (one line), or undefined when it can. */
  unavailable?(env: NodeJS.ProcessEnv): string | undefined;
  /** A new driver for `create`; throws a MachineError naming the bad or missing flag. */
  fromFlags(base: BaseDriverFields, flags: ParsedFlags): Driver;
  /** The driver of a machine loaded from config.json. */
  fromJSON(json: DriverJSON): Driver;
}

export const ERR_HOST_NOT_RUNNING = 'Host is not running';
