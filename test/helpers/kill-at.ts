import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/**
 * Calls `hit` once a cloud fake has made a resource of kind `at` (its answer held, so the kill
 * lands before the driver hears of it). Returns the function that stops listening.
 */
export type MadeWatch = (at: string, hit: () => void) => () => void;

/** A fake's 'created' events as a MadeWatch; `field` of an event names the resource's kind. */
export function onCreated(
  fake: {
    on(ev: 'created', fn: (e: Record<string, unknown>) => void): unknown;
    off(ev: 'created', fn: (e: Record<string, unknown>) => void): unknown;
  },
  field = 'kind',
): MadeWatch {
  return (at, hit) => {
    const fn = (e: Record<string, unknown>) => {
      if (e[field] === at) hit();
    };
    fake.on('created', fn);
    return () => fake.off('created', fn);
  };
}

/**
 * The cloud drivers' kill-at-each-step: run `create` (args after the program, ending with the
 * machine's name) on the store, SIGKILL it when `at` happens (a RegExp: a line of its output so
 * far; a string: `made` reporting that kind of resource), wait `settleMs` for a held answer to go,
 * then read what the machine's config.json recorded of the driver ({} when none was written).
 * Fails if the create ends, or does not get there within the bound, first.
 */
export async function killCreateAt(
  at: RegExp | string,
  opts: {
    storeDir: string;
    args: string[];
    env?: NodeJS.ProcessEnv;
    made?: MadeWatch;
    timeoutMs?: number;
    settleMs?: number;
  },
  // biome-ignore lint/suspicious/noExplicitAny: each test reads the driver fields it checks
): Promise<{ out: string; driver: Record<string, any> }> {
  const [cmd, ...pre] = cliCommand;
  const child = spawn(cmd, [...pre, ...opts.args], {
    env: cleanEnv({ MACHINE_STORAGE_PATH: opts.storeDir, ...opts.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((r) => {
    child.on('exit', r);
    child.on('error', r);
  });
  let out = '';
  let unwatch = () => {};
  const seen = await new Promise<boolean>((resolve) => {
    const bound = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(false);
    }, opts.timeoutMs ?? 60_000);
    const hit = () => {
      clearTimeout(bound);
      child.kill('SIGKILL');
      resolve(true);
    };
    if (typeof at === 'string' && opts.made) unwatch = opts.made(at, hit);
    const onData = (d: Buffer) => {
      out += d;
      if (at instanceof RegExp && at.test(out)) hit();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const ended = () => {
      clearTimeout(bound);
      resolve(false);
    };
    child.on('exit', ended);
    child.on('error', ended);
  });
  await exited;
  unwatch();
  if (!seen) throw new Error(`the create did not reach ${at} (output: ${out})`);
  await new Promise((r) => setTimeout(r, opts.settleMs ?? 600));
  const name = opts.args[opts.args.length - 1];
  const cfg = join(opts.storeDir, 'machines', name, 'config.json');
  const driver = existsSync(cfg) ? JSON.parse(await readFile(cfg, 'utf8')).Driver : {};
  return { out, driver };
}
