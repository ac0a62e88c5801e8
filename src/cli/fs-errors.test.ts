import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { errorMessage, fsError, systemErrorLine } from '../errors.js';
import { writeFileAtomic } from '../store/atomic.js';
import { runCLI } from './app.js';
import { commands } from './commands.js';

// File system failures that root meets too (a file where a folder is expected, a folder where a
// file is, a symlink loop), driven through the CLI in this process: each must end in one line that
// says what was being done and to which file, never Node's "ECODE: ..., syscall 'path'" nor
// "unexpected internal error".

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dm-fserr-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(store: string, ...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCLI(
    ['node', 'docker-machine', '-s', store, ...args],
    {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      stdin: process.stdin,
      env: { HOME: dir, PATH: process.env.PATH },
    },
    commands,
  );
  return { code, stdout, stderr };
}

function assertOneLine(r: { code: number; stderr: string }, re: RegExp) {
  assert.equal(r.code, 1);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
  assert.doesNotMatch(lines[0], /unexpected internal error|\bE[A-Z]{3,}\b|'\//);
}

const URL = ['--url', 'tcp://127.0.0.1:1'];

test('the store is a file: ls and create say which folder they could not list or read', async () => {
  const store = join(dir, 'storefile');
  await writeFile(store, 'x');
  assertOneLine(await run(store, 'ls'), new RegExp(`^listing ${store}/machines: not a directory$`));
  assertOneLine(
    await run(store, 'create', '-d', 'none', ...URL, 'm1'),
    new RegExp(`^reading ${store}/machines/m1: not a directory$`),
  );
});

test('a folder where the CA key is expected: the create names the key and what it did', async () => {
  const store = join(dir, 's-cakey');
  await mkdir(join(store, 'certs', 'ca-key.pem'), { recursive: true });
  assertOneLine(
    await run(store, 'create', '-d', 'none', ...URL, 'm1'),
    new RegExp(
      `^Error generating certificates: reading ${store}/certs/ca-key\\.pem: illegal operation on a directory$`,
    ),
  );
  assert.deepEqual(await readdir(join(store, 'certs')), ['ca-key.pem']);
});

test('a machine whose config.json is a symlink loop: inspect says open PATH: too many symbolic links', async () => {
  const store = join(dir, 's-loop');
  assert.equal((await run(store, 'create', '-d', 'none', ...URL, 'm1')).code, 0);
  const config = join(store, 'machines', 'm1', 'config.json');
  await rm(config);
  await symlink('config.json', config);
  assertOneLine(
    await run(store, 'inspect', 'm1'),
    new RegExp(`^open ${config}: too many symbolic links encountered$`),
  );
});

test('writing over a folder names the file written, not its temporary name', async () => {
  const target = join(dir, 'is-a-dir');
  await mkdir(join(target, 'inside'), { recursive: true });
  const err = await writeFileAtomic(target, 'x').then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.equal(errorMessage(err), `writing ${target}: illegal operation on a directory`);
  assert.deepEqual(await readdir(dir).then((l) => l.filter((f) => f.startsWith('is-a-dir.'))), []);
});

test('a full disk and a read-only file system: the file written is named, no temporary file stays', async (t) => {
  const mnt = join(dir, 'small');
  await mkdir(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    t.skip('cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)');
    return;
  }
  try {
    const store = join(mnt, 'store');
    assert.equal((await run(store, 'create', '-d', 'none', ...URL, 'm1')).code, 0);
    const target = join(mnt, 'big');
    const full = await writeFileAtomic(target, Buffer.alloc(256 << 10)).catch((e: unknown) => e);
    assert.equal(errorMessage(full), `writing ${target}: no space left on device`);
    assert.deepEqual(await readdir(mnt), ['store']);
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    const ro = await writeFileAtomic(target, 'x').catch((e: unknown) => e);
    assert.equal(errorMessage(ro), `writing ${target}: read-only file system`);
    // Through the CLI: rm of a machine in a store on a read-only file system.
    assertOneLine(
      await run(store, 'rm', '-y', 'm1'),
      // The lock's owner record is written beside the lock and linked into place (store/lock.ts).
      new RegExp(
        `^Cannot take the lock of Machine "m1" \\(${store}/machines/\\.locks/m1\\.lock\\): opening ${store}/machines/\\.locks/m1\\.lock\\.\\d+\\.\\w+\\.tmp: read-only file system$`,
      ),
    );
  } finally {
    execFileSync('umount', [mnt]);
  }
});

test('system errors in words: the action, the path (and where to), the system text', async () => {
  const enotdir = await readdir(join(dir, 'storefile', 'x')).catch((e: unknown) => e);
  assert.equal(systemErrorLine(enotdir), `listing ${join(dir, 'storefile', 'x')}: not a directory`);
  assert.equal(errorMessage(enotdir), systemErrorLine(enotdir));
  assert.equal(errorMessage(fsError('removing', '/p', enotdir)), 'removing /p: not a directory');
  // Errors that are not about a file keep their text.
  assert.equal(errorMessage(new Error('plain')), 'plain');
  assert.equal(
    systemErrorLine(
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect' }),
    ),
    undefined,
  );
});
