import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hostFor } from '../../test/helpers/hosts.js';
import { lockFileName, NotExistError, Store, validateMachineName } from './store.js';

const worker = join(import.meta.dirname, '..', '..', 'test', 'helpers', 'store-worker.ts');

function runWorker(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--import', 'tsx', worker, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

describe('Store', () => {
  let root: string;
  let store: Store;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dm-store-test-'));
    store = new Store(root);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a config.json written by the original loads and saves back byte for byte', async () => {
    const fixture = (
      await readFile(join(import.meta.dirname, '../../test/fixtures/store/generic-v3.json'), 'utf8')
    ).replaceAll('$STORE', root);
    await mkdir(join(root, 'machines', 'gen'), { recursive: true });
    await writeFile(join(root, 'machines', 'gen', 'config.json'), fixture);
    const h = await store.load('gen');
    assert.equal(h.DriverName, 'generic');
    assert.deepEqual(h.HostOptions.EngineOptions.Env, ['TEST=VALUE', 'B=has space']);
    assert.equal(h.HostOptions.EngineOptions.Dns, null);
    await store.save(h);
    assert.equal(await readFile(join(root, 'machines', 'gen', 'config.json'), 'utf8'), fixture);
    const st = await stat(join(root, 'machines', 'gen', 'config.json'));
    assert.equal(st.mode & 0o777, 0o600);
  });

  test('driver fields this version does not know survive a save, in order', async () => {
    const h = hostFor(root, 'vbox');
    h.Driver = {
      IPAddress: '',
      MachineName: 'vbox',
      VBoxManager: {},
      CPU: 1,
      Memory: 1024,
      DiskSize: 20000,
      UIType: 'headless',
    };
    await store.save(h);
    const back = await store.load('vbox');
    assert.deepEqual(Object.keys(back.Driver), [
      'IPAddress',
      'MachineName',
      'VBoxManager',
      'CPU',
      'Memory',
      'DiskSize',
      'UIType',
    ]);
    assert.equal((await stat(join(root, 'machines', 'vbox'))).mode & 0o777, 0o700);
  });

  test('EngineVersion (ours) round-trips after the original fields; absent stays absent', async () => {
    const fixture = (
      await readFile(join(import.meta.dirname, '../../test/fixtures/store/generic-v3.json'), 'utf8')
    ).replaceAll('$STORE', root);
    const pinned = fixture.replace(
      '"InstallURL": "https://get.docker.com"\n',
      '"InstallURL": "https://get.docker.com",\n            "EngineVersion": "24.0.7",\n            "FromAFutureVersion": 1\n',
    );
    assert.notEqual(pinned, fixture);
    await mkdir(join(root, 'machines', 'pin'), { recursive: true });
    await writeFile(
      join(root, 'machines', 'pin', 'config.json'),
      pinned.replace('"Name": "gen"', '"Name": "pin"'),
    );
    const h = await store.load('pin');
    assert.equal(h.HostOptions.EngineOptions.EngineVersion, '24.0.7');
    await store.save(h);
    assert.equal(
      await readFile(join(root, 'machines', 'pin', 'config.json'), 'utf8'),
      pinned.replace('"Name": "gen"', '"Name": "pin"'),
    );
    const plain = await store.load('gen').catch(() => null);
    if (plain) assert.ok(!('EngineVersion' in plain.HostOptions.EngineOptions));
    await writeFile(
      join(root, 'machines', 'pin', 'config.json'),
      pinned.replace('"EngineVersion": "24.0.7"', '"EngineVersion": 24'),
    );
    await assert.rejects(store.load('pin'), {
      message:
        'Error getting migrated host: HostOptions.EngineOptions.EngineVersion: expected string, got number',
    });
  });

  test('HTML characters are escaped as Go escapes them', async () => {
    const h = hostFor(root, 'esc', ['a=<b>&c']);
    await store.save(h);
    const raw = await readFile(join(root, 'machines', 'esc', 'config.json'), 'utf8');
    assert.match(raw, /"a=\\u003cb\\u003e\\u0026c"/);
    assert.ok(!raw.endsWith('\n'));
    assert.deepEqual((await store.load('esc')).HostOptions.EngineOptions.Labels, ['a=<b>&c']);
  });

  test('versions 0, 1 and 2 migrate to 3 and keep the original bytes in config.json.bak', async () => {
    for (const v of [0, 1, 2]) {
      const name = `old${v}`;
      const dir = join(root, 'machines', name);
      await mkdir(dir, { recursive: true });
      const raw = (await readFile(join(import.meta.dirname, `../../test/fixtures/store/v${v}.json`), 'utf8'))
        .replaceAll('$STORE', root)
        .replaceAll('$NAME', name);
      await writeFile(join(dir, 'config.json'), raw);
      const h = await store.load(name);
      assert.equal(h.ConfigVersion, 3, `v${v}`);
      assert.equal(h.Name, name);
      assert.equal(h.Driver.StorePath, root, `v${v}: the driver learns the store path`);
      assert.equal(h.HostOptions.AuthOptions.CaPrivateKeyPath, join(root, 'certs', 'ca-key.pem'), `v${v}`);
      assert.equal(h.HostOptions.AuthOptions.CertDir, join(root, 'certs'), `v${v}`);
      assert.equal(h.HostOptions.EngineOptions.TlsVerify, true);
      // Loading writes nothing: read-only commands never change a machine's files.
      assert.equal(await readFile(join(dir, 'config.json'), 'utf8'), raw);
      assert.ok(!existsSync(join(dir, 'config.json.bak')), `v${v}: no .bak from a load`);
      // The first save, by a command that changes the machine, keeps the original bytes.
      await store.save(h);
      assert.equal(await readFile(join(dir, 'config.json.bak'), 'utf8'), raw);
      const saved = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
      assert.equal(saved.ConfigVersion, 3);
      // Loading again needs no migration and gives the same host; saving it keeps that .bak.
      const again = await store.load(name);
      assert.deepEqual(again, h);
      await writeFile(join(dir, 'config.json.bak'), 'kept');
      await store.save(again);
      assert.equal(await readFile(join(dir, 'config.json.bak'), 'utf8'), 'kept');
    }
  });

  test('broken machines: each a clear error, and listing still sees all', async () => {
    const cases: [string, string | null, RegExp][] = [
      ['corrupt', '{"ConfigVersion": 3, nope', /^Error getting migrated host: .* at line 1 column \d+$/],
      ['empty', '', /^Error getting migrated host: /],
      ['noconfig', null, /^open .*noconfig\/config\.json: no such file or directory$/],
      [
        'future',
        '{"ConfigVersion": 4}',
        /config version is from the future -- you should upgrade your Docker Machine client$/,
      ],
      [
        'wrongtype',
        '{"ConfigVersion": 3, "HostOptions": {"EngineOptions": {"Labels": "x"}}}',
        /HostOptions\.EngineOptions\.Labels: expected array, got string$/,
      ],
    ];
    for (const [name, content] of cases) {
      await mkdir(join(root, 'machines', name), { recursive: true });
      if (content !== null) await writeFile(join(root, 'machines', name, 'config.json'), content);
    }
    for (const [name, , re] of cases) {
      await assert.rejects(store.load(name), (e: Error) => re.test(e.message), name);
    }
    const names = await store.listNames();
    for (const [name] of cases) assert.ok(names.includes(name), name);
    await assert.rejects(store.load('absent'), (e: unknown) => e instanceof NotExistError);
  });

  test('names: the original rule, and nothing that escapes the store', () => {
    for (const ok of ['a', '0', 'a-b.c', 'M1']) assert.doesNotThrow(() => validateMachineName(ok));
    for (const bad of ['-', '.', '..', 'bad_name', 'a/b', '../x', 'a..b', '∞', '']) {
      assert.throws(() => validateMachineName(bad), /Invalid hostname specified/, bad);
    }
  });

  test('names: at most 63 characters between dots and 250 in all (the lock file NAME.lock fits 255)', () => {
    const label = 'x'.repeat(63);
    const longest = [label, label, label, 'y'.repeat(58)].join('.');
    assert.equal(longest.length, 250);
    assert.doesNotThrow(() => validateMachineName(longest));
    assert.throws(() => validateMachineName(`${longest}z`), /the name has 251 characters; use at most 250/);
    assert.throws(
      () => validateMachineName(`a.${label}z`),
      /"x{63}z" has 64 characters; a hostname has at most 63/,
    );
  });

  test('a machine with a name too long for its lock file (an older version made it) is locked and removed', async () => {
    for (const name of ['n'.repeat(251), 'n'.repeat(255), `${'n'.repeat(254)}m`]) {
      await store.save(hostFor(root, name));
      assert.ok(await store.exists(name));
      assert.equal(await store.withLock(name, async () => 'locked'), 'locked');
      await store.remove(name);
      assert.ok(!(await store.exists(name)));
    }
    assert.notEqual(lockFileName('n'.repeat(255)), lockFileName(`${'n'.repeat(254)}m`));
    assert.ok(lockFileName('n'.repeat(255)).length <= 255);
    assert.equal(lockFileName('n'.repeat(250)), `${'n'.repeat(250)}.lock`);
    // A name no file system holds names no machine.
    assert.equal(await store.exists('n'.repeat(300)), false);
  });

  test('claim: of two claims of one name, one wins', async () => {
    const results = await Promise.allSettled([store.claim('race'), store.claim('race')]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.match(lost.reason.message, /Docker machine "race" already exists/);
  });

  test('FAULT: a writer killed at any moment leaves a complete config.json', async () => {
    const name = 'fault';
    await store.save(hostFor(root, name, ['version=0']));
    for (let kill = 0; kill < 25; kill++) {
      const child = spawn(process.execPath, ['--import', 'tsx', worker, root, 'write-loop', name], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      // Wait until it has written at least once, then kill it at a varying moment.
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, (kill * 7) % 40));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
      const h = await store.load(name);
      const labels = h.HostOptions.EngineOptions.Labels;
      const version = labels[0].split('=')[1].split('-')[0];
      assert.ok(
        labels.length === 1 || labels.length === 2000,
        `a whole version, not a torn one (${labels.length})`,
      );
      if (labels.length === 2000) assert.ok(labels.every((l) => l.startsWith(`version=${version}-`)));
    }
    // Temp files of killed writers are not machines and do not disturb loading.
    assert.deepEqual(
      (await store.listNames()).filter((n) => n === name),
      [name],
    );
  });

  test('CONCURRENCY: 20 creates and 20 removes at once lose nothing', async () => {
    const croot = await mkdtemp(join(tmpdir(), 'dm-conc-'));
    const cs = new Store(croot);
    try {
      for (let i = 0; i < 20; i++) await cs.save(hostFor(croot, `old${i}`));
      const jobs: Promise<{ code: number; stderr: string }>[] = [];
      for (let i = 0; i < 20; i++) jobs.push(runWorker([croot, 'create', `new${i}`]));
      for (let i = 0; i < 20; i++) jobs.push(runWorker([croot, 'rm', `old${i}`]));
      // Four processes race for one name: exactly one may win.
      const racers = Array.from({ length: 4 }, () => runWorker([croot, 'create', 'contested']));
      const results = await Promise.all(jobs);
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const raced = await Promise.all(racers);
      assert.equal(raced.filter((r) => r.code === 0).length, 1);
      for (const r of raced.filter((x) => x.code !== 0)) assert.match(r.stderr, /already exists/);
      const names = await cs.listNames();
      const expected = [...Array.from({ length: 20 }, (_, i) => `new${i}`), 'contested'].sort((a, b) =>
        Buffer.compare(Buffer.from(a), Buffer.from(b)),
      );
      assert.deepEqual(names, expected);
      for (const n of names) assert.equal((await cs.load(n)).Name, n);
    } finally {
      await rm(croot, { recursive: true, force: true });
    }
  });

  test('CONCURRENCY: the machine lock serialises read-modify-write across processes', async () => {
    await store.save(hostFor(root, 'counter', ['count=0']));
    const results = await Promise.all(
      Array.from({ length: 8 }, () => runWorker([root, 'increment', 'counter', '10'])),
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await store.load('counter')).HostOptions.EngineOptions.Labels, ['count=80']);
    const locks = await readdir(join(root, 'machines', '.locks'));
    assert.deepEqual(locks, [], 'every lock is released');
  });

  test('a lock left by a killed process is taken over', async () => {
    await mkdir(join(root, 'machines', '.locks'), { recursive: true });
    // A pid that cannot be running: above the kernel's limit.
    await writeFile(join(root, 'machines', '.locks', 'stale.lock'), '99999999\ncreate stale\n');
    const got = await store.withLock('stale', async () => 'taken');
    assert.equal(got, 'taken');
  });
});
