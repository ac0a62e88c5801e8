import { chooseDefaultDriver, type DefaultChoice, defaultDriverHelp } from '../drivers/default-driver.js';
import { driverDescription, driverNames, loadDriver } from '../drivers/registry.js';
import { retiredDrivers } from '../drivers/retired/index.js';
import type { FlagDef } from '../flags/def.js';
import { fleetSwarmRequests, managerCountWarning, type SwarmRequest } from '../swarm/roles.js';

// The driver catalogue and the planning a create needs before any machine exists, for the CLI
// and for programs alike: neither reaches into drivers/ or swarm/ itself, so both make the same
// choices.

export type { DefaultChoice, SwarmRequest };

export interface DriverInfo {
  name: string;
  description: string;
}

/** The built-in drivers, sorted by name. */
export function listDrivers(): DriverInfo[] {
  return driverNames().map((name) => ({ name, description: driverDescription(name) }));
}

/** The original's drivers whose service or product is gone: known names that create refuses in one line. */
export function retiredDriverNames(): string[] {
  return Object.keys(retiredDrivers).sort();
}

/** A driver's flag definitions (names, kinds, env vars, defaults, checks); unknown names throw. */
export async function driverFlagDefs(name: string): Promise<FlagDef[]> {
  return (await loadDriver(name)).flags;
}

/**
 * The driver a create without -d uses: docker when a local engine answers, else qemu when it
 * can run here; the message says which and why (or, thrown, what each would need).
 */
export function defaultDriver(env: NodeJS.ProcessEnv): Promise<DefaultChoice> {
  return chooseDefaultDriver(env);
}

/** The rule defaultDriver follows, in words, for help text. */
export function defaultDriverRule(): string {
  return defaultDriverHelp();
}

/**
 * The swarm role of each machine of a fleet: with `master` the first name makes (or joins) the
 * cluster, the first `managers` names are managers and the rest join as workers once it exists.
 */
export function planFleetSwarm(names: string[], base: SwarmRequest, managers: number): SwarmRequest[] {
  return fleetSwarmRequests(names, base, managers);
}

/** A warning for a manager count that cannot keep a quorum well (an even number), or null. */
export function managerCountAdvice(managers: number): string | null {
  return managerCountWarning(managers);
}
