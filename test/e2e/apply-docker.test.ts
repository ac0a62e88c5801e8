import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { binPath, type CliStore, runProcess, tempStore } from '../helpers/cli.js';
import { cacheDir, type HostEngine, startHostEngine, testHostsAvailable } from '../helpers/testhost.js';

// apply with real machines: docker-driver machines (containers running their own engine) on a
// dockerd of the test's own, as in docker-driver.test.ts.
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

describe('apply -f with docker-driver machines', { skip, timeout: 30 * 60_000 }, () => {
  let s: CliStore;
  let engine: HostEngine;
  let file: string;

  before(async () => {
    const pool = `172.29.${Math.floor(Math.random() * 256)}.0/24`;
    engine = await startHostEngine({ dockerdArgs: ['--default-address-pool', `base=${pool},size=26`] });
    s = await tempStore();
    const shared = join(cacheDir(), 'docker-driver');
    await mkdir(shared, { recursive: true });
    await mkdir(join(s.dir, 'cache'), { recursive: true });
    await symlink(shared, join(s.dir, 'cache', 'docker-driver'));
    file = join(s.dir, 'machines.yaml');
  });

  after(async () => {
    await engine?.stop();
    await s?.cleanup();
  });

  const fleet = (labels: string) => `machines:
  - name: ap1
    driver: docker
    flags:
      docker-host: unix://${engine.dockerd.socket}
      engine-label: ${labels}
  - name: ap2
    driver: docker
    flags:
      docker-host: unix://${engine.dockerd.socket}
`;

  test('creates both engines in parallel; drift is shown; --json of a recreate; docker reaches them', async () => {
    await writeFile(file, fleet('[role=web]'));
    const r = await s.run(['apply', '-f', file], { timeoutMs: 900_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^Created 2 machines: ap1, ap2$/m);

    // The engine of ap1 runs with the file's label, and answers through its env.
    const info = await runProcess(
      'bash',
      [
        '-c',
        `eval "$("${process.execPath}" "${binPath}" env ap1)" && docker info --format '{{json .Labels}}'`,
      ],
      {
        env: { MACHINE_STORAGE_PATH: s.dir, DOCKER_CONFIG: join(s.dir, 'docker-config') },
        timeoutMs: 120_000,
      },
    );
    assert.equal(info.code, 0, info.stderr);
    assert.ok(JSON.parse(info.stdout).includes('role=web'), info.stdout);

    await writeFile(file, fleet('[role=db]'));
    const drift = await s.run(['apply', '-f', file, '--dry-run']);
    assert.equal(drift.code, 0, drift.stderr);
    assert.match(
      drift.stdout,
      /^ap1 \| Plan: ap1 differs from the file .*engine-label: file \[role=db\], machine \[role=web\]$/m,
    );
    assert.match(drift.stdout, /^ap2 \| Plan: ap2 exists and matches the file$/m);

    const re = await s.run(['apply', '-f', file, '--recreate', '--json'], { timeoutMs: 900_000 });
    assert.equal(re.code, 0, re.stderr);
    const events = re.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const ends = events.filter((e) => e.machine === 'ap1' && ['started', 'done', 'failed'].includes(e.state));
    assert.deepEqual(
      ends.map((e) => `${e.operation} ${e.state}`),
      ['rm started', 'rm done', 'create started', 'create done'],
    );
    assert.ok(events.some((e) => e.machine === 'ap1' && e.step.startsWith('Provisioning with')));
    const ls = await s.run(['ls', '--format', '{{.Name}} {{.State}}']);
    assert.equal(ls.stdout, 'ap1 Running\nap2 Running\n');
    const rm = await s.run(['rm', '-y', 'ap1', 'ap2'], { timeoutMs: 300_000 });
    assert.equal(rm.code, 0, rm.stderr);
  });
});
