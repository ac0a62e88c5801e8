import type { DriverJSON } from '../../store/host.js';
import type { DriverContext } from '../driver.js';
import type { CreationType } from './flags.js';
import type { Resolved } from './placement.js';
import type { VimClient } from './soap/client.js';
import type { MoRef } from './soap/envelope.js';

/** The guestinfo key that marks a VM as this machine's (rm deletes no same-named VM without it). */
export const ID_KEY = 'docker-machine.id';
/** How long one vSphere task (a clone, an upload's folder, a power-on, a destroy) may take. */
export const TASK_TIMEOUT_MS = 30 * 60_000;

/**
 * What the driver's steps share with it. `json` is read anew on every use: `set` replaces the
 * object, and a step saves the machine between its calls.
 */
export interface VSphereMachine {
  readonly json: DriverJSON;
  set(fields: DriverJSON): void;
  readonly name: string;
  readonly creationType: CreationType;
  /** The VM create made, once vSphere named it. */
  readonly vm: MoRef | undefined;
  /** Where pre-create placed the VM; an error line for a machine that was never placed. */
  readonly resolved: Resolved;
  readonly pollMs: number;
  /** "VM n1 (vm-42)": the VM in lines a user reads. */
  label(): string;
  /** fn with the command's logged-in client (opened here unless a caller holds it open). */
  session<T>(ctx: Pick<DriverContext, 'debug'> | undefined, fn: (c: VimClient) => Promise<T>): Promise<T>;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
