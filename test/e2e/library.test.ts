import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';

// The library as another program loads it: the bundled dist/api.cjs (package.json "main").
const require = createRequire(import.meta.url);

test('library API: create, list, inspect, check and remove through dist/api.cjs', async () => {
  const { MachineAPI, MachineError } = require(join(repoRoot, 'dist', 'api.cjs'));
  const store = await mkdtemp(join(tmpdir(), 'dm-lib-'));
  const events: string[] = [];
  try {
    const api = new MachineAPI({
      storePath: store,
      events: (e: { message: string }) => events.push(e.message),
      env: { DOCKER_CONFIG: join(store, 'docker-config') },
    });
    const m = await api.create({
      name: 'lib1',
      driver: 'none',
      driverFlags: await api.driverFlags('none', { url: 'tcp://127.0.0.1:1' }),
      engine: { labels: ['from=library'] },
    });
    assert.equal(m.name, 'lib1');
    // The machine is also a docker context (see test/e2e/docker-contexts.test.ts for the docker CLI).
    const meta = join(
      store,
      'docker-config',
      'contexts',
      'meta',
      createHash('sha256').update('lib1').digest('hex'),
    );
    assert.equal(
      JSON.parse(readFileSync(join(meta, 'meta.json'), 'utf8')).Endpoints.docker.Host,
      'tcp://127.0.0.1:1',
    );
    assert.ok(events.includes('Running pre-create checks...'));
    assert.deepEqual(await api.names(), ['lib1']);
    const rows = await api.list({ timeoutMs: 2000 });
    assert.equal(rows.length, 1);
    assert.equal(rows[0].State, 'Running');
    assert.match(rows[0].Error, /Cannot connect to the docker engine endpoint/);
    const loaded = await api.load('lib1');
    assert.deepEqual(loaded.config.HostOptions.EngineOptions.Labels, ['from=library']);
    await assert.rejects(
      api.checkConnection(loaded),
      (e: Error) => e instanceof MachineError && /regenerate-certs lib1/.test(e.message),
    );
    await assert.rejects(
      api.create({
        name: 'lib1',
        driver: 'none',
        driverFlags: await api.driverFlags('none', { url: 'tcp://127.0.0.1:1' }),
      }),
      /already exists/,
    );
    // A program calling the API gets the command line's checks of the driver's flags.
    await assert.rejects(
      api.create({
        name: 'lib2',
        driver: 'generic',
        driverFlags: await api.driverFlags('generic', {
          'generic-ip-address': '127.0.0.1',
          'generic-ssh-port': 65536,
        }),
      }),
      (e: Error) =>
        e instanceof MachineError &&
        e.message ===
          'Error setting machine configuration from flags provided: invalid value "65536" for flag -generic-ssh-port: expected a TCP port, 1-65535',
    );
    // And the engine and swarm values' checks: a newline would split the engine's drop-in.
    for (const [extra, message] of [
      [
        { engine: { opts: ['log-level=debug\nExecStartPre=/bin/sh -c id'] } },
        'Error creating machine: invalid value "log-level=debug\\nExecStartPre=/bin/sh -c id" for engine.opts (--engine-opt): expected one line, without newlines or control characters',
      ],
      [
        { engine: { env: ['A=1\rB=2'] } },
        'Error creating machine: invalid value "A=1\\rB=2" for engine.env (--engine-env): expected one line, without newlines or control characters',
      ],
      [
        { swarm: { master: true, image: 'swarm\n:latest' } },
        'Error creating machine: invalid value "swarm\\n:latest" for swarm.image (--swarm-image): expected one line, without newlines or control characters',
      ],
      [
        { engine: { labels: [7] } },
        'Error creating machine: engine.labels (--engine-label) must be text, not number',
      ],
    ] as const) {
      await assert.rejects(
        api.create({
          name: 'lib3',
          driver: 'none',
          driverFlags: await api.driverFlags('none', { url: 'tcp://127.0.0.1:1' }),
          ...extra,
        }),
        (e: Error) => e instanceof MachineError && e.message === message,
      );
    }
    assert.deepEqual(await api.names(), ['lib1']);
    assert.deepEqual(await api.remove('lib1'), { removed: true, driverError: undefined });
    assert.equal(existsSync(meta), false);
    assert.deepEqual(await api.names(), []);
  } finally {
    await rm(store, { recursive: true, force: true });
  }
});
