import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliStore, repoRoot, tempStore } from '../helpers/cli.js';
import { type RecordingHost, startRecordingHost } from '../helpers/recording-sshd.js';
import { sshdAvailable } from '../helpers/sshd.js';

// --debug/-D and MACHINE_DEBUG through the built CLI: debug lines on stderr, never on stdout, and
// no secret in them. No engine answers at this URL (port 1 on loopback is closed).
const URL = 'tcp://127.0.0.1:1';
const TOKEN = 'ghp_debugTestToken0123456789';

describe('debug output', () => {
  let s: CliStore;
  before(async () => {
    s = await tempStore();
  });
  after(async () => {
    await s.cleanup();
  });

  test('-D create -d none: the version, the driver calls and the engine request, on stderr; the token nowhere', async () => {
    const r = await s.run(['-D', '--github-api-token', TOKEN, 'create', '-d', 'none', '--url', URL, 'm1']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n');
    assert.match(lines[0], /^Docker Machine Version: \S+, build \S+$/);
    for (const want of [
      /^\(m1\) Calling \.PreCreateCheck$/,
      /^\(m1\) Calling \.Create$/,
      /^\(m1\) \.Create done in \d+ ms$/,
      /^engine tcp:\/\/127\.0\.0\.1:1: GET \/version -> failed \(\d+ ms\): Cannot connect/,
      /^Command create finished in \d+ ms$/,
    ])
      assert.ok(
        lines.some((l) => want.test(l)),
        `${want} in:\n${r.stderr}`,
      );
    // stdout is what it is without -D.
    assert.ok(!/Calling|Docker Machine Version/.test(r.stdout), r.stdout);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(TOKEN));
  });

  test('-D ls and MACHINE_DEBUG=1 ls show debug lines; without them there are none', async () => {
    for (const [args, env] of [
      [['-D', 'ls'], {}],
      [['ls'], { MACHINE_DEBUG: '1' }],
    ] as const) {
      const r = await s.run([...args], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^Docker Machine Version: /m);
      assert.match(r.stderr, /^Running command ls$/m);
      assert.match(r.stdout, /^m1 /m);
    }
    const quiet = await s.run(['ls']);
    assert.equal(quiet.stderr, '');
    assert.ok(!/Calling/.test(quiet.stdout));
  });

  test('a token from the environment, or given as --flag=value, is in no line', async () => {
    const r = await s.run(['-D', `--github-api-token=${TOKEN}`, 'ls']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^Running command ls$/m);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(TOKEN), r.stderr);
    const e = await s.run(['-D', 'ls'], { env: { MACHINE_GITHUB_API_TOKEN: TOKEN } });
    assert.equal(e.code, 0, e.stderr);
    assert.ok(!`${e.stdout}${e.stderr}`.includes(TOKEN), e.stderr);
    // The debug line of a failure is redacted too (the error line is the user's own argument).
    const f = await s.run(['-D', `--github-api-token=${TOKEN}`, 'inspect', TOKEN]);
    assert.equal(f.code, 1);
    assert.match(f.stderr, /^Command failed after \d+ ms: Docker machine "<REDACTED>" does not exist/m);
  });
});

describe('debug output of a provisioning over SSH', {
  skip: sshdAvailable() ? false : 'needs root and /usr/sbin/sshd',
}, () => {
  let s: CliStore;
  let h: RecordingHost;
  before(async () => {
    s = await tempStore();
    h = await startRecordingHost({
      osRelease: await readFile(join(repoRoot, 'test/fixtures/os-release/ubuntu-22.04'), 'utf8'),
      engine: {
        version: 'Docker version 24.0.7, build afdd53b',
        path: '/usr/bin/dockerd',
        owner: 'docker-ce',
      },
      socket: true,
    });
  });
  after(async () => {
    await h?.stop();
    await s?.cleanup();
  });

  test('each SSH command, its exit code and time, and the TLS engine requests; no private key', async () => {
    const r = await s.run(
      [
        '-D',
        '--github-api-token',
        TOKEN,
        'create',
        '-d',
        'generic',
        '--generic-ip-address',
        '127.0.0.1',
        '--generic-ssh-port',
        String(h.sshd.port),
        '--generic-ssh-key',
        h.sshd.keyPath,
        '--generic-engine-port',
        String(h.enginePort),
        '--wait-timeout',
        '20',
        'g1',
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /^Using SSH client type: external$/m);
    assert.match(r.stderr, /^About to run SSH command on root@127\.0\.0\.1:\d+:\ncat \/etc\/os-release$/m);
    assert.match(
      r.stderr,
      /^SSH cmd exit 0 in \d+ ms, output: PRETTY_NAME="Ubuntu 22\.04[^\n]*\nNAME="Ubuntu"/m,
    );
    // The key's upload is a step of a batch, a line of its own; the key itself goes on stdin.
    assert.match(
      r.stderr,
      /^About to run SSH command on .*\ndm\(\) \{\n[\s\S]*?^dm \d+ must \d+ 'sh -c '\\''umask 077 && cat > \/etc\/docker\/server-key\.pem'\\'''$/m,
    );
    assert.match(r.stderr, /^SSH cmd exit 0 in \d+ ms, output: \n::dm 0\n/m);
    assert.match(r.stderr, /^Reading client key from .*\/key\.pem$/m);
    assert.match(
      r.stderr,
      new RegExp(`^engine tcp://127\\.0\\.0\\.1:${h.enginePort}: GET /version -> 200 \\(\\d+ ms\\)$`, 'm'),
    );
    // The keys went to the host (on stdin) and are on disk here; never in the log.
    const serverKey = await readFile(join(s.dir, 'machines', 'g1', 'server-key.pem'), 'utf8');
    const clientKey = await readFile(join(s.dir, 'certs', 'key.pem'), 'utf8');
    for (const secret of [TOKEN, serverKey.split('\n')[1], clientKey.split('\n')[1], 'PRIVATE KEY'])
      assert.ok(!`${r.stdout}${r.stderr}`.includes(secret), `${secret.slice(0, 20)}... in the output`);
  });
});
