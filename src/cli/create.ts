import type { CreateRequest } from '../api/create.js';
import { chooseDefaultDriver, defaultDriverHelp } from '../drivers/default-driver.js';
import { driverDescription, driverNames, hasDriver, loadDriver } from '../drivers/registry.js';
import { MachineError } from '../errors.js';
import type { FlagDef, ParsedFlags } from '../flags/def.js';
import { flagBool, flagInt, flagSlice, flagString } from '../flags/def.js';
import { parseFlags } from '../flags/parse.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';
import { lookupDriverName, sharedCreateFlags } from './create-flags.js';
import { flagHelpLine } from './help.js';

export const flags = sharedCreateFlags;

/** The shared flags plus the chosen driver's, sorted by their help line as the original does. */
export async function resolveFlags(rawArgs: string[], env: NodeJS.ProcessEnv): Promise<FlagDef[]> {
  const name = lookupDriverName(rawArgs, env);
  const driverFlags = hasDriver(name) ? (await loadDriver(name)).flags : [];
  return [...sharedCreateFlags, ...driverFlags].sort((a, b) => {
    const x = flagHelpLine(a);
    const y = flagHelpLine(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

export async function helpFooter(rawArgs: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const chosen = lookupDriverName(rawArgs, env);
  let t = '\nDrivers:\n';
  for (const n of driverNames()) t += `   ${n.padEnd(10)} ${driverDescription(n)}\n`;
  if (chosen === '') t += "\nRun 'docker-machine create -d DRIVER --help' to see the flags of that driver.\n";
  t += `\n${defaultDriverHelp()}\n`;
  return t;
}

export async function run(ctx: CommandContext): Promise<void> {
  if (ctx.args.length > 1) {
    throw new MachineError(`Invalid command line. Found extra arguments [${ctx.args.slice(1).join(' ')}]`);
  }
  const name = ctx.args[0];
  if (name === undefined || name === '') {
    ctx.showHelp();
    throw new MachineError('Error: No machine name specified');
  }
  let driver = flagString(ctx.flags, 'driver');
  const byDefault = driver === '';
  if (byDefault) {
    const choice = await chooseDefaultDriver(ctx.env);
    ctx.out.error(choice.message);
    driver = choice.name;
  }
  const mod = await loadDriver(driver);
  const req: CreateRequest = {
    name,
    driver,
    // A default driver was not known when the command line was parsed, so none of its flags was
    // accepted there: they take their environment variables and defaults.
    driverFlags: byDefault
      ? parseFlags([], mod.flags, { command: 'create', env: ctx.env }).flags
      : pick(ctx.flags, mod.flags),
    engine: {
      installURL: flagString(ctx.flags, 'engine-install-url'),
      opts: flagSlice(ctx.flags, 'engine-opt'),
      insecureRegistries: flagSlice(ctx.flags, 'engine-insecure-registry'),
      registryMirrors: flagSlice(ctx.flags, 'engine-registry-mirror'),
      labels: flagSlice(ctx.flags, 'engine-label'),
      storageDriver: flagString(ctx.flags, 'engine-storage-driver'),
      env: flagSlice(ctx.flags, 'engine-env'),
      version: flagString(ctx.flags, 'engine-version'),
    },
    swarm: {
      agent: flagBool(ctx.flags, 'swarm'),
      master: flagBool(ctx.flags, 'swarm-master'),
      image: flagString(ctx.flags, 'swarm-image'),
      discovery: flagString(ctx.flags, 'swarm-discovery'),
      strategy: flagString(ctx.flags, 'swarm-strategy'),
      opts: flagSlice(ctx.flags, 'swarm-opt'),
      joinOpts: flagSlice(ctx.flags, 'swarm-join-opt'),
      host: flagString(ctx.flags, 'swarm-host'),
      addr: flagString(ctx.flags, 'swarm-addr'),
      experimental: flagBool(ctx.flags, 'swarm-experimental'),
    },
    tlsSANs: flagSlice(ctx.flags, 'tls-san'),
    nativeSSH: ctx.globals.nativeSSH,
    waitTimeoutMs: flagInt(ctx.flags, 'wait-timeout') * 1000,
  };
  await apiFor(ctx).create(req);
  ctx.out.info(
    `To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: ${ctx.appName} env ${name}`,
  );
}

/** The subset of parsed flags that belongs to the driver. */
function pick(all: ParsedFlags, defs: FlagDef[]): ParsedFlags {
  const out: ParsedFlags = { values: new Map(), explicit: new Set() };
  for (const d of defs) {
    const v = all.values.get(d.name);
    if (v !== undefined) out.values.set(d.name, v);
    if (all.explicit.has(d.name)) out.explicit.add(d.name);
  }
  return out;
}
