import { spawn } from 'node:child_process';
import { cleanEnv, cliCommand } from './cli.js';

/**
 * Run the CLI with DM_TEST_PAUSE_AT=POINT (src/test-pause.ts), wait until it says it paused there,
 * then SIGKILL it by its pid: what a kill -9 at exactly that moment leaves. Returns what it printed.
 * Fails if the process ends, or does not reach the point, within the bound.
 */
export function killAt(
  point: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cmd?: string[] } = {},
): Promise<{ stdout: string; stderr: string }> {
  const [cmd, ...pre] = opts.cmd ?? cliCommand;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], {
      env: cleanEnv({ ...opts.env, DM_TEST_PAUSE_AT: point }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const limit = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${args.join(' ')} did not reach ${point} within ${limit} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, limit);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!killed && stderr.includes(`paused at ${point}\n`)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // 'close': the process is reaped, so its pid no longer answers as alive.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (killed && signal === 'SIGKILL') resolve({ stdout, stderr });
      else
        reject(
          new Error(
            `${args.join(' ')} ended (code ${code}, ${signal}) before ${point}\nstdout: ${stdout}\nstderr: ${stderr}`,
          ),
        );
    });
  });
}
