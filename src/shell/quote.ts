import { goQuote, MachineError } from '../errors.js';

/**
 * One value as a literal of each shell `env` writes for. An ordinary value (no character the
 * shell would interpret inside the original's quotes) comes out exactly as the original printed
 * it; any other value is quoted so that evaluating the output sets the variable to exactly that
 * value and runs nothing. A store path or URL is the user's text, and `eval "$(docker-machine
 * env)"` runs whatever the output says.
 */
export function quoteFor(shell: string, name: string, value: string): string {
  switch (shell) {
    case 'fish':
      return fish(value);
    case 'powershell':
      return powershell(value);
    case 'cmd':
      return cmd(name, value);
    case 'tcsh':
      return tcsh(value);
    case 'emacs':
      return emacs(value);
    default:
      return posix(value);
  }
}

// Control characters: C0 and DEL. A terminal may act on them, and some shells on a newline.
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * sh, bash, zsh, dash, ksh and any shell we do not know: inside double quotes $ ` \ " are
 * interpreted, and ! by an interactive bash; inside single quotes nothing is, not even a
 * newline, so a single-quoted value is read back byte for byte. A ' is closed, escaped, reopened.
 */
function posix(v: string): string {
  if (!/[$`\\"!]/.test(v) && !CONTROL.test(v)) return `"${v}"`;
  return `'${v.replaceAll("'", "'\\''")}'`;
}

/**
 * fish: double quotes expand $VAR and $(cmd) (fish 3.4+); single quotes only know \' and \\.
 * A control character (a newline) is written as fish's \xHH escape between quoted pieces, so
 * the output keeps one line per variable (`eval (docker-machine env)` reads it line by line).
 */
function fish(v: string): string {
  if (!/[$\\"]/.test(v) && !CONTROL.test(v)) return `"${v}"`;
  let out = '';
  let piece = '';
  const flush = () => {
    if (piece !== '') out += `'${piece}'`;
    piece = '';
  };
  for (const ch of v) {
    if (CONTROL.test(ch)) {
      flush();
      out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    } else if (ch === "'" || ch === '\\') piece += `\\${ch}`;
    else piece += ch;
  }
  flush();
  return out === '' ? "''" : out;
}

/**
 * tcsh/csh: double quotes expand $ and `, and ! is history substitution even inside single
 * quotes, so it stands outside them as \!. A newline inside single quotes must follow a backslash.
 */
function tcsh(v: string): string {
  if (!/[$`\\"!]/.test(v) && !CONTROL.test(v)) return `"${v}"`;
  const body = v.replaceAll("'", "'\\''").replaceAll('!', "'\\!'").replaceAll('\n', '\\\n');
  return `'${body}'`;
}

/**
 * PowerShell: double quotes expand $ and $(…) and take ` as the escape character; curly quotes
 * count as quotes. `| Invoke-Expression` runs each output line on its own, so a newline must never
 * reach the output: every special character is written as a backtick escape instead.
 */
const PS_ESCAPES: Record<string, string> = {
  '\0': '`0',
  '\u0007': '`a',
  '\b': '`b',
  '\f': '`f',
  '\n': '`n',
  '\r': '`r',
  '\t': '`t',
  '\v': '`v',
};
function powershell(v: string): string {
  let out = '';
  for (const ch of v) {
    const named = PS_ESCAPES[ch];
    if (named) out += named;
    else if (CONTROL.test(ch)) out += `$([char]${ch.charCodeAt(0)})`;
    else if ('$`"\u201c\u201d\u201e'.includes(ch)) out += `\`${ch}`;
    else out += ch;
  }
  return `"${out}"`;
}

/**
 * Emacs Lisp strings: only " and \ are special. A newline is written as \n so each setenv keeps
 * its line.
 */
function emacs(v: string): string {
  return `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`;
}

/**
 * cmd: the bare value, as the original printed it; env.ts writes the quoted `SET "NAME=value"`
 * form, which keeps & | < > ^ ( ) literal, when the value holds one of them. cmd has no way to
 * write ", % or ! literally on a command line, nor a newline in a value: such a value is refused
 * rather than run.
 */
function cmd(name: string, v: string): string {
  if (/["%!]/.test(v) || CONTROL.test(v))
    throw new MachineError(
      `Error: cmd cannot set ${name} to ${goQuote(v)} safely (it holds ", %, ! or a control character); use --shell powershell`,
    );
  return v;
}

/** Whether cmd needs the quoted `SET "NAME=value"` form for this value. */
export function cmdNeedsQuotes(v: string): boolean {
  return /[&|<>^()]/.test(v);
}
