import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ExecResult, RunOptions } from '../ssh/client.js';
import { type BatchStep, runBatch } from './batch.js';
import type { ProvisionContext } from './context.js';

/**
 * The batch runs in a real local shell, as an SSH session's shell would run it: dash (Debian's
 * sh), bash, and busybox's sh with busybox's dd (boot2docker's), where installed.
 */
const shells: { name: string; argv: string[]; busybox?: boolean }[] = [
  { name: 'sh', argv: ['/bin/sh'] },
  { name: 'bash', argv: ['/bin/bash'] },
  ...(existsSync('/usr/bin/busybox')
    ? [{ name: 'busybox', argv: ['/usr/bin/busybox', 'sh'], busybox: true }]
    : []),
];

async function machine(shell: (typeof shells)[number]) {
  const dir = await mkdtemp(join(tmpdir(), 'dm-batch-'));
  let path = process.env.PATH ?? '';
  if (shell.busybox) {
    await symlink('/usr/bin/busybox', join(dir, 'dd'));
    path = `${dir}:${path}`;
  }
  const sent: string[] = [];
  const run = (cmd: string, opts: RunOptions = {}) =>
    new Promise<ExecResult>((resolve, reject) => {
      sent.push(cmd);
      const child = spawn(shell.argv[0], [...shell.argv.slice(1), '-c', cmd], {
        env: { ...process.env, PATH: path },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input ?? '');
    });
  const ctx = { ssh: { run } } as unknown as ProvisionContext;
  return { ctx, dir, sent, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

for (const shell of shells) {
  test(`${shell.name}: each step gets its own stdin bytes, output and exit status; probes go on`, async () => {
    const m = await machine(shell);
    try {
      // A PEM-like file, one without a final newline, one with UTF-8 and quotes: byte for byte.
      const inputs = [
        '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        'no newline at the end',
        'Environment="B=has space" \'quoted\' é ✓\n\n',
      ];
      const steps: BatchStep[] = [
        ...inputs.map((input, i) => ({ cmd: `sh -c 'umask 077 && cat > ${m.dir}/f${i}'`, input })),
        { cmd: `ls ${m.dir}/missing`, probe: true },
        // Reads nothing of the batch's stdin, though it would read any it were given.
        { cmd: 'cat; printf "no newline"; echo to-stderr >&2' },
        { cmd: `printf '%s\\n' 'it'"'"'s' && exit_status() { return 4; } && exit_status`, probe: true },
      ];
      const r = await runBatch(m.ctx, steps);
      assert.equal(m.sent.length, 1, 'one round trip');
      for (const [i, input] of inputs.entries()) {
        assert.equal(await readFile(join(m.dir, `f${i}`), 'utf8'), input);
        assert.deepEqual(r[i], { code: 0, stdout: '', stderr: '' });
      }
      assert.notEqual(r[3].code, 0);
      assert.match(r[3].stderr, /missing/);
      assert.deepEqual(r[4], { code: 0, stdout: 'no newline', stderr: 'to-stderr\n' });
      assert.deepEqual(r[5], { code: 4, stdout: "it's\n", stderr: '' });
    } finally {
      await m.cleanup();
    }
  });

  test(`${shell.name}: a failed step ends the batch and fails with its own command and output`, async () => {
    const m = await machine(shell);
    try {
      const failing = 'echo half-done && echo "no such unit" >&2 && false';
      await assert.rejects(
        runBatch(m.ctx, [{ cmd: 'echo first' }, { cmd: failing }, { cmd: `touch ${m.dir}/after` }]),
        (e: Error) =>
          e.message ===
          `ssh command error:\ncommand : ${failing}\nerr     : exit status 1\noutput  : half-done\nno such unit`,
      );
      assert.ok(!existsSync(join(m.dir, 'after')), 'the step after the failure did not run');
      // A step with an error of its own (the engine restart's, with its journal).
      await assert.rejects(
        runBatch(m.ctx, [
          { cmd: 'true' },
          {
            cmd: 'echo stop failed >&2; exit 5',
            failure: async (r) => new Error(`own: ${r.code} ${r.stderr.trim()}`),
          },
        ]),
        /^Error: own: 5 stop failed$/,
      );
    } finally {
      await m.cleanup();
    }
  });
}

test('one step runs as itself, with no batch around it', async () => {
  const m = await machine(shells[0]);
  try {
    const r = await runBatch(m.ctx, [{ cmd: 'cat', input: 'data' }]);
    assert.deepEqual(m.sent, ['cat']);
    assert.deepEqual(r, [{ code: 0, stdout: 'data', stderr: '' }]);
  } finally {
    await m.cleanup();
  }
});

test('a batch that never ran (a shell that is not sh) fails naming its first step', async () => {
  const ctx = {
    ssh: { run: async () => ({ code: 127, stdout: '', stderr: 'fish: Unknown command: dm\n' }) },
  } as unknown as ProvisionContext;
  await assert.rejects(
    runBatch(ctx, [{ cmd: 'hostname m1' }, { cmd: 'dockerd --version', probe: true }]),
    (e: Error) =>
      e.message ===
      'ssh command error:\ncommand : hostname m1\nerr     : exit status 127\noutput  : fish: Unknown command: dm',
  );
});
