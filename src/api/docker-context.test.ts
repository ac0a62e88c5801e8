import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import fsp, { mkdtemp, rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { contextPaths, currentContext, writeContext } from '../docker-context/store.js';
import type { ProgressEvent } from './events.js';
import { MachineAPI } from './index.js';

// The rules of machine contexts, through the library with `none` machines (no engine needed):
// whose contexts are touched, when they are rewritten, and what rm does to the current one.
describe('machine docker contexts', () => {
  let dir: string;
  let dockerConfig: string;
  let events: ProgressEvent[] = [];
  const api = (env: NodeJS.ProcessEnv = {}, storePath = join(dir, 'store')) =>
    new MachineAPI({
      storePath,
      events: (e) => events.push(e),
      env: { DOCKER_CONFIG: dockerConfig, ...env },
    });
  const create = async (a: MachineAPI, name: string, url = 'tcp://127.0.0.1:1') =>
    a.create({ name, driver: 'none', driverFlags: await a.driverFlags('none', { url }) });
  const meta = (name: string) =>
    JSON.parse(readFileSync(join(contextPaths(dockerConfig, name).meta, 'meta.json'), 'utf8'));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-contexts-'));
    dockerConfig = join(dir, 'docker-config');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("create makes the context with the machine's certificates; rm of the current one goes back to default", async () => {
    const a = api();
    const m = await create(a, 'c1');
    assert.equal(meta('c1').Endpoints.docker.Host, 'tcp://127.0.0.1:1');
    const tls = join(contextPaths(dockerConfig, 'c1').tls, 'docker');
    assert.deepEqual(
      readFileSync(join(tls, 'cert.pem')),
      readFileSync(join(dir, 'store', 'machines', 'c1', 'cert.pem')),
    );
    assert.equal(await a.useContext(m), 'c1');
    assert.equal(await currentContext(dockerConfig), 'c1');
    events = [];
    await a.remove('c1');
    assert.equal(existsSync(contextPaths(dockerConfig, 'c1').meta), false);
    assert.equal(await currentContext(dockerConfig), '');
    assert.ok(events.some((e) => e.message === 'The current docker context was "c1"; it is now "default"'));
  });

  test('a context of that name made by hand, or by another store, is left as it is, with a warning', async () => {
    await writeContext(dockerConfig, {
      name: 'c2',
      host: 'tcp://elsewhere:2376',
      description: '',
      store: '/other/store',
    });
    events = [];
    const a = api();
    const m = await create(a, 'c2');
    assert.equal(meta('c2').Endpoints.docker.Host, 'tcp://elsewhere:2376');
    assert.ok(
      events.some(
        (e) =>
          e.kind === 'warn' &&
          /A docker context named "c2" exists and was not made by this store/.test(e.message),
      ),
    );
    await assert.rejects(
      a.useContext(m),
      /A docker context named "c2" exists and was not made by this store/,
    );
    await a.remove('c2');
    assert.equal(
      meta('c2').Endpoints.docker.Host,
      'tcp://elsewhere:2376',
      "rm left the other store's context",
    );
  });

  test('MACHINE_DOCKER_CONTEXT=off: no context is made; use still makes one on demand', async () => {
    const a = api({ MACHINE_DOCKER_CONTEXT: 'off' });
    const m = await create(a, 'c3');
    assert.equal(existsSync(contextPaths(dockerConfig, 'c3').meta), false);
    assert.equal(await a.useContext(m), 'c3');
    assert.equal(meta('c3').Endpoints.docker.Host, 'tcp://127.0.0.1:1');
    await a.useContext(null);
    await api().remove('c3');
  });

  test('a sync reads the context once: meta.json is read one time per update', async () => {
    const a = api();
    const m = await create(a, 'c5');
    const { syncMachineContext } = await import('./docker-context.js');
    const { openContext } = await import('./context.js');
    const ctx = openContext({ storePath: join(dir, 'store'), env: { DOCKER_CONFIG: dockerConfig } });
    const metaFile = join(contextPaths(dockerConfig, 'c5').meta, 'meta.json');
    // Count reads of the file through the fs/promises binding the store module imported.
    const original = fsp.readFile;
    let reads = 0;
    fsp.readFile = ((path: unknown, ...rest: unknown[]) => {
      if (path === metaFile) reads++;
      return (original as (...a: unknown[]) => unknown)(path, ...rest);
    }) as typeof fsp.readFile;
    syncBuiltinESMExports();
    try {
      await syncMachineContext(ctx, m, 'tcp://127.0.0.1:9');
      assert.equal(reads, 1, 'a rewrite');
      reads = 0;
      await syncMachineContext(ctx, m, 'tcp://127.0.0.1:9');
      assert.equal(reads, 1, 'up to date, nothing written');
    } finally {
      fsp.readFile = original;
      syncBuiltinESMExports();
    }
    assert.equal(meta('c5').Endpoints.docker.Host, 'tcp://127.0.0.1:9');
    await a.remove('c5');
  });

  test('a machine whose URL changed gets its context rewritten by the next update', async () => {
    const a = api();
    const m = await create(a, 'c4', 'tcp://127.0.0.1:2');
    const { syncMachineContext } = await import('./docker-context.js');
    const { openContext } = await import('./context.js');
    const ctx = openContext({ storePath: join(dir, 'store'), env: { DOCKER_CONFIG: dockerConfig } });
    await syncMachineContext(ctx, m, 'tcp://127.0.0.1:3');
    assert.equal(meta('c4').Endpoints.docker.Host, 'tcp://127.0.0.1:3');
    await a.remove('c4');
  });
});
