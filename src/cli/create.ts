import type { CreateRequest } from '../api/create.js';
import { lookupDriverName, sharedCreateFlags } from '../api/create-flags.js';
import { pick, requestsFor } from '../api/create-request.js';
import {
  defaultDriver,
  defaultDriverRule,
  driverFlagDefs,
  listDrivers,
  retiredDriverNames,
} from '../api/drivers.js';
import { DEFAULT_PARALLEL } from '../api/fleet.js';
import { swarmWarnings } from '../api/swarm-flags.js';
import { MachineError, UsageError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { flagInt, flagString } from '../flags/def.js';
import { parseFlags } from '../flags/parse.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';
import { flagHelpLine } from './help.js';
import { exitCodeOf, onInterrupt } from './interrupt.js';
import { jsonFlag } from './json-flag.js';
import { liveViewFor } from './live-view.js';

/** New: how many machines of a fleet (`create NAME1 NAME2 ...`) are created at once. */
const parallelFlag: FlagDef = {
  name: 'parallel',
  kind: 'int',
  default: DEFAULT_PARALLEL,
  envVar: 'MACHINE_CREATE_PARALLEL',
  usage: 'With several machine names, how many machines are created at once',
};

const createFlags = [...sharedCreateFlags, parallelFlag, jsonFlag];
export const flags = createFlags;

/** The shared flags plus the chosen driver's, sorted by their help line as the original does. */
export async function resolveFlags(rawArgs: string[], env: NodeJS.ProcessEnv): Promise<FlagDef[]> {
  const name = lookupDriverName(rawArgs, env);
  // An unknown driver first: its flags cannot be known, so any of them would be "not defined".
  const driverFlags = name === '' ? [] : await driverFlagDefs(name);
  return [...createFlags, ...driverFlags].sort((a, b) => {
    const x = flagHelpLine(a);
    const y = flagHelpLine(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

export async function helpFooter(rawArgs: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const chosen = lookupDriverName(rawArgs, env);
  let t = '\nDrivers:\n';
  const drivers = listDrivers();
  const width = Math.max(...drivers.map((d) => d.name.length));
  for (const d of drivers) t += `   ${d.name.padEnd(width)} ${d.description}\n`;
  t += `\nRetired (create says what to use instead): ${retiredDriverNames().join(', ')}\n`;
  if (chosen === '') t += "\nRun 'docker-machine create -d DRIVER --help' to see the flags of that driver.\n";
  t += `\n${defaultDriverRule()}\n`;
  return t;
}

export async function run(ctx: CommandContext): Promise<void> {
  const names = ctx.args;
  if (names.length === 0 || (names.length === 1 && names[0] === '')) {
    ctx.showHelp();
    throw new MachineError('Error: No machine name specified');
  }
  const parallel = flagInt(ctx.flags, 'parallel');
  if (parallel < 1) {
    throw new UsageError(`invalid value "${parallel}" for flag -parallel: expected at least 1`, 'create');
  }
  let driver = flagString(ctx.flags, 'driver');
  const byDefault = driver === '';
  if (byDefault) {
    const choice = await defaultDriver(ctx.env);
    ctx.out.error(choice.message);
    driver = choice.name;
  }
  const defs = await driverFlagDefs(driver);
  // A default driver was not known when the command line was parsed, so none of its flags was
  // accepted there: they take their environment variables and defaults.
  const driverFlags = byDefault
    ? parseFlags([], defs, { command: 'create', env: ctx.env }).flags
    : pick(ctx.flags, defs);
  const requests = requestsFor(names, ctx, driver, driverFlags);
  for (const w of swarmWarnings(ctx.flags)) ctx.out.warn(w);
  if (requests.length === 1) {
    await apiFor(ctx).create(requests[0]);
    ctx.out.info(
      `To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: ${ctx.appName} env ${names[0]}`,
    );
    return;
  }
  await createFleet(ctx, requests, Math.min(parallel, requests.length));
}

/**
 * Several machines in parallel, each line prefixed with its machine's name; a summary at the
 * end, on stdout what was created, on stderr what failed (then the exit status is not 0).
 */
async function createFleet(ctx: CommandContext, requests: CreateRequest[], parallel: number): Promise<void> {
  const names = requests.map((r) => r.name);
  const live = liveViewFor(ctx, names);
  const api = apiFor(ctx, { machineColumn: Math.max(...names.map((n) => n.length)), live });
  const ac = new AbortController();
  let interrupted = 0;
  const removeHandlers = onInterrupt(
    (signal) => {
      interrupted = exitCodeOf(signal);
      ctx.out.error(`${signal}: stopping every create at its next step (once more to exit at once)`);
      ac.abort();
    },
    {
      giveUp: () =>
        ctx.out.error(
          `Exiting before every create stopped; 'docker-machine rm -y NAME' removes what each made`,
        ),
    },
  );
  let result: Awaited<ReturnType<typeof api.createMany>>;
  live?.start();
  try {
    result = await api.createMany({ machines: requests, parallel, signal: ac.signal });
  } finally {
    live?.stop();
    removeHandlers();
  }
  const created = result.created.map((m) => m.name);
  if (created.length > 0) {
    ctx.out.info(
      `Created ${created.length === names.length ? '' : `${created.length} of `}${names.length} machines: ${created.join(', ')}`,
    );
    ctx.out.info(
      `To see how to connect your Docker Client to the Docker Engine running on one of them, run: ${ctx.appName} env NAME`,
    );
  }
  if (result.failed.length === 0) return;
  const lines: string[] = [];
  for (const f of result.failed) {
    const all = f.error.split('\n');
    // An error of several lines in full, with the machine's column; its first line in the summary.
    if (all.length > 1) for (const l of all) ctx.out.error(`${f.name} | ${l}`);
    lines.push(`Failed to create ${f.name}: ${all[0]}`);
  }
  const left = result.failed.filter((f) => f.inStore).map((f) => f.name);
  if (left.length > 0)
    lines.push(`To remove what the failed creates made, run: ${ctx.appName} rm -y ${left.join(' ')}`);
  const codes = new Set(result.failed.map((f) => f.exitCode));
  const exitCode = interrupted || (codes.size === 1 ? [...codes][0] : 1);
  throw new MachineError(lines.join('\n'), { exitCode });
}
