import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { HostConfig } from '../store/host.js';
import {
  collectFiles,
  decodePayload,
  encodePayload,
  type Payload,
  PayloadError,
  rewritePaths,
} from './bundle.js';

function hostConfig(store: string, name: string): HostConfig {
  const dir = `${store}/machines/${name}`;
  return {
    ConfigVersion: 3,
    Driver: {
      MachineName: name,
      SSHKeyPath: `${dir}/id_rsa`,
      StorePath: store,
      SSHKey: '/home/me/.ssh/id_ed25519',
      Boot: { disk: `${dir}/disk.qcow2`, base: `${store}/cache/qemu/base.qcow2` },
      URL: 'tcp://10.0.0.5:2376',
      Neighbour: `${store}2/machines/${name}/x`,
    },
    DriverName: 'generic',
    HostOptions: {
      AuthOptions: {
        CertDir: `${store}/certs`,
        CaCertPath: `${store}/certs/ca.pem`,
        CaPrivateKeyPath: `${store}/certs/ca-key.pem`,
        ClientCertPath: '/etc/tls/cert.pem',
        StorePath: dir,
        ServerCertSANs: [],
      },
    },
    Name: name,
  } as unknown as HostConfig;
}

describe('paths in an imported config.json', () => {
  test('the machine folder and the rest of the store move; other paths stay; the name follows', () => {
    const c = rewritePaths(
      hostConfig('/a/store', 'm1'),
      { store: '/a/store', name: 'm1' },
      { store: '/b/s', name: 'm2' },
    );
    assert.equal(c.Name, 'm2');
    assert.deepEqual(c.Driver, {
      MachineName: 'm2',
      SSHKeyPath: '/b/s/machines/m2/id_rsa',
      StorePath: '/b/s',
      SSHKey: '/home/me/.ssh/id_ed25519',
      Boot: { disk: '/b/s/machines/m2/disk.qcow2', base: '/b/s/cache/qemu/base.qcow2' },
      URL: 'tcp://10.0.0.5:2376',
      // A sibling folder whose name starts like the store's is not in the store.
      Neighbour: '/a/store2/machines/m1/x',
    });
    const a = c.HostOptions.AuthOptions;
    assert.equal(a.CertDir, '/b/s/certs');
    assert.equal(a.CaCertPath, '/b/s/certs/ca.pem');
    assert.equal(a.CaPrivateKeyPath, '/b/s/certs/ca-key.pem');
    assert.equal(a.ClientCertPath, '/etc/tls/cert.pem');
    assert.equal(a.StorePath, '/b/s/machines/m2');
  });

  test('the folder and store paths drivers derive from are the new ones even when they were elsewhere', () => {
    const old = hostConfig('/a/store', 'm1');
    old.Driver.StorePath = '/somewhere/else';
    old.HostOptions.AuthOptions.StorePath = '/somewhere/else/m1';
    const c = rewritePaths(old, { store: '/a/store', name: 'm1' }, { store: '/b/s', name: 'm1' });
    assert.equal(c.Driver.StorePath, '/b/s');
    assert.equal(c.HostOptions.AuthOptions.StorePath, '/b/s/machines/m1');
  });

  test('a key named __proto__ stays a field', () => {
    const old = hostConfig('/a/store', 'm1');
    old.Driver = JSON.parse('{"__proto__": {"x": "/a/store/y"}, "MachineName": "m1"}');
    const c = rewritePaths(old, { store: '/a/store', name: 'm1' }, { store: '/b/s', name: 'm1' });
    assert.ok(Object.hasOwn(c.Driver, '__proto__'));
    assert.equal(JSON.stringify(c.Driver).includes('"__proto__":{"x":"/b/s/y"}'), true);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});

describe('files of a machine folder', () => {
  let dir: string;
  // A listening socket, as qemu's QMP socket in its folder (closing it removes the file).
  const srv = createServer();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-bundle-'));
    await writeFile(join(dir, 'config.json'), '{}');
    await writeFile(join(dir, 'config.json.bak'), '{}');
    await writeFile(join(dir, 'id_rsa'), 'KEY', { mode: 0o600 });
    await writeFile(join(dir, 'server.pem'), 'CERT', { mode: 0o644 });
    await writeFile(join(dir, 'known_hosts'), 'host ssh-ed25519 AAAA');
    await writeFile(join(dir, 'disk.qcow2'), 'x');
    await writeFile(join(dir, 'qemu.pid'), '123');
    await writeFile(join(dir, 'config.json.tmp123-1-abc'), '{');
    await writeFile(join(dir, 'blob'), '');
    await truncate(join(dir, 'blob'), 9 * 1024 * 1024);
    await mkdir(join(dir, 'vm', 'Logs'), { recursive: true });
    await writeFile(join(dir, 'vm', 'vm.vbox'), '<xml/>');
    await writeFile(join(dir, 'vm', 'Logs', 'VBox.log'), 'log');
    await new Promise<void>((r) => srv.listen(join(dir, 'qmp'), r));
  });
  after(async () => {
    srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('keys, certificates and small driver files travel; disks, runtime state and bulk are named with why', async () => {
    const { files, skipped } = await collectFiles(dir);
    assert.deepEqual(
      files.map((f) => [f.path, f.mode, f.data.toString()]),
      [
        ['id_rsa', 0o600, 'KEY'],
        ['known_hosts', 0o644, 'host ssh-ed25519 AAAA'],
        ['server.pem', 0o644, 'CERT'],
        ['vm/vm.vbox', 0o644, '<xml/>'],
      ],
    );
    assert.deepEqual(
      skipped.map((s) => [s.path, s.reason]),
      [
        ['blob', 'larger than 8 MiB'],
        ['config.json.tmp123-1-abc', 'a temporary file of a write in progress'],
        ['disk.qcow2', 'a disk image'],
        ['qemu.pid', "a running VM's state on this computer"],
        ['qmp', 'not a regular file'],
        ['vm/Logs/VBox.log', "a running VM's state on this computer"],
      ],
    );
  });
});

describe('a decrypted payload is checked as input', () => {
  const config = hostConfig('/a/store', 'm1');
  const payload: Payload = {
    machine: 'm1',
    driver: 'generic',
    store: '/a/store',
    exported: '2026-12-06T00:00:00.000Z',
    tool: 'test',
    config,
    files: [{ path: 'id_rsa', mode: 0o600, data: Buffer.from('KEY') }],
    auth: { ca: Buffer.from('CA'), cert: Buffer.from('C'), key: Buffer.from('K') },
    skipped: [{ path: 'disk.qcow2', size: 5, reason: 'a disk image' }],
  };
  const parse = (t: string) => JSON.parse(t) as HostConfig;
  const raw = () => JSON.parse(encodePayload(payload, JSON.stringify(config)).toString());
  const decode = (v: unknown) => decodePayload(Buffer.from(JSON.stringify(v)), parse);

  test('round trip, without a CA key', () => {
    const p = decode(raw());
    assert.deepEqual(p.files, payload.files);
    assert.deepEqual(p.auth, payload.auth);
    assert.equal('caKey' in p.auth, false);
    assert.deepEqual(p.skipped, payload.skipped);
    assert.equal(p.store, '/a/store');
  });

  test('a file path that leaves the machine folder, or names config.json, is refused', () => {
    for (const path of [
      '../x',
      '/etc/passwd',
      'a/../../x',
      'a//b',
      '.',
      'config.json',
      '',
      'a/./b',
      'a/..',
      'x\0y',
    ]) {
      const v = raw();
      v.files[0].path = path;
      assert.throws(() => decode(v), PayloadError, path);
    }
    // Hidden names and spaces are file names like any other.
    const v = raw();
    v.files[0].path = '.vm state/disk map';
    assert.equal(decode(v).files[0].path, '.vm state/disk map');
  });

  test('bad modes, contents and formats are refused in one line', () => {
    const v = raw();
    v.files[0].mode = 0o4755;
    assert.throws(() => decode(v), /mode of id_rsa/);
    const w = raw();
    w.format = 2;
    assert.throws(() => decode(w), /format 2, which this version does not read/);
    const x = raw();
    delete x.auth.key;
    assert.throws(() => decode(x), /client key is missing/);
    assert.throws(() => decodePayload(Buffer.from('not json'), parse), /not JSON/);
  });
});
