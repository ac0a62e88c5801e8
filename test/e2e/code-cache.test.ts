import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCLI } from '../helpers/cli.js';

// The entry point compiles the bundle with V8's code cache, kept in the user's cache folder.
test('the code cache is written once, private, and a corrupt one changes nothing', async () => {
  const cache = await mkdtemp(join(tmpdir(), 'dm-xdg-'));
  try {
    const env = { XDG_CACHE_HOME: cache };
    const first = await runCLI(['--version'], { env });
    assert.equal(first.code, 0, first.stderr);
    const dir = join(cache, 'docker-machine');
    const files = await readdir(dir);
    assert.equal(files.length, 1, files.join(' '));
    assert.match(files[0], /^cli-\d+-\d+-v\d+\.\d+\.\d+-\w+\.v8$/);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const file = join(dir, files[0]);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const written = (await stat(file)).mtimeMs;

    const again = await runCLI(['--version'], { env });
    assert.equal(again.stdout, first.stdout);
    // Code that imports Node's modules with import() runs too (here node:tls, for the check).
    const store = { ...env, MACHINE_STORAGE_PATH: join(cache, 'store') };
    assert.equal(
      (await runCLI(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'n1'], { env: store })).code,
      0,
    );
    const check = await runCLI(['env', 'n1'], { env: store });
    assert.match(check.stderr, /dial tcp 127\.0\.0\.1:1: connect: connection refused/);
    assert.equal((await stat(file)).mtimeMs, written, 'an accepted cache is not written again');

    // V8 refuses data that is not its own; the command runs and the cache is made anew.
    await writeFile(file, 'not a code cache');
    const corrupt = await runCLI(['--version'], { env });
    assert.equal(corrupt.code, 0, corrupt.stderr);
    assert.equal(corrupt.stdout, first.stdout);
    assert.ok((await stat(file)).size > 1000, 'the corrupt cache was replaced');

    // A cache folder that cannot be made (a file in its place) is no error either.
    const blocked = await mkdtemp(join(tmpdir(), 'dm-xdg-'));
    await writeFile(join(blocked, 'docker-machine'), '');
    const noCache = await runCLI(['--version'], { env: { XDG_CACHE_HOME: blocked } });
    assert.equal(noCache.code, 0, noCache.stderr);
    assert.equal(noCache.stdout, first.stdout);
    await rm(blocked, { recursive: true, force: true });
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});
