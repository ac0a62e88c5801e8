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
/** The cache file's two lines: the index, then the configs by name. */
const readCache = async () => {
  const [index, configs] = (await readFile(cacheFile(), 'utf8')).split('\n');
  return { index: JSON.parse(index), configs: JSON.parse(configs) };
};
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
  const cached = await readCache();
  assert.deepEqual(Object.keys(cached.index.entries).sort(), ['a', 'b', 'c']);
  assert.deepEqual(Object.keys(cached.configs).sort(), ['a', 'b', 'c']);
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
  const cached = await readCache();
  assert.equal(cached.index.entries.b, undefined);
  assert.equal(cached.configs.b, undefined);
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
  const cached = await readCache();
  assert.deepEqual(Object.keys(cached.index.entries), ['a']);
  assert.deepEqual(Object.keys(cached.configs), ['a']);
});

test('a corrupt or foreign cache file is ignored and replaced', async () => {
  await writeFile(cacheFile(), 'not json at all');
  const [a] = await store.loadMany(['a']);
  assert.equal((a as { Name: string }).Name, 'a');
  const cached = await readCache();
  assert.ok(cached.index.entries.a, 'rewritten with the good entry');
  // A cache made by a checker with other fields is not trusted.
  cached.index.schema = 'something else';
  cached.configs.a.DriverName = 'forged';
  cached.index.entries.a.driver = 'forged';
  await writeFile(cacheFile(), `${JSON.stringify(cached.index)}\n${JSON.stringify(cached.configs)}\n`);
  const [again] = await store.loadMany(['a']);
  assert.equal((again as { DriverName: string }).DriverName, 'none');
  assert.deepEqual(await store.driverNames(['a']), ['none']);
  // An index whose configs line is lost vouches for nothing.
  await store.loadMany(['a']);
  const { index } = await readCache();
  await writeFile(cacheFile(), `${JSON.stringify(index)}\n{"a": `);
  const [whole] = await store.loadMany(['a']);
  assert.equal((whole as { Name: string }).Name, 'a');
});

test('configs handed out are copies: changing one does not change the next load', async () => {
  await store.loadMany(['a']);
  // The same name twice in one load: two separate objects.
  const [p, q] = (await store.loadMany(['a', 'a'])) as { DriverName: string }[];
  p.DriverName = 'mutated';
  assert.equal(q.DriverName, 'none');
  const [x] = (await store.loadMany(['a'])) as { Name: string; DriverName: string }[];
  x.DriverName = 'mutated';
  const [y] = (await store.loadMany(['a'])) as { DriverName: string }[];
  assert.equal(y.DriverName, 'none');
});
