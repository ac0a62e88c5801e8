import { errorMessage, MachineError } from '../../errors.js';
import { ipVersion } from '../../ip.js';
import type { DriverJSON } from '../../store/host.js';
import { num, str } from '../base.js';
import type { Driver, DriverContext, MachineState } from '../driver.js';
import { ERR_HOST_NOT_RUNNING } from '../driver.js';
import { isRefusal } from './errors.js';
import { cleanupError, deleteLedger, Ledger, type ResourceKind } from './ledger.js';
import { type ServerStatus, waitUntilRunning } from './wait.js';

/**
 * What every cloud driver shares (DESIGN.md §3a): create as ordered steps, each recording what it
 * made in the ledger before the next; rm from the ledger; the SSH and URL accessors from the
 * fields every cloud machine keeps (IPAddress, SSHUser, SSHPort, SSHKeyPath, EnginePort). A
 * provider's driver fills in the steps in the provider's own operations.
 */
export abstract class CloudDriver implements Driver {
  abstract readonly driverName: string;
  /** "DigitalOcean": in lines a user reads. */
  protected abstract readonly provider: string;
  /** "droplet", "instance", "server". */
  protected abstract readonly serverNoun: string;
  /** How often a new server is polled: no faster than the provider documents or its limit allows. */
  protected abstract readonly pollIntervalMs: number;
  protected runningTimeoutMs = 10 * 60_000;
  protected json: DriverJSON;

  constructor(json: DriverJSON) {
    this.json = json;
  }

  toJSON(): DriverJSON {
    return this.json;
  }

  protected set(fields: DriverJSON): void {
    this.json = { ...this.json, ...fields };
  }

  protected get machineName(): string {
    return str(this.json, 'MachineName');
  }

  protected ledger(ctx: DriverContext): Ledger {
    return new Ledger(
      () => this.json,
      (j) => {
        this.json = j;
      },
      () => ctx.save(),
    );
  }

  abstract preCreateCheck(ctx: DriverContext): Promise<void>;
  /** The SSH key the server will accept: an account key made (and recorded) or an existing one. */
  protected abstract createKey(ctx: DriverContext, ledger: Ledger): Promise<void>;
  /** Providers with firewalls or security groups make (or reuse) one here. */
  protected createFirewall?(ctx: DriverContext, ledger: Ledger): Promise<void>;
  /** The server with its user-data, recorded in the ledger. */
  protected abstract createServer(ctx: DriverContext, ledger: Ledger): Promise<void>;
  /** The server's state now, from the provider (never cached between polls). */
  protected abstract serverStatus(signal?: AbortSignal): Promise<ServerStatus>;
  /** The address SSH and the engine are reached at, once the server runs. */
  protected abstract serverAddress(ctx: DriverContext): Promise<string>;
  /** How each kind of resource in the ledger is found and deleted. */
  protected abstract resourceKinds(ctx: DriverContext): Record<string, ResourceKind>;
  /** "droplet n1 (id 123)": the server in lines a user reads. */
  protected abstract serverLabel(): string;

  async create(ctx: DriverContext): Promise<void> {
    const ledger = this.ledger(ctx);
    try {
      ctx.log('Creating SSH key...');
      await this.createKey(ctx, ledger);
      stopIfAborted(ctx.signal);
      if (this.createFirewall) {
        ctx.log('Creating firewall...');
        await this.createFirewall(ctx, ledger);
        stopIfAborted(ctx.signal);
      }
      ctx.log(`Creating ${this.serverNoun}...`);
      await this.createServer(ctx, ledger);
    } catch (err) {
      // The provider refused a step: nothing more will be made, so undo what this create made
      // and leave the account as it was. Anything else (a lost answer, a kill) is left to rm,
      // which can find what the provider made meanwhile.
      if (!isRefusal(err)) throw err;
      const c = await deleteLedger(ledger, this.resourceKinds(ctx), ctx.debug);
      const undone = c.deleted.length ? `; removed what this create had made: ${c.deleted.join(', ')}` : '';
      if (c.failed.length)
        throw new MachineError(`${errorMessage(err)}${undone}\n${cleanupError(this.provider, c).message}`);
      throw new MachineError(`${errorMessage(err)}${undone}`, { cause: err });
    }
    stopIfAborted(ctx.signal);
    ctx.log(`Waiting for ${this.serverLabel()} to be running...`);
    await waitUntilRunning({
      what: this.serverLabel(),
      poll: () => this.serverStatus(ctx.signal),
      intervalMs: this.pollIntervalMs,
      timeoutMs: this.runningTimeoutMs,
      log: ctx.log,
      signal: ctx.signal,
    });
    const ip = await this.serverAddress(ctx);
    this.set({ IPAddress: ip });
    await ctx.save();
    ctx.log(`${cap(this.serverNoun)} address: ${ip}`);
  }

  async remove(ctx: DriverContext): Promise<void> {
    const c = await deleteLedger(this.ledger(ctx), this.resourceKinds(ctx), ctx.log);
    if (c.failed.length) throw cleanupError(this.provider, c);
  }

  abstract start(ctx: DriverContext): Promise<void>;
  abstract stop(ctx: DriverContext): Promise<void>;
  abstract restart(ctx: DriverContext): Promise<void>;
  abstract kill(ctx: DriverContext): Promise<void>;
  abstract getState(signal?: AbortSignal): Promise<MachineState>;

  async getURL(signal?: AbortSignal): Promise<string> {
    const ip = str(this.json, 'IPAddress');
    if (!ip)
      throw new MachineError(`machine "${this.machineName}" has no address yet (its create did not finish)`);
    if ((await this.getState(signal)) !== 'Running') throw new MachineError(ERR_HOST_NOT_RUNNING);
    return `tcp://${ipVersion(ip) === 6 ? `[${ip}]` : ip}:${num(this.json, 'EnginePort') || 2376}`;
  }
  async getIP(): Promise<string> {
    const ip = str(this.json, 'IPAddress');
    if (!ip) throw new MachineError('IP address is not set');
    return ip;
  }
  async getSSHHostname(): Promise<string> {
    return this.getIP();
  }
  async getSSHPort(): Promise<number> {
    return num(this.json, 'SSHPort') || 22;
  }
  getSSHUsername(): string {
    return str(this.json, 'SSHUser') || 'root';
  }
  getSSHKeyPath(): string {
    return str(this.json, 'SSHKeyPath');
  }
}

function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MachineError('interrupted before it finished');
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
