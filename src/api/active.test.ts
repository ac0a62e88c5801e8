import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hostFor } from '../../test/helpers/hosts.js';
import type { HostConfig } from '../store/host.js';
import { Store } from '../store/store.js';
import type { ApiContext } from './context.js';
import { findActive } from './list.js';

// `active` decides `none` machines from the config cache's index and asks only the machines that
// could come before a match: the answer must stay the one the original's sorted list gives.
let root: string;
/** A generic machine is Running when its SSH port answers: these count how often each is asked. */
const sshds: { server: Server; port: number; dials: number }[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dm-active-'));
  for (let i = 0; i < 2; i++) {
    const d = { server: createServer((s) => s.destroy()), port: 0, dials: 0 };
    d.server.on('connection', () => d.dials++);
    await new Promise<void>((resolve) => d.server.listen(0, '127.0.0.1', resolve));
    d.port = (d.server.address() as { port: number }).port;
    sshds.push(d);
  }
});
after(async () => {
  for (const d of sshds) d.server.close();
  await rm(root, { recursive: true, force: true });
});

/** The server sees a dial a moment after the client has it: wait for the counts to reach `n`. */
async function dialsReach(n: number[]): Promise<void> {
  for (let i = 0; i < 200 && sshds.some((d, k) => d.dials < n[k]); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

let stores = 0;
async function storeWith(machines: Record<string, (c: HostConfig) => void>): Promise<ApiContext> {
  const store = new Store(join(root, `s${stores++}`));
  for (const [name, edit] of Object.entries(machines)) {
    const c = hostFor(store.root, name);
    edit(c);
    await store.claim(name);
    await store.save(c);
  }
  return { store, certs: {}, env: {}, events: () => {} };
}

/** Back-date every config so that the cache keeps them (fresh files are not cached). */
async function settle(ctx: ApiContext): Promise<void> {
  const old = new Date(Date.now() - 10_000);
  for (const n of await ctx.store.listNames()) {
    await utimes(join(ctx.store.machineDir(n), 'config.json'), old, old);
  }
}

const url = (u: string) => (c: HostConfig) => {
  c.Driver.URL = u;
};
const generic = (sshd: number, enginePort: number) => (c: HostConfig) => {
  c.DriverName = 'generic';
  c.Driver = { ...c.Driver, IPAddress: '127.0.0.1', SSHPort: sshds[sshd].port, EnginePort: enginePort };
};
const X = 'tcp://10.0.0.1:2376';
const active = (ctx: ApiContext, dockerHost: string) => findActive(ctx, { dockerHost, timeoutMs: 10_000 });

test('the first match in natural order, the same from config files and from the cache', async () => {
  const ctx = await storeWith({ a: url('tcp://10.0.0.2:2376'), m10: url(X), m2: url(X), m3: url('') });
  const fresh = await active(ctx, X);
  await settle(ctx);
  const building = await active(ctx, X);
  const index = JSON.parse((await readFile(join(ctx.store.cacheDir, 'configs.json'), 'utf8')).split('\n')[0]);
  assert.equal(index.entries.m2.url, X);
  const cached = await active(ctx, X);
  for (const r of [fresh, building, cached]) assert.deepEqual(r, { name: 'm2', timedOut: false });
  assert.deepEqual(await active(ctx, 'tcp://10.0.0.9:2376'), { name: undefined, timedOut: false });
  // A machine with no URL is never active, whatever DOCKER_HOST says.
  assert.deepEqual(await active(ctx, ''), { name: undefined, timedOut: false });
});

test("a standalone Swarm master is active at its swarm URL, a Swarm-mode member's is not", async () => {
  const master = (c: HostConfig) => {
    c.Driver.URL = 'tcp://10.0.0.3:2376';
    Object.assign(c.HostOptions.SwarmOptions, { IsSwarm: true, Master: true, Host: 'tcp://0.0.0.0:3376' });
  };
  const ctx = await storeWith({
    manager: (c) => {
      master(c);
      c.HostOptions.SwarmOptions.Role = 'manager';
    },
    master,
  });
  await settle(ctx);
  for (let run = 0; run < 2; run++) {
    assert.deepEqual(await active(ctx, 'tcp://10.0.0.3:3376'), { name: 'master', timedOut: false });
    assert.deepEqual(await active(ctx, 'tcp://10.0.0.3:2376'), { name: 'manager', timedOut: false });
  }
});

test('machines of other drivers are asked when they sort before the match, not after it', async () => {
  const engine = 'tcp://127.0.0.1:2376';
  const ctx = await storeWith({ a: generic(0, 2376), b: url(engine), c: generic(1, 2376) });
  await settle(ctx);
  // With no match from the index, every other machine is asked (and the cache is built).
  assert.deepEqual(await active(ctx, 'tcp://10.0.0.9:2376'), { name: undefined, timedOut: false });
  await dialsReach([1, 1]);
  assert.deepEqual(
    sshds.map((d) => d.dials),
    [1, 1],
  );
  assert.deepEqual(await active(ctx, engine), { name: 'a', timedOut: false });
  await dialsReach([2, 1]);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(
    sshds.map((d) => d.dials),
    [2, 1],
    'only a, which sorts before the match b, is asked',
  );
});

test('a config that does not load is never the active one', async () => {
  const ctx = await storeWith({ a: url(X), b: url(X) });
  await settle(ctx);
  await active(ctx, X);
  await writeFile(join(ctx.store.machineDir('a'), 'config.json'), '{not json');
  assert.deepEqual(await active(ctx, X), { name: 'b', timedOut: false });
});
