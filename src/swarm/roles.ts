import type { CreateOptions } from '../api/host-options.js';
import { MachineError } from '../errors.js';

export type SwarmRequest = NonNullable<CreateOptions['swarm']>;

/**
 * The swarm part of each request of a fleet (several names in one create): with --swarm-master
 * the first name is the manager that makes or joins the cluster and the others join it as
 * workers; with --swarm-managers N the first N names are managers. Every name after the first
 * waits for the first to record its cluster, so the creates run in parallel up to the swarm step.
 */
export function fleetSwarmRequests(names: string[], base: SwarmRequest, managers: number): SwarmRequest[] {
  if (!Number.isInteger(managers) || managers < 0) {
    throw new MachineError(`--swarm-managers ${managers}: expected a number of managers, at least 1`);
  }
  if (managers > names.length) {
    throw new MachineError(
      `--swarm-managers ${managers}: only ${names.length} machine name${names.length === 1 ? ' is' : 's are'} given`,
    );
  }
  const master = !!base.master || managers > 0;
  if (!master || names.length === 1) return names.map(() => ({ ...base, master }));
  const count = Math.max(managers, 1);
  const key = base.cluster || base.discovery || names[0];
  return names.map((_, i) => {
    if (i === 0) return { ...base, master: true, agent: false };
    return { ...base, master: i < count, agent: i >= count, cluster: key, awaitCluster: true };
  });
}

/** A warning for an even number of managers: it tolerates no more losses than one fewer. */
export function managerCountWarning(managers: number): string | null {
  if (managers < 2 || managers % 2 === 1) return null;
  const tolerated = Math.floor((managers - 1) / 2);
  return `Warning: ${managers} managers tolerate the loss of ${tolerated === 0 ? 'none' : tolerated}, as ${managers - 1} would; an odd number makes the most of them`;
}
