import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chown, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { binPath, cleanEnv, cliCommand, type RunResult, testBin } from './cli.js';

/**
 * A table of bad inputs for the CLI: each case runs bin/docker-machine against a scratch store
 * that its setup filled, and must give its exit code, exactly one line on stderr (or the given
 * stdout), and leave every file of the store as it was.
 */
export interface BadInput {
  /** The test's name: what is wrong with the input. */
  name: string;
  /** The command line after the binary; the store is $MACHINE_STORAGE_PATH unless the args name one. */
  args: string[] | ((store: string) => string[]);
  /** Fills the store before its files are recorded. */
  setup?: (store: StoreUnderTest) => Promise<void>;
  /**
   * stdin: text through a pipe (default ''), or a descriptor that gives no text: 'closed' (fd 0
   * not open), 'write-only' (open, but not for reading), 'directory' (open on a folder).
   */
  stdin?: string | { kind: 'closed' | 'write-only' | 'directory' };
  /** Run as the `nobody` user (the store is given to it): for permission cases, which root ignores. */
  asNobody?: boolean;
  /** Why the case cannot run here, if it cannot. */
  skip?: string;
  code: number;
  /** The one line on stderr (without its newline), or a pattern for it; '' for none. */
  error: string | RegExp;
  /** Patterns stdout must match, when the case says something there. */
  stdout?: RegExp | RegExp[];
}

export interface StoreUnderTest {
  dir: string;
  /** Run the CLI on this store (for setups: creating machines as a user would). */
  run(args: string[]): Promise<RunResult>;
}

const NOBODY = 65534;

/**
 * Why the `nobody` user cannot run the CLI here (a checkout in a folder only root may enter), or
 * undefined when it can.
 */
export function nobodyCannotRun(): string | undefined {
  const r = spawnSync(
    'setpriv',
    [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      process.execPath,
      '-e',
      'require("fs").readFileSync(process.argv[1])',
      testBin ?? binPath,
    ],
    { stdio: 'ignore' },
  );
  return r.status === 0 ? undefined : `the nobody user cannot run ${testBin ?? binPath} here`;
}

/** One test per case. */
export function badInputTests(cases: BadInput[]): void {
  for (const c of cases) {
    test(c.name, { skip: c.skip ?? false }, async () => {
      const base = await mkdtemp(join(tmpdir(), 'dm-bad-'));
      const dir = join(base, 'store');
      // The V8 code cache goes outside the store: it is the tool's, not the store's.
      const xdg = join(base, 'xdg');
      await mkdir(dir);
      await mkdir(xdg);
      const env = { MACHINE_STORAGE_PATH: dir, XDG_CACHE_HOME: xdg, HOME: base };
      const store: StoreUnderTest = { dir, run: (args) => runIn(dir, args, env, '', false) };
      try {
        if (c.setup) await c.setup(store);
        if (c.asNobody) await chownTree(base, NOBODY);
        const before = await snapshot(dir);
        const args = typeof c.args === 'function' ? c.args(dir) : c.args;
        const r = await runIn(dir, args, env, c.stdin ?? '', c.asNobody ?? false);
        const what = `${args.join(' ').slice(0, 200)}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
        assert.equal(r.code, c.code, `exit code of ${what}`);
        if (c.error === '') {
          assert.equal(r.stderr, '', what);
        } else {
          assert.ok(
            r.stderr.endsWith('\n') && r.stderr.indexOf('\n') === r.stderr.length - 1,
            `one line: ${what}`,
          );
          const line = r.stderr.slice(0, -1);
          if (typeof c.error === 'string') assert.equal(line, c.error, what);
          else assert.match(line, c.error, what);
        }
        for (const re of c.stdout === undefined ? [] : [c.stdout].flat()) assert.match(r.stdout, re, what);
        assert.deepEqual(await snapshot(dir), before, `the store is unchanged: ${what}`);
      } finally {
        await rm(base, { recursive: true, force: true });
      }
    });
  }
}

/**
 * Every entry under `root` with its type, mode and content (files by hash, symlinks by target),
 * without following links. cache/ is left out: it holds only what can be derived from the rest
 * (the config cache), may be deleted at any time, and read-only commands refresh it.
 */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    const path = join(root, rel);
    const st = await lstat(path);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out[rel] = `link ${await readlink(path)}`;
    else if (st.isDirectory()) {
      out[rel] = `dir ${mode}`;
      for (const e of (await readdir(path)).sort()) {
        if (rel === '' && e === 'cache') continue;
        await walk(rel === '' ? e : join(rel, e));
      }
    } else if (st.isFile()) {
      // A file its owner cannot read (mode 000) is recorded by size: root reads it anyway.
      const body = await readFile(path).catch(() => null);
      out[rel] = `file ${mode} ${body ? createHash('sha256').update(body).digest('hex') : st.size}`;
    } else out[rel] = `other ${mode}`;
  };
  await walk('');
  return out;
}

async function chownTree(path: string, id: number): Promise<void> {
  const st = await lstat(path);
  await chown(path, id, id).catch(() => {});
  if (st.isDirectory()) for (const e of await readdir(path)) await chownTree(join(path, e), id);
}

/** The CLI in `cwd`, with stdin as asked; a command that does not end in 60 s is killed. */
export function runIn(
  cwd: string,
  args: string[],
  extraEnv: NodeJS.ProcessEnv,
  stdin: BadInput['stdin'],
  asNobody: boolean,
): Promise<RunResult> {
  // The shell sets up descriptors that spawn's stdio cannot (a closed or write-only fd 0).
  const redirect =
    typeof stdin === 'object'
      ? { closed: '<&-', 'write-only': '0>/dev/null', directory: '</' }[stdin.kind]
      : '';
  const prefix = asNobody ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'] : [];
  const argv = [...prefix, ...cliCommand, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `exec "$@" ${redirect}`, 'sh', ...argv], {
      cwd,
      env: cleanEnv(extraEnv),
      stdio: [typeof stdin === 'object' ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not finish in 60 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    if (typeof stdin !== 'object') {
      // A command that exits before reading its input closes the pipe: not the test's failure.
      child.stdin?.on('error', () => {});
      child.stdin?.end(stdin ?? '');
    }
  });
}
