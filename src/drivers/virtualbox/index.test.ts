import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { test } from 'node:test';
import type { FlagValue } from '../../flags/def.js';
import { baseDriverFields } from '../base.js';
import { engineURL, stateOf, virtualboxDriver } from './index.js';

function driverJSON(given: Record<string, FlagValue> = {}) {
  const values = new Map<string, FlagValue>();
  for (const f of virtualboxDriver.flags)
    if (f.default !== undefined) values.set(f.name, f.default as FlagValue);
  for (const [k, v] of Object.entries(given)) values.set(k, v);
  return virtualboxDriver
    .fromFlags(baseDriverFields('vb', '/store'), { values, explicit: new Set(Object.keys(given)) })
    .toJSON();
}

test('VMState as the original read it', () => {
  assert.deepEqual(
    ['running', 'paused', 'saved', 'poweroff', 'aborted', 'starting', 'stopping', 'gurumeditation'].map(
      stateOf,
    ),
    ['Running', 'Paused', 'Saved', 'Stopped', 'Stopped', 'Starting', 'Stopping', ''],
  );
});

test("the driver JSON: the original's fields, in its order, with its defaults", () => {
  const j = driverJSON();
  const keys = Object.keys(j);
  const original = [
    'IPAddress',
    'MachineName',
    'SSHUser',
    'SSHPort',
    'SSHKeyPath',
    'StorePath',
    'SwarmMaster',
    'SwarmHost',
    'SwarmDiscovery',
    'VBoxManager',
    'HostInterfaces',
    'CPU',
    'Memory',
    'DiskSize',
    'NatNicType',
    'Boot2DockerURL',
    'Boot2DockerImportVM',
    'HostDNSResolver',
    'HostOnlyCIDR',
    'HostOnlyNicType',
    'HostOnlyPromiscMode',
    'UIType',
    'HostOnlyNoDHCP',
    'NoShare',
    'DNSProxy',
    'NoVTXCheck',
    'ShareFolder',
  ];
  assert.deepEqual(keys.slice(0, original.length), original);
  assert.equal(j.SSHUser, 'docker');
  assert.deepEqual(
    [j.CPU, j.Memory, j.DiskSize, j.NatNicType, j.UIType, j.HostOnlyPromiscMode, j.DNSProxy],
    [1, 1024, 20000, '82540EM', 'headless', 'deny', true],
  );
  assert.match(String(j.HostOnlyMAC), /^080027[0-9A-F]{6}$/);
  assert.notEqual(j.HostOnlyMAC, j.NatMAC);
});

test('cpu count: -1 and 0 mean all of the host, at most 32; --virtualbox-no-dns-proxy turns the proxy off', () => {
  assert.equal(driverJSON({ 'virtualbox-cpu-count': -1 }).CPU, Math.min(cpus().length, 32));
  assert.equal(driverJSON({ 'virtualbox-cpu-count': 64 }).CPU, 32);
  assert.equal(driverJSON({ 'virtualbox-no-dns-proxy': true }).DNSProxy, false);
});

test('share folder and host-only CIDR: bad forms are one line naming the flag', () => {
  assert.throws(
    () => driverJSON({ 'virtualbox-share-folder': '/home' }),
    /--virtualbox-share-folder \/home is not dir:name/,
  );
  assert.equal(
    driverJSON({ 'virtualbox-share-folder': 'C:\\Users:c/Users' }).ShareFolder,
    'C:\\Users:c/Users',
  );
  assert.equal(driverJSON({ 'virtualbox-share-folder': '/srv/data:data' }).ShareFolder, '/srv/data:data');
  assert.throws(
    () => driverJSON({ 'virtualbox-hostonly-cidr': '192.168.59.1' }),
    /--virtualbox-hostonly-cidr 192\.168\.59\.1 is not an IPv4 address with a prefix/,
  );
});

test("the engine's URL: our forward on 127.0.0.1; the original's machines keep tcp://<host-only IP>:2376", () => {
  assert.equal(engineURL({ ...driverJSON(), EnginePort: 40001 }), 'tcp://127.0.0.1:40001');
  // A driver section as the original saved it: no EnginePort.
  const original = {
    IPAddress: '192.168.99.100',
    MachineName: 'default',
    SSHUser: 'docker',
    SSHPort: 50522,
    HostOnlyCIDR: '192.168.99.1/24',
  };
  assert.equal(engineURL(original), 'tcp://192.168.99.100:2376');
  assert.equal(engineURL({ ...original, IPAddress: '' }), '');
  assert.equal(engineURL(virtualboxDriver.fromJSON(original).toJSON()), 'tcp://192.168.99.100:2376');
});
