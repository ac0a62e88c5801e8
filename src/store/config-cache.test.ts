import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hostFor } from '../../test/helpers/hosts.js';
import { Store } from './store.js';

// The cache of checked configs must never return what config.json no longer says.
let root: string;
let store: Store;
const cacheFile = () => join(root, 'cache', 'configs.json');
const configOf = (n: string) => join(root, 'machines', n, 'config.json');
/** Back-date a file so that the cache takes it (fresh files are not cached: see SETTLE_MS). */
const settle = (p: string) => utimes(p, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000));

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dm-config-cache-'));
  store = new Store(root);
  for (const n of ['a', 'b', 'c']) {
    await store.claim(n);
    await store.save(hostFor(root, n));
    await settle(configOf(n));
  }
});
after(() => rm(root, { recursive: true, force: true }));

test('settled configs are cached; a cached load equals a direct one', async () => {
  const first = await store.loadMany(['a', 'b', 'c']);
  const cached = JSON.parse(await readFile(cacheFile(), 'utf8'));
  assert.deepEqual(Object.keys(cached.entries).sort(), ['a', 'b', 'c']);
  const second = await store.loadMany(['a', 'b', 'c']);
  assert.deepEqual(second, first);
  assert.deepEqual(second[1], await store.load('b'));
  assert.deepEqual(await store.driverNames(['a', 'b']), ['none', 'none']);
});

test('a changed config.json is read again, not taken from the cache', async () => {
  await store.loadMany(['a', 'b', 'c']);
  const h = hostFor(root, 'b');
  h.HostOptions.EngineOptions.Labels = ['changed=yes'];
  await store.save(h);
  const [, b] = await store.loadMany(['a', 'b', 'c']);
  assert.deepEqual((b as typeof h).HostOptions.EngineOptions.Labels, ['changed=yes']);
  // Just written: not cached until it has settled, so a same-tick rewrite cannot be missed.
  const cached = JSON.parse(await readFile(cacheFile(), 'utf8'));
  assert.equal(cached.entries.b, undefined);
});

test('a config broken after it was cached shows its error; gone machines leave the cache', async () => {
  await settle(configOf('b'));
  await store.loadMany(['a', 'b', 'c']);
  await writeFile(configOf('c'), '{"ConfigVersion": 3, "Name": ');
  await settle(configOf('c'));
  const r = await store.loadMany(['a', 'b', 'c']);
  assert.ok(r[2] instanceof Error, 'the broken config is an error');
  assert.match((r[2] as Error).message, /Error getting migrated host/);
  const names = await store.driverNames(['a', 'b', 'c']);
  assert.ok(names[2] instanceof Error);
  await store.loadMany(['a']);
  const cached = JSON.parse(await readFile(cacheFile(), 'utf8'));
  assert.deepEqual(Object.keys(cached.entries), ['a']);
});

test('a corrupt or foreign cache file is ignored and replaced', async () => {
  await writeFile(cacheFile(), 'not json at all');
  const [a] = await store.loadMany(['a']);
  assert.equal((a as { Name: string }).Name, 'a');
  const cached = JSON.parse(await readFile(cacheFile(), 'utf8'));
  assert.ok(cached.entries.a, 'rewritten with the good entry');
  // A cache made by a checker with other fields is not trusted.
  cached.schema = 'something else';
  cached.entries.a.json = JSON.stringify({ Name: 'a', DriverName: 'forged' });
  await writeFile(cacheFile(), JSON.stringify(cached));
  const [again] = await store.loadMany(['a']);
  assert.equal((again as { DriverName: string }).DriverName, 'none');
});

test('configs handed out are copies: changing one does not change the next load', async () => {
  await store.loadMany(['a']);
  const [x] = (await store.loadMany(['a'])) as { Name: string; DriverName: string }[];
  x.DriverName = 'mutated';
  const [y] = (await store.loadMany(['a'])) as { DriverName: string }[];
  assert.equal(y.DriverName, 'none');
});
