import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { debug } from '../../debug.js';
import { MachineError } from '../../errors.js';

/**
 * Windows PowerShell, through which the hyperv driver drives Hyper-V (its cmdlets have no other
 * command line): where it is, a value quoted so that PowerShell reads it as one literal string,
 * running one command, and its errors made into one line.
 */

export const POWERSHELL_NOT_FOUND = 'Powershell was not found in the path';

/** Ours: the program to run, ahead of every other place; tests point it at a fake on any system. */
export const OVERRIDE_ENV = 'MACHINE_HYPERV_POWERSHELL';

/**
 * Every command stops at its first error (so that the exit status says it failed) and draws no
 * progress bars (which a redirected PowerShell would print as CLIXML on stderr).
 */
export const COMMAND_PREFIX = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; ";

/** The program: $MACHINE_HYPERV_POWERSHELL, else powershell.exe on PATH, else Windows' own folder. */
export function findPowerShell(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const override = env[OVERRIDE_ENV];
  if (override) return executable(override) ? override : undefined;
  if (process.platform !== 'win32') return undefined;
  const dirs = [
    ...(env.PATH ?? env.Path ?? '').split(delimiter),
    join(env.SystemRoot ?? env.SYSTEMROOT ?? 'C:\\Windows', 'System32', 'WindowsPowerShell', 'v1.0'),
  ].filter(Boolean);
  for (const dir of dirs) {
    const p = join(dir, 'powershell.exe');
    if (executable(p)) return p;
  }
  return undefined;
}

function executable(p: string): boolean {
  try {
    accessSync(p, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A PowerShell single-quoted string literal of `value`: nothing inside is expanded ($, `, ").
 * PowerShell takes the typographic single quotes as quotes too, so each of them is doubled as
 * well. A NUL would end the command line early: refused.
 */
export function psQuote(value: string): string {
  if (value.includes('\0'))
    throw new MachineError(`cannot pass ${JSON.stringify(value)} to PowerShell: it holds a NUL`);
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/** Hyper-V has no VM of that name (Get-VM's "Hyper-V was unable to find a virtual machine"). */
export class VMNotFoundError extends MachineError {}

/** A PowerShell command that failed: what it did and PowerShell's first error line. */
export class PowerShellError extends MachineError {
  constructor(
    readonly command: string,
    readonly stderr: string,
  ) {
    super(`PowerShell command "${command}" failed: ${errorLine(stderr)}`);
  }
}

/**
 * The line that says what went wrong: the first of PowerShell's error record (the "At line:"
 * position and the "+ CategoryInfo" lines that follow are noise), from plain text or CLIXML.
 */
export function errorLine(stderr: string): string {
  const text = stderr.trimStart().startsWith('#< CLIXML') ? fromCLIXML(stderr) : stderr;
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const first = lines.find((l) => !/^(At line:|At char:|\+|~)/.test(l));
  return first ?? 'no output';
}

function fromCLIXML(xml: string): string {
  const parts: string[] = [];
  for (const m of xml.matchAll(/<S S="Error">([\s\S]*?)<\/S>/g)) parts.push(m[1]);
  return parts
    .join('')
    .replace(/_x([0-9A-Fa-f]{4})_/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export type Exec = (
  program: string,
  args: string[],
  signal?: AbortSignal,
) => Promise<{ code: number; stdout: string; stderr: string }>;

const spawnExec: Exec = (program, args, signal) =>
  new Promise((resolve, reject) => {
    // windowsVerbatimArguments is off: Node quotes the command as one argument, which
    // powershell.exe reads back whole.
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], signal, windowsHide: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(err));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

export class PowerShell {
  constructor(
    readonly program: string,
    private readonly exec: Exec = spawnExec,
  ) {}

  /** stdout of a command that succeeded; a VMNotFoundError or PowerShellError otherwise. */
  async run(command: string, signal?: AbortSignal): Promise<string> {
    debug(`powershell ${command}`);
    const r = await this.exec(
      this.program,
      ['-NoProfile', '-NonInteractive', '-Command', COMMAND_PREFIX + command],
      signal,
    );
    if (r.code === 0) return r.stdout;
    const line = errorLine(r.stderr || r.stdout);
    if (/unable to find a virtual machine with name/i.test(line)) throw new VMNotFoundError(line);
    throw new PowerShellError(command, r.stderr || r.stdout);
  }

  /** A command whose output is ConvertTo-Json's; undefined for no output ($null). */
  async json<T>(command: string, signal?: AbortSignal): Promise<T | undefined> {
    const out = (await this.run(command, signal)).trim();
    if (out === '') return undefined;
    try {
      return JSON.parse(out) as T;
    } catch {
      throw new MachineError(`PowerShell command "${command}" printed no JSON: ${out.split(/\r?\n/)[0]}`);
    }
  }
}
