import { basename } from 'node:path';

/** What `env` prints for each shell (spec §2.4): set and unset syntax and the usage hint. */
export interface EnvVars {
  name: string;
  value: string;
}

interface Syntax {
  prefix: string;
  delimiter: string;
  suffix: string;
}

const SET: Record<string, Syntax> = {
  fish: { prefix: 'set -gx ', delimiter: ' "', suffix: '";\n' },
  powershell: { prefix: '$Env:', delimiter: ' = "', suffix: '"\n' },
  cmd: { prefix: 'SET ', delimiter: '=', suffix: '\n' },
  tcsh: { prefix: 'setenv ', delimiter: ' "', suffix: '";\n' },
  emacs: { prefix: '(setenv "', delimiter: '" "', suffix: '")\n' },
};
const SET_POSIX: Syntax = { prefix: 'export ', delimiter: '="', suffix: '"\n' };

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
 * the original glued NO_PROXY's current value to its name there (`unset NO_PROXYa,b`).
 */
export function renderEnv(opts: {
  shell: string;
  unset: boolean;
  vars: EnvVars[];
  commandLine: string;
}): string {
  const syn = opts.unset ? (UNSET[opts.shell] ?? UNSET_POSIX) : (SET[opts.shell] ?? SET_POSIX);
  let out = '';
  for (const v of opts.vars)
    out += syn.prefix + v.name + syn.delimiter + (opts.unset ? '' : v.value) + syn.suffix;
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

/** The command line for the hint: argv joined by spaces, argv[0] quoted if it has a space or backslash. */
export function hintCommandLine(argv: string[]): string {
  const [first = '', ...rest] = argv;
  const head = /[ \\]/.test(first) ? `"${first}"` : first;
  return [head, ...rest].join(' ');
}
