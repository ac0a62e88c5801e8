import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fdWriter } from './fd-writer.js';

test('writes to a pipe whose reader has gone are dropped, and flush still resolves', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dm-fdw-'));
  try {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // The reader opens first (non-blocking, so the open returns), then the writer.
    const r = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const w = openSync(fifo, constants.O_WRONLY);
    const out = fdWriter(w, () => {
      throw new Error('the stream is not needed');
    });
    out.write('first\n');
    const buf = Buffer.alloc(16);
    assert.equal(buf.toString('utf8', 0, readSync(r, buf)), 'first\n');
    closeSync(r);
    // EPIPE from now on: nothing is thrown, nothing more is tried.
    out.write('second\n');
    out.write('x'.repeat(100_000));
    await out.flush();
    closeSync(w);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
