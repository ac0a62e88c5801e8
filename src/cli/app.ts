import { addSecret, debug as debugLine, isSecretFlag, setDebugSink } from '../debug.js';
import { errorMessage, MachineError, systemErrorLine, UsageError } from '../errors.js';
import type { FlagDef, ParsedFlags } from '../flags/def.js';
import { flagBool } from '../flags/def.js';
import { parseFlags, parseGoBool } from '../flags/parse.js';
import { basename } from '../runtime/path.js';
import { VERSION_STRING } from '../version.js';
import type { CommandContext, CommandInfo, CommandModule } from './command.js';
import { findIn } from './command-list.js';
import { globalFlagDefs, globalOptions } from './globals.js';
import { appHelp, commandHelp } from './help.js';
import { createOutput, type Streams } from './output.js';

export interface RunIO extends Streams {
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
}

const HELP_FLAG: FlagDef = { name: 'help', short: 'h', kind: 'bool', usage: 'show help' };

/**
 * The command a command line names after its global flags, or undefined when it names none (help,
 * --version) or its global flags do not parse (runCLI then says why).
 */
export function commandNameOf(argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  try {
    const g = parseFlags(argv.slice(2), globalFlagDefs(env), { stopAtFirstArg: true, env });
    if (flagBool(g.flags, 'version') || flagBool(g.flags, 'help')) return undefined;
    return g.rest[0];
  } catch {
    return undefined;
  }
}

/** Run one docker-machine command line with the bundle's commands; returns the exit code. */
export async function runCLI(argv: string[], io: RunIO, commands: CommandInfo[]): Promise<number> {
  const appName = appNameFrom(argv[1]);
  const args = argv.slice(2);
  // Debug is on if -D appears anywhere, even after the command, as in the original.
  let debug = args.some((a) => a === '-D' || a === '--debug' || a === '-debug');
  const envDebug = io.env.MACHINE_DEBUG;
  if (envDebug) {
    const b = parseGoBool(envDebug);
    if (b === undefined) {
      io.stderr.write(
        `Error parsing boolean value from MACHINE_DEBUG: strconv.ParseBool: parsing "${envDebug}": invalid syntax\n`,
      );
      return 1;
    }
    debug = b;
  }
  const out = createOutput(io, debug);
  // Tokens are secrets from the start, whether debug is on now or turned on by an embedder later.
  for (const v of ['MACHINE_GITHUB_API_TOKEN', 'MACHINE_BUGSNAG_API_TOKEN']) addSecret(io.env[v]);
  for (let i = 0; i < args.length; i++) {
    const flag = /^--?([^=]+)(?:=(.*))?$/.exec(args[i]);
    if (flag && isSecretFlag(flag[1])) addSecret(flag[2] ?? args[i + 1]);
  }
  setDebugSink(debug ? (line) => void io.stderr.write(`${line}\n`) : undefined);
  const started = Date.now();
  debugLine(`Docker Machine Version: ${VERSION_STRING}`);

  try {
    const gdefs = globalFlagDefs(io.env);
    const g = parseFlags(args, gdefs, { stopAtFirstArg: true, env: io.env });
    registerSecrets(g.flags);
    if (flagBool(g.flags, 'version')) {
      out.write(`${appName} version ${VERSION_STRING}\n`);
      return 0;
    }
    const [cmdName, ...cmdArgs] = g.rest;
    if (cmdName === undefined || flagBool(g.flags, 'help')) {
      out.write(appHelp(appName, gdefs, commands));
      return 0;
    }
    const info = findIn(commands, cmdName);
    if (!info) {
      throw new MachineError(
        `${appName}: '${cmdName}' is not a ${appName} command. See '${appName} --help'.`,
      );
    }
    const mod = await info.load();
    const defs = mod.resolveFlags ? await mod.resolveFlags(cmdArgs, io.env) : mod.flags;
    const footer = mod.helpFooter ? await mod.helpFooter(cmdArgs, io.env) : '';
    const showHelp = () => out.write(commandHelp(info, defs, footer));

    let parsed: ReturnType<typeof parseFlags>;
    if (mod.skipFlagParsing) {
      if (['-h', '-help', '--help'].includes(cmdArgs[0] ?? '')) {
        showHelp();
        return 0;
      }
      parsed = { flags: { values: new Map(), explicit: new Set() }, args: cmdArgs, rest: [] };
    } else {
      parsed = parseFlags(cmdArgs, [...defs, HELP_FLAG], { command: info.name, env: io.env });
      registerSecrets(parsed.flags);
      if (flagBool(parsed.flags, 'help')) {
        showHelp();
        return 0;
      }
    }

    // With --json (docs/events.md) the event lines are the only thing on stdout.
    if (defs.some((d) => d.name === 'json') && flagBool(parsed.flags, 'json')) out.infoToStderr();
    const ctx: CommandContext = {
      name: info.name,
      args: parsed.args,
      flags: parsed.flags,
      globals: globalOptions(g.flags, debug),
      out,
      env: io.env,
      appName,
      argv: [appName, ...args],
      // A getter: creating the stdin stream costs start-up time, and only rm's prompt reads it.
      get stdin() {
        return io.stdin;
      },
      flagDefs: defs,
      showHelp,
    };
    debugLine(() => `Running command ${info.name}`);
    await mod.run(ctx);
    debugLine(() => `Command ${info.name} finished in ${Date.now() - started} ms`);
    return 0;
  } catch (err) {
    debugLine(() => `Command failed after ${Date.now() - started} ms: ${errorMessage(err)}`);
    return reportError(err, out, appName);
  }
}

/** Values of token and password flags (also from their environment variables) are never printed. */
function registerSecrets(p: ParsedFlags): void {
  for (const [name, v] of p.values) if (isSecretFlag(name) && typeof v === 'string') addSecret(v);
}

function reportError(err: unknown, out: ReturnType<typeof createOutput>, appName: string): number {
  if (err instanceof UsageError) {
    const where = err.command ? `${appName} ${err.command} --help` : `${appName} --help`;
    out.error(`Incorrect Usage: ${err.message}. See '${where}'.`);
    return err.exitCode;
  }
  if (err instanceof MachineError) {
    // An empty message carries only an exit code (ssh passes the remote command's through).
    if (err.message !== '') out.error(err.message);
    return err.exitCode;
  }
  // A file system error that no caller put in words: what was done to which file, as Go says it.
  const system = systemErrorLine(err);
  if (system) {
    out.error(system);
    if (err instanceof Error && err.stack) out.debug(err.stack);
    return 1;
  }
  // Anything else is our bug: say so in one line, with the details behind --debug.
  out.error(`Error: unexpected internal error: ${errorMessage(err)} (run with --debug for details)`);
  if (err instanceof Error && err.stack) out.debug(err.stack);
  return 1;
}

function appNameFrom(script: string | undefined): string {
  if (!script) return 'docker-machine';
  const b = basename(script).replace(/\.(c|m)?[jt]s$/, '');
  return b === 'main' || b === '' ? 'docker-machine' : b;
}

export type { CommandInfo, CommandModule };
