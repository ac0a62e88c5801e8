import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The bin wrapper, exactly as a user runs it (it loads the bundle that `npm test` built). */
export const binPath = join(repoRoot, 'bin', 'docker-machine');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
}

/** A scratch store and a way to run the CLI against it. */
export interface CliStore {
  dir: string;
  run(args: string[], opts?: RunOptions): Promise<RunResult>;
  cleanup(): Promise<void>;
}

export async function tempStore(): Promise<CliStore> {
  const dir = await mkdtemp(join(tmpdir(), 'dm-store-'));
  return {
    dir,
    // The docker CLI's config (where create writes each machine's docker context) beside the store.
    run: (args, opts = {}) =>
      runCLI(args, {
        ...opts,
        env: { MACHINE_STORAGE_PATH: dir, DOCKER_CONFIG: join(dir, 'docker-config'), ...opts.env },
      }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Environment for the CLI under test: the caller's, minus anything that would change its behaviour. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith('MACHINE_') || k.startsWith('DOCKER_') || k === 'NO_PROXY' || k === 'no_proxy')
      delete env[k];
  }
  // Never the runner's own ~/.docker: create writes docker contexts there.
  return { ...env, SHELL: '/bin/bash', DOCKER_CONFIG: scratchDockerConfig(), ...extra };
}

let scratch: string | undefined;
/** One docker CLI config folder per test process, removed when it exits. */
function scratchDockerConfig(): string {
  if (!scratch) {
    const dir = mkdtempSync(join(tmpdir(), 'dm-docker-config-'));
    scratch = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return scratch;
}

export function runCLI(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runProcess(process.execPath, [binPath, ...args], opts);
}

/** Run a process to its end with a bound on its time; it is killed (by pid) past the bound. */
export function runProcess(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const limit = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${cmd} ${args.join(' ')} did not finish within ${limit} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, limit);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
