import { spawn } from 'node:child_process';
import { debug, debugEnabled, since } from '../../debug.js';
import { errorMessage, MachineError } from '../../errors.js';
import { findBinary } from '../../ssh/tool.js';

/**
 * The host's tools that make and check disk images (qemu-img, mkfs.ext4, debootstrap,
 * genisoimage): found on PATH or in the sbin folders a non-root PATH leaves out, run with their
 * output kept for the error message, and named with their Debian package when missing.
 */

const SBIN = '/usr/local/sbin:/usr/sbin:/sbin';

export function findTool(name: string): string | undefined {
  return findBinary(name) ?? findBinary(name, { PATH: SBIN });
}

/** The tool's path, or a MachineError naming the package that has it and why it is needed. */
export function requireTool(name: string, pkg: string, why: string): string {
  const path = findTool(name);
  if (path) return path;
  throw new MachineError(`${name} is not installed, and ${why}: install it (apt-get install ${pkg})`);
}

export interface ToolOutput {
  stdout: string;
  /** The last lines of stdout and stderr together, for messages. */
  tail: string[];
}

/** A tool that exited with a non-zero status. */
export class ToolFailedError extends MachineError {
  constructor(
    readonly tool: string,
    readonly status: number | null,
    readonly tail: string[],
    what: string,
    readonly stdout = '',
  ) {
    const last = tail.slice(-3).join('; ');
    super(`${what} failed (${tool} exit status ${status ?? 'killed'})${last ? `: ${last}` : ''}`);
  }
}

/**
 * Run a tool to its end. `what` says what it does, for the error ("making the root file system").
 * Each output line goes to onLine as it comes; stdout is also returned whole unless it is large.
 */
export function runTool(
  program: string,
  args: string[],
  o: { what: string; onLine?: (line: string) => void; signal?: AbortSignal; keepLines?: number },
): Promise<ToolOutput> {
  const keep = o.keepLines ?? 10;
  debug(() => `Running ${program} ${args.join(' ')} (${o.what})`);
  const started = Date.now();
  const run = runToolNow(program, args, o, keep);
  if (debugEnabled())
    run.then(
      () => debug(`${program} exit 0 in ${since(started)}`),
      (err: unknown) => debug(`${program} failed in ${since(started)}: ${errorMessage(err)}`),
    );
  return run;
}

function runToolNow(
  program: string,
  args: string[],
  o: { what: string; onLine?: (line: string) => void; signal?: AbortSignal },
  keep: number,
): Promise<ToolOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], signal: o.signal });
    let stdout = '';
    let tail: string[] = [];
    const line = (l: string) => {
      if (l.trim() === '') return;
      tail = [...tail.slice(-(keep - 1)), l];
      o.onLine?.(l);
    };
    const splitter = (collect: boolean) => {
      let buf = '';
      return {
        data(d: Buffer) {
          const s = d.toString();
          if (collect && stdout.length < 1 << 20) stdout += s;
          buf += s;
          const lines = buf.split('\n');
          buf = lines.pop() ?? '';
          lines.forEach(line);
        },
        end() {
          if (buf) line(buf);
          buf = '';
        },
      };
    };
    const out = splitter(true);
    const err = splitter(false);
    child.stdout.on('data', out.data);
    child.stderr.on('data', err.data);
    child.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).name === 'AbortError')
        reject(new MachineError(`${o.what}: cancelled`));
      else reject(new MachineError(`${o.what}: cannot run ${program}: ${errorMessage(e)}`));
    });
    child.on('close', (code) => {
      out.end();
      err.end();
      if (o.signal?.aborted) return reject(new MachineError(`${o.what}: cancelled`));
      if (code === 0) resolve({ stdout, tail });
      else reject(new ToolFailedError(program.split('/').pop() ?? program, code, tail, o.what, stdout));
    });
  });
}
