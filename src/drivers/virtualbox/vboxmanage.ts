import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { debug } from '../../debug.js';
import { MachineError } from '../../errors.js';

/**
 * VBoxManage, VirtualBox's command line: where it is, running it as the original did (a VM that
 * is busy answers "The object is not ready": asked again a few times), its errors made into one
 * line, and the parsers of what it prints.
 */

export const VBOX_NOT_FOUND =
  'VBoxManage not found. Make sure VirtualBox is installed and VBoxManage is in the path';

/** Ours: the program to run, ahead of every other place (tests point it at a fake). */
export const OVERRIDE_ENV = 'MACHINE_VBOXMANAGE';

const NOT_READY_ATTEMPTS = 5;
const NOT_READY_PAUSE_MS = 100;
const NO_MACHINE = /Could not find a registered machine (named|with UUID)/;

/** The program: $MACHINE_VBOXMANAGE, else VBoxManage on PATH, else VirtualBox's install folders. */
export function findVBoxManage(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const override = env[OVERRIDE_ENV];
  if (override) return executable(override) ? override : undefined;
  const names = process.platform === 'win32' ? ['VBoxManage.exe'] : ['VBoxManage', 'vboxmanage'];
  const dirs = [
    ...(env.PATH ?? '').split(delimiter),
    env.VBOX_INSTALL_PATH ?? '',
    env.VBOX_MSI_INSTALL_PATH ?? '',
    ...(process.platform === 'darwin' ? ['/Applications/VirtualBox.app/Contents/MacOS'] : []),
  ].filter(Boolean);
  for (const dir of dirs) {
    for (const n of names) {
      const p = join(dir, n);
      if (executable(p)) return p;
    }
  }
  return undefined;
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The VM is not registered (VBoxManage's "Could not find a registered machine named ..."). */
export class VMNotFoundError extends MachineError {}

/** A VBoxManage command that failed: the command and VirtualBox's own error lines, on one line. */
export class VBoxCommandError extends MachineError {
  constructor(
    readonly args: string[],
    readonly stderr: string,
  ) {
    super(`VBoxManage ${args.join(' ')} failed: ${errorLines(stderr)}`);
  }
}

/** VirtualBox's error lines without the "VBoxManage: error: " prefixes and the call-site noise. */
export function errorLines(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.replace(/^VBoxManage(\.exe)?: /, '').trim())
    .filter((l) => l !== '' && !/^error: (Context|Details): /.test(l));
  const errors = lines.filter((l) => l.startsWith('error:')).map((l) => l.replace(/^error:\s*/, ''));
  const chosen = errors.length > 0 ? errors : lines;
  return chosen.join('; ') || 'no output';
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export type Exec = (
  program: string,
  args: string[],
  signal?: AbortSignal,
) => Promise<RunResult & { code: number }>;

const spawnExec: Exec = (program, args, signal) =>
  new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(err));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

export class VBoxManage {
  constructor(
    readonly program: string,
    private readonly exec: Exec = spawnExec,
    private readonly pauseMs = NOT_READY_PAUSE_MS,
  ) {}

  /** stdout of a command that succeeded; a VMNotFoundError or VBoxCommandError otherwise. */
  async run(args: string[], signal?: AbortSignal): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      debug(`VBoxManage ${args.join(' ')}`);
      const r = await this.exec(this.program, args, signal);
      const failed = r.code !== 0 || /(^|\n)(VBoxManage(\.exe)?: )?error:/.test(r.stderr);
      if (!failed) return r.stdout;
      if (/The object is not ready/.test(r.stderr) && attempt < NOT_READY_ATTEMPTS) {
        await new Promise((res) => setTimeout(res, this.pauseMs));
        continue;
      }
      if (NO_MACHINE.test(r.stderr)) throw new VMNotFoundError(errorLines(r.stderr));
      throw new VBoxCommandError(args, r.stderr || r.stdout);
    }
  }

  /** showvminfo --machinereadable; undefined when the VM is not registered. */
  async vmInfo(name: string, signal?: AbortSignal): Promise<Map<string, string> | undefined> {
    try {
      return parseMachineReadable(await this.run(['showvminfo', name, '--machinereadable'], signal));
    } catch (err) {
      if (err instanceof VMNotFoundError) return undefined;
      throw err;
    }
  }
}

/**
 * `showvminfo --machinereadable`: one key=value per line; keys with other characters than
 * letters, digits and a few more, and every string value, in double quotes with \" and \\ escaped.
 */
export function parseMachineReadable(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (line === '') continue;
    let key: string;
    let rest: string;
    if (line.startsWith('"')) {
      const k = readQuoted(line, 0);
      if (!k || line[k.end] !== '=') continue;
      key = k.value;
      rest = line.slice(k.end + 1);
    } else {
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      key = line.slice(0, eq);
      rest = line.slice(eq + 1);
    }
    const v = rest.startsWith('"') ? readQuoted(rest, 0) : undefined;
    out.set(key, v ? v.value : rest);
  }
  return out;
}

function readQuoted(s: string, start: number): { value: string; end: number } | undefined {
  let value = '';
  for (let i = start + 1; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      value += s[++i];
      continue;
    }
    if (c === '"') return { value, end: i + 1 };
    value += c;
  }
  return undefined;
}

/** `list hostonlyifs`, `list dhcpservers`: blocks of "Key:   value" lines parted by blank lines. */
export function parseBlocks(text: string): Record<string, string>[] {
  const blocks: Record<string, string>[] = [];
  let cur: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    const m = /^([A-Za-z][A-Za-z0-9 ]*?):\s*(.*)$/.exec(line);
    if (!m) {
      if (line.trim() === '') cur = undefined;
      continue;
    }
    if (!cur) {
      cur = {};
      blocks.push(cur);
    }
    // The first of a repeated key wins (dhcpservers lists options under the same names).
    if (!(m[1] in cur)) cur[m[1]] = m[2];
  }
  return blocks;
}

/** `list vms`: `"name" {uuid}` per line. */
export function parseVMList(text: string): { name: string; uuid: string }[] {
  const vms: { name: string; uuid: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^"(.*)" \{([0-9a-fA-F-]+)\}\s*$/.exec(line);
    if (m) vms.push({ name: m[1], uuid: m[2] });
  }
  return vms;
}

/** `--version`, e.g. "7.0.14r161095" or "6.1.50_Debianr161033": the major number. */
export function majorVersion(text: string): number | undefined {
  const m = /^(\d+)\.\d+/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

/** `hostonlyif create` prints "Interface 'vboxnet1' was successfully created". */
export function createdInterface(text: string): string | undefined {
  return /Interface '([^']+)' was successfully created/.exec(text)?.[1];
}

/** A MAC as VirtualBox writes it (080027AABBCC) in the usual colon form, lower case. */
export function colonMAC(mac: string): string {
  const hex = mac.replace(/[^0-9a-fA-F]/g, '').toLowerCase();
  return hex.length === 12 ? (hex.match(/../g) ?? []).join(':') : '';
}

/** The guest's IPv4 address on the interface with this MAC, from `ip addr show`. */
export function addressOfMAC(ipAddrShow: string, mac: string): string | undefined {
  const want = colonMAC(mac);
  if (!want) return undefined;
  let current = '';
  for (const line of ipAddrShow.split(/\r?\n/)) {
    if (/^\d+:/.test(line)) current = '';
    const ether = /link\/ether ([0-9a-f:]{17})/i.exec(line);
    if (ether) current = ether[1].toLowerCase();
    const inet = /^\s+inet (\d+\.\d+\.\d+\.\d+)\//.exec(line);
    if (inet && current === want) return inet[1];
  }
  return undefined;
}
