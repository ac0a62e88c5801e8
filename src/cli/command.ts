import type { FlagDef, ParsedFlags } from '../flags/def.js';
import type { GlobalOptions } from './globals.js';
import type { Output } from './output.js';

export interface CommandContext {
  /** The command's name as declared (not the alias typed). */
  name: string;
  args: string[];
  flags: ParsedFlags;
  globals: GlobalOptions;
  out: Output;
  env: NodeJS.ProcessEnv;
  /** basename(argv0), used where the original printed the app name. */
  appName: string;
  /** The whole command line as typed, for the `env` usage hint. */
  argv: string[];
  stdin: NodeJS.ReadableStream;
  /** The flags the command was parsed with (create's depend on the driver). */
  flagDefs: FlagDef[];
  /** Print this command's help on stdout. */
  showHelp(): void;
}

/** A command's module, loaded only when that command runs. */
export interface CommandModule {
  flags: FlagDef[];
  /** Flags that depend on the raw arguments (create adds the chosen driver's flags). */
  resolveFlags?(rawArgs: string[], env: NodeJS.ProcessEnv): Promise<FlagDef[]>;
  /** Extra help text after the options (create lists the drivers). */
  helpFooter?(rawArgs: string[], env: NodeJS.ProcessEnv): Promise<string>;
  /** ssh passes its arguments through untouched. */
  skipFlagParsing?: boolean;
  run(ctx: CommandContext): Promise<void>;
}

export interface CommandInfo {
  name: string;
  aliases?: string[];
  /** Left out of help (the completion scripts' helper). */
  hidden?: boolean;
  usage: string;
  description?: string;
  load(): Promise<CommandModule>;
}
