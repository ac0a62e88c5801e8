import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, rmSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { MachineError } from '../errors.js';

/** The first executable called `name` on PATH, or undefined. */
export function findBinary(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  // Windows finds programs by their extension (qemu-img.exe), which callers leave out.
  const names =
    process.platform === 'win32' && !/\.[A-Za-z0-9]+$/.test(name)
      ? [
          name,
          ...(env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM')
            .split(';')
            .filter(Boolean)
            .map((e) => name + e.toLowerCase()),
        ]
      : [name];
  for (const dir of (env.PATH ?? env.Path ?? '').split(delimiter)) {
    if (dir === '') continue;
    for (const n of names) {
      const p = join(dir, n);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {}
    }
  }
  return undefined;
}

/** A local tool (scp, rsync, sshfs, fusermount) ended with a non-zero status. */
export class ToolExitError extends MachineError {
  constructor(
    readonly tool: string,
    readonly status: number,
  ) {
    super(`${tool} exited with status ${status}`, { exitCode: status });
  }
}

export interface ToolRun {
  program: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /**
   * Where the tool's stderr goes while it runs. 'inherit' shares ours (progress and errors appear
   * as they happen). A file is for tools that leave a daemon behind (sshfs): the daemon's ssh keeps
   * the stream open, so a pipe would never close; the text is copied to our stderr at exit.
   */
  stderr?: 'inherit' | { file: string };
}

/** Run a tool wired to this process's terminal; resolves when it exits with 0. */
export function runTool(run: ToolRun): Promise<void> {
  const errFd = run.stderr && run.stderr !== 'inherit' ? openSync(run.stderr.file, 'w', 0o600) : undefined;
  const name = basename(run.program);
  return new Promise<void>((resolve, reject) => {
    const child = spawn(run.program, run.args, {
      stdio: ['inherit', 'inherit', errFd ?? 'inherit'],
      env: run.env ?? process.env,
      // Tools name themselves by argv[0] in their messages: "fusermount: ...", not its path.
      argv0: name,
    });
    if (errFd !== undefined) closeSync(errFd);
    // 'exit', not 'close': a daemon left behind may hold the inherited streams open for days.
    child.on('exit', (code, signal) => {
      if (errFd !== undefined && run.stderr && run.stderr !== 'inherit') {
        process.stderr.write(readFileSync(run.stderr.file));
        rmSync(run.stderr.file, { force: true });
      }
      if (code === 0) resolve();
      // A tool killed by a signal exits as a shell reports it: 128 + the signal's number.
      else reject(new ToolExitError(name, code ?? 128 + (signal ? osConstants.signals[signal] : 0)));
    });
    child.on('error', (err) => reject(new MachineError(`cannot run ${run.program}: ${err.message}`)));
  });
}
