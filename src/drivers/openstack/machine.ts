import type { DriverJSON } from '../../store/host.js';
import type { CloudConnection } from '../cloud/connection.js';
import type { Ledger } from '../cloud/ledger.js';
import type { DriverContext } from '../driver.js';
import type { OpenStackAPI } from './api.js';

/** The metadata key that marks a server and a boot volume as this machine's (rm finds them by it). */
export const TAG_KEY = 'docker-machine-id';

export type APIContext = Pick<DriverContext, 'debug' | 'signal'>;

/**
 * What the driver's steps share with it. `json` is read anew on every use: `set` replaces the
 * object, and a step saves the machine between its calls.
 */
export interface OpenStackMachine {
  readonly json: DriverJSON;
  set(fields: DriverJSON): void;
  /** The command's one API session (one token for every call). */
  api(ctx?: APIContext): Promise<OpenStackAPI>;
  ledger(ctx: DriverContext): Ledger;
  readonly name: string;
  /** The random tag in the names and metadata of what create makes. */
  readonly tag: string;
  readonly serverId: string;
  /** Whether this cloud has security groups and floating IPs the driver manages (Rackspace: no). */
  readonly managesNetwork: boolean;
  /** Neutron manages the network (not nova-network, not a cloud without floating IPs and groups). */
  readonly useNeutron: boolean;
  /** --openstack-active-timeout, for every wait of a create, an rm or a power action. */
  readonly timeoutMs: number;
  readonly pollMs: number;
  /** "server n1 (id …)": the server in lines a user reads. */
  label(): string;
}

export async function novaOf(m: OpenStackMachine, ctx?: APIContext): Promise<CloudConnection> {
  return (await m.api(ctx)).conn('compute');
}

export async function neutronOf(m: OpenStackMachine, ctx?: APIContext): Promise<CloudConnection> {
  return (await m.api(ctx)).conn('network');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
