import { type FlagDef, flagInt, flagSlice, flagString, type ParsedFlags } from '../flags/def.js';
import type { CreateRequest } from './create.js';
import { planFleetSwarm } from './drivers.js';
import { swarmManagers, swarmRequest } from './swarm-flags.js';

// A create request from create's flags as a command line (or an apply file) gives them.

/**
 * The create request of each named machine, from the one command line. Every machine of a fleet
 * gets the same flags; what differs by name (a fleet's Swarm roles) belongs here.
 */
export function requestsFor(
  names: string[],
  ctx: { flags: ParsedFlags; globals: { nativeSSH: boolean } },
  driver: string,
  driverFlags: ParsedFlags,
): CreateRequest[] {
  const swarm = planFleetSwarm(names, swarmRequest(ctx.flags), swarmManagers(ctx.flags));
  return names.map((name, i) => ({
    name,
    driver,
    driverFlags,
    engine: {
      installURL: flagString(ctx.flags, 'engine-install-url'),
      opts: flagSlice(ctx.flags, 'engine-opt'),
      insecureRegistries: flagSlice(ctx.flags, 'engine-insecure-registry'),
      registryMirrors: flagSlice(ctx.flags, 'engine-registry-mirror'),
      labels: flagSlice(ctx.flags, 'engine-label'),
      storageDriver: flagString(ctx.flags, 'engine-storage-driver'),
      env: flagSlice(ctx.flags, 'engine-env'),
      version: flagString(ctx.flags, 'engine-version'),
      endpoint: flagString(ctx.flags, 'engine-endpoint'),
    },
    swarm: swarm[i],
    tlsSANs: flagSlice(ctx.flags, 'tls-san'),
    nativeSSH: ctx.globals.nativeSSH,
    waitTimeoutMs: flagInt(ctx.flags, 'wait-timeout') * 1000,
  }));
}

/** The subset of parsed flags that belongs to the driver. */
export function pick(all: ParsedFlags, defs: FlagDef[]): ParsedFlags {
  const out: ParsedFlags = { values: new Map(), explicit: new Set() };
  for (const d of defs) {
    const v = all.values.get(d.name);
    if (v !== undefined) out.values.set(d.name, v);
    if (all.explicit.has(d.name)) out.explicit.add(d.name);
  }
  return out;
}
