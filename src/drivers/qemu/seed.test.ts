import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MachineError } from '../../errors.js';
import { findTool } from './host-tool.js';
import { PRIMARY_MAC, type SeedOptions, seedFiles, writeSeed } from './seed.js';

const KEY = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7+/= docker-machine';
const base: SeedOptions = { hostname: 'm1', user: 'docker', publicKey: KEY, instanceId: 'abc-123' };

/** The value of a "key: value" line, its double quotes read as JSON (which YAML's are). */
function yamlValue(text: string, key: string): unknown {
  const line = text.split('\n').find((l) => l.trimStart().startsWith(`${key}:`));
  assert.ok(line, `no ${key} in:\n${text}`);
  const v = line.slice(line.indexOf(':') + 1).trim();
  return v.startsWith('"') ? JSON.parse(v) : v;
}

test('user-data: #cloud-config with the hostname and one user with sudo, bash and the key', () => {
  const ud = seedFiles(base)['user-data'];
  assert.equal(ud.split('\n')[0], '#cloud-config');
  assert.equal(yamlValue(ud, 'hostname'), 'm1');
  assert.equal(yamlValue(ud, '- name'), 'docker');
  assert.equal(yamlValue(ud, 'sudo'), 'ALL=(ALL) NOPASSWD:ALL');
  assert.equal(yamlValue(ud, 'shell'), '/bin/bash');
  const keys = ud.split('\n').slice(ud.split('\n').findIndex((l) => l.includes('ssh_authorized_keys:')) + 1);
  assert.equal(JSON.parse(keys[0].trim().replace(/^- /, '')), KEY);
  // Nothing after the key list but the final newline.
  assert.deepEqual(keys.slice(1), ['']);
});

test('meta-data: instance id and hostname; the segment keys and network-config only with a segment', () => {
  const plain = seedFiles(base);
  assert.equal(yamlValue(plain['meta-data'], 'instance-id'), 'abc-123');
  assert.equal(yamlValue(plain['meta-data'], 'local-hostname'), 'm1');
  assert.doesNotMatch(plain['meta-data'], /docker-machine-segment/);
  assert.equal(plain['network-config'], undefined);
  assert.equal(yamlValue(seedFiles({ ...base, instanceId: '' })['meta-data'], 'instance-id'), 'iid-m1');

  const seg = seedFiles({ ...base, segment: { address: '10.123.4.5/24', mac: '52:54:00:AB:CD:01' } });
  assert.equal(yamlValue(seg['meta-data'], 'docker-machine-segment-address'), '10.123.4.5/24');
  assert.equal(yamlValue(seg['meta-data'], 'docker-machine-segment-mac'), '52:54:00:ab:cd:01');
  const nc = seg['network-config'] ?? '';
  assert.equal(nc.split('\n')[0], 'version: 2');
  // NIC 1 keeps DHCP (matched by QEMU's default MAC); the segment NIC gets the static address.
  const primary = nc.slice(nc.indexOf('primary:'), nc.indexOf('segment:'));
  const segment = nc.slice(nc.indexOf('segment:'));
  assert.equal(yamlValue(primary, 'macaddress'), PRIMARY_MAC);
  assert.equal(yamlValue(primary, 'dhcp4'), 'true');
  assert.equal(yamlValue(segment, 'macaddress'), '52:54:00:ab:cd:01');
  assert.equal(yamlValue(segment, 'dhcp4'), 'false');
  assert.match(segment, /addresses:\n {6}- "10\.123\.4\.5\/24"\n/);
  const own = seedFiles({
    ...base,
    primaryMac: '52:54:00:00:00:09',
    segment: { address: '10.0.0.2/16', mac: '52:54:00:00:00:0a' },
  });
  assert.match(own['network-config'] ?? '', /macaddress: "52:54:00:00:00:09"/);
});

test('values the seed readers could not take are refused with a MachineError', () => {
  for (const bad of [
    { hostname: 'has space' },
    { hostname: 'a"b' },
    { user: 'Root' },
    { user: 'a b' },
    { publicKey: 'ssh-rsa AAAA "quoted"' },
    { publicKey: 'ssh-rsa AAAA\nssh-rsa BBBB' },
    { instanceId: 'x y' },
    { segment: { address: '10.0.0.1', mac: '52:54:00:00:00:01' } },
    { segment: { address: '10.0.0.1/24', mac: '52:54:00:00:01' } },
  ] as Partial<SeedOptions>[]) {
    assert.throws(
      () => seedFiles({ ...base, ...bad }),
      (e: unknown) =>
        e instanceof MachineError && /^cannot seed the machine: .* is not valid$/.test(e.message),
      JSON.stringify(bad),
    );
  }
});

const isoTools =
  findTool('isoinfo') && (findTool('genisoimage') || findTool('xorriso') || findTool('mkisofs'));

describe('the seed ISO', { skip: isoTools ? false : 'needs genisoimage (with isoinfo)' }, () => {
  const isoinfo = (...args: string[]) => execFileSync('isoinfo', args).toString();

  test('is an ISO9660 volume labelled cidata holding the files under their Rock Ridge and Joliet names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dm-seed-'));
    try {
      const opts = { ...base, segment: { address: '10.9.8.7/24', mac: '52:54:00:12:00:02' } };
      const iso = await writeSeed(dir, opts);
      assert.equal(iso, join(dir, 'seed.iso'));
      assert.match(isoinfo('-d', '-i', iso), /^Volume id: cidata$/m);
      const files = seedFiles(opts);
      const rock = isoinfo('-R', '-f', '-i', iso).split('\n').filter(Boolean).sort();
      assert.deepEqual(rock, ['/meta-data', '/network-config', '/user-data']);
      const joliet = isoinfo('-J', '-f', '-i', iso).split('\n').filter(Boolean).sort();
      assert.deepEqual(joliet, ['/meta-data', '/network-config', '/user-data']);
      for (const name of ['user-data', 'meta-data', 'network-config'] as const) {
        assert.equal(isoinfo('-R', '-x', `/${name}`, '-i', iso), files[name]);
      }
      // Only the ISO stays: the files it was made from are gone.
      assert.deepEqual(await readdir(dir), ['seed.iso']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a second seed replaces the first whole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dm-seed-'));
    try {
      await writeFile(join(dir, 'seed.iso'), 'old');
      const iso = await writeSeed(dir, { ...base, hostname: 'renamed' });
      assert.equal(
        JSON.parse(isoinfo('-R', '-x', '/meta-data', '-i', iso).split('\n')[1].split(': ')[1]),
        'renamed',
      );
      assert.deepEqual(isoinfo('-R', '-f', '-i', iso).split('\n').filter(Boolean).sort(), [
        '/meta-data',
        '/user-data',
      ]);
      assert.deepEqual(await readdir(dir), ['seed.iso']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('engine files travel as engine-N with an engine-files list for the initrd; the ISO is private', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dm-seed-'));
    try {
      const engine = {
        files: [
          { path: '/etc/docker/server-key.pem', mode: '600', content: 'KEY\n' },
          {
            path: '/etc/systemd/system/docker.service.d/10-machine.conf',
            mode: '644',
            content: '[Service]\n',
          },
        ],
      };
      const iso = await writeSeed(dir, { ...base, engine });
      assert.equal((await stat(iso)).mode & 0o777, 0o600, 'it holds the engine key');
      assert.equal(
        isoinfo('-R', '-x', '/engine-files', '-i', iso),
        'engine-1 600 /etc/docker/server-key.pem\nengine-2 644 /etc/systemd/system/docker.service.d/10-machine.conf\n',
      );
      assert.equal(isoinfo('-R', '-x', '/engine-1', '-i', iso), 'KEY\n');
      assert.equal(isoinfo('-R', '-x', '/engine-2', '-i', iso), '[Service]\n');
      for (const bad of [
        { path: 'etc/relative', mode: '644', content: '' },
        { path: '/usr/bin/dockerd', mode: '755', content: '' },
        { path: '/etc/a b', mode: '644', content: '' },
        { path: '/etc/../usr/bin/dockerd', mode: '755', content: '' },
        { path: '/etc/docker/x', mode: 'rw', content: '' },
      ]) {
        await assert.rejects(
          writeSeed(dir, { ...base, engine: { files: [bad] } }),
          /cannot seed the engine file/,
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test('packages: listed for cloud-init, names checked', () => {
  const o: SeedOptions = { hostname: 'm1', user: 'docker', publicKey: 'ssh-ed25519 AAAA', instanceId: 'i1' };
  assert.doesNotMatch(seedFiles(o)['user-data'], /packages:/);
  assert.match(
    seedFiles({ ...o, packages: ['hyperv-daemons'] })['user-data'],
    /\npackages:\n {2}- "hyperv-daemons"\n$/,
  );
  assert.throws(() => seedFiles({ ...o, packages: ['a b'] }), /package "a b" is not valid/);
});
