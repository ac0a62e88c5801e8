import { basename } from '../runtime/path.js';
import { cmdNeedsQuotes, quoteFor } from './quote.js';

/** What `env` prints for each shell (spec §2.4): set and unset syntax and the usage hint. */
export interface EnvVars {
  name: string;
  value: string;
  /** Unset this one even while setting the others (a variable a previous `env` left behind). */
  unset?: boolean;
}

interface Syntax {
  prefix: string;
  delimiter: string;
  suffix: string;
}

/** How each shell assigns NAME; the value comes already quoted for that shell (quote.ts). */
const SET: Record<string, (name: string, quoted: string) => string> = {
  fish: (n, q) => `set -gx ${n} ${q};\n`,
  powershell: (n, q) => `$Env:${n} = ${q}\n`,
  cmd: (n, q) => (cmdNeedsQuotes(q) ? `SET "${n}=${q}"\n` : `SET ${n}=${q}\n`),
  tcsh: (n, q) => `setenv ${n} ${q};\n`,
  emacs: (n, q) => `(setenv "${n}" ${q})\n`,
};
const SET_POSIX = (n: string, q: string) => `export ${n}=${q}\n`;

const UNSET: Record<string, Syntax> = {
  fish: { prefix: 'set -e ', delimiter: '', suffix: ';\n' },
  powershell: { prefix: 'Remove-Item Env:\\\\', delimiter: '', suffix: '\n' },
  cmd: { prefix: 'SET ', delimiter: '=', suffix: '\n' },
  emacs: { prefix: '(setenv "', delimiter: '" nil', suffix: ')\n' },
  tcsh: { prefix: 'unsetenv ', delimiter: '', suffix: ';\n' },
};
const UNSET_POSIX: Syntax = { prefix: 'unset ', delimiter: '', suffix: '\n' };

/**
 * Variables in the shell's syntax, then the usage hint. In unset mode the values are not printed:
 * the original glued NO_PROXY's current value to its name there (`unset NO_PROXYa,b`). Values
 * are quoted for the shell (the original pasted them in raw, so a path holding $(…) ran).
 */
export function renderEnv(opts: {
  shell: string;
  unset: boolean;
  vars: EnvVars[];
  commandLine: string;
}): string {
  let out = '';
  if (opts.unset) {
    const syn = UNSET[opts.shell] ?? UNSET_POSIX;
    for (const v of opts.vars) out += syn.prefix + v.name + syn.delimiter + syn.suffix;
  } else {
    const set = SET[opts.shell] ?? SET_POSIX;
    const syn = UNSET[opts.shell] ?? UNSET_POSIX;
    for (const v of opts.vars)
      out += v.unset
        ? syn.prefix + v.name + syn.delimiter + syn.suffix
        : set(v.name, quoteFor(opts.shell, v.name, v.value));
  }
  return out + usageHint(opts.shell, opts.commandLine);
}

export function usageHint(shell: string, commandLine: string): string {
  let comment = '#';
  let cmd = `eval $(${commandLine})`;
  switch (shell) {
    case 'fish':
      cmd = `eval (${commandLine})`;
      break;
    case 'powershell':
      cmd = `& ${commandLine} | Invoke-Expression`;
      break;
    case 'cmd':
      comment = 'REM';
      cmd = `\t@FOR /f "tokens=*" %i IN ('${commandLine}') DO @%i`;
      break;
    case 'tcsh':
      comment = ':';
      cmd = `eval \`${commandLine}\``;
      break;
    case 'emacs':
      comment = ';;';
      cmd = `(with-temp-buffer (shell-command "${commandLine}" (current-buffer)) (eval-buffer))`;
      break;
  }
  return `${comment} Run this command to configure your shell: \n${comment} ${cmd}\n`;
}

/** basename($SHELL) on Unix; undefined when SHELL is unset. */
export function detectShell(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const sh = env.SHELL;
  if (platform === 'win32') {
    if (sh) return env.__fish_bin_dir ? 'fish' : basename(sh);
    return 'cmd';
  }
  return sh ? basename(sh) : undefined;
}

/** Global flags whose value is a secret: the hint line leaves them out (env does not use them). */
const SECRET_FLAGS = ['github-api-token', 'bugsnag-api-token'];

/**
 * The command line for the hint: argv joined by spaces, argv[0] quoted if it has a space or
 * backslash, without any secret flag and its value (`--github-api-token T`, `-github-api-token=T`).
 */
export function hintCommandLine(argv: string[]): string {
  const [first = '', ...rest] = argv;
  const head = /[ \\]/.test(first) ? `"${first}"` : first;
  const kept: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
    if (arg === '--') {
      kept.push(...rest.slice(i));
      break;
    }
    const m = /^--?([^=]+)(=.*)?$/s.exec(arg);
    if (m && SECRET_FLAGS.includes(m[1] ?? '')) {
      if (m[2] === undefined) i++;
      continue;
    }
    kept.push(arg);
  }
  return [head, ...kept].join(' ');
}
