import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MachineError } from '../errors.js';
import type { SSHTarget } from './client.js';
import { parseMountArgs, sshfsArgs, unmountCommand } from './mount.js';
import { configValue, optionArgs, sshOptions } from './options.js';
import { type CopyEndpoint, copyConfig, location, parseEndpoint, rsyncArgs, scpArgs } from './scp.js';

const targetA: SSHTarget = {
  host: '127.0.0.1',
  port: 2201,
  user: 'root',
  keyPath: '/store/machines/a/id_rsa',
  knownHostsPath: '/store/machines/a/known_hosts',
};
const targetB: SSHTarget = {
  host: '10.0.0.7',
  port: 22,
  user: 'docker',
  keyPath: '',
  knownHostsPath: '/my store/machines/b/known_hosts',
};
const onA = (path: string): CopyEndpoint => ({ kind: 'machine', machine: 'a', path, target: targetA });
const onB = (path: string): CopyEndpoint => ({ kind: 'machine', machine: 'b', path, target: targetB });
const local = (path: string): CopyEndpoint => ({ kind: 'local', path });

test('scp arguments: local paths, localhost:, machine: and user@machine:', () => {
  assert.deepEqual(parseEndpoint('/tmp/x'), { kind: 'local', path: '/tmp/x' });
  assert.deepEqual(parseEndpoint('rel/a:b'), { kind: 'local', path: 'rel/a:b' });
  assert.deepEqual(parseEndpoint('localhost:/tmp/x'), { kind: 'local', path: '/tmp/x' });
  assert.deepEqual(parseEndpoint('gen1:/tmp/x'), {
    kind: 'machine',
    machine: 'gen1',
    user: undefined,
    path: '/tmp/x',
  });
  assert.deepEqual(parseEndpoint('ubuntu@gen1:notes.txt'), {
    kind: 'machine',
    machine: 'gen1',
    user: 'ubuntu',
    path: 'notes.txt',
  });
  assert.deepEqual(parseEndpoint('gen1:'), { kind: 'machine', machine: 'gen1', user: undefined, path: '' });
  for (const bad of [':/tmp/x', '@gen1:/x', 'root@:/x', '-oProxyCommand=x@gen1:/x']) {
    assert.throws(
      () => parseEndpoint(bad),
      (e: unknown) =>
        e instanceof MachineError &&
        e.message ===
          `Invalid argument "${bad}": expected a local path or [user@]machine:path, e.g. default:/tmp/file`,
    );
  }
});

test('the shared ssh options: batch mode, pinned host keys, only the machine key', () => {
  assert.deepEqual(optionArgs(sshOptions(targetA)), [
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectionAttempts=1',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'PasswordAuthentication=no',
    '-o',
    'ServerAliveInterval=60',
    '-o',
    'StrictHostKeyChecking=accept-new',
    '-o',
    'UserKnownHostsFile=/store/machines/a/known_hosts',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityFile=/store/machines/a/id_rsa',
  ]);
  // Without a key the user's own keys and agent are used, as in the original.
  const noKey = optionArgs(sshOptions(targetB));
  assert.ok(!noKey.some((a) => a.startsWith('Identit')), noKey.join(' '));
  // ssh splits values at spaces and expands %-tokens in paths.
  assert.ok(noKey.includes('UserKnownHostsFile="/my store/machines/b/known_hosts"'));
  assert.equal(sshOptions({ ...targetA, keyPath: '/k%d/id' }).at(-1)?.[1], '/k%%d/id');
  assert.throws(() => configValue('a "b"'), MachineError);
});

test('scp to, from and between machines: one Host block per machine, -3 between two', () => {
  const cfg = '/tmp/dm-scp-x/ssh_config';
  assert.deepEqual(scpArgs(local('/tmp/f'), onA('/root/f'), { recursive: false, quiet: false }, cfg), [
    '-F',
    cfg,
    '--',
    '/tmp/f',
    'root@a:/root/f',
  ]);
  assert.deepEqual(scpArgs(onA('/d'), local('out'), { recursive: true, quiet: true }, cfg), [
    '-F',
    cfg,
    '-r',
    '-q',
    '--',
    'root@a:/d',
    'out',
  ]);
  assert.deepEqual(scpArgs(onA('/x'), onB('/y'), { recursive: false, quiet: false }, cfg), [
    '-F',
    cfg,
    '-3',
    '--',
    'root@a:/x',
    'docker@b:/y',
  ]);
  assert.equal(
    copyConfig([onA('/x'), onB('/y'), onA('/z')]),
    [
      'Host a',
      '  HostName 127.0.0.1',
      '  Port 2201',
      '  BatchMode yes',
      '  ConnectionAttempts 1',
      '  ConnectTimeout 10',
      '  LogLevel ERROR',
      '  PasswordAuthentication no',
      '  ServerAliveInterval 60',
      '  StrictHostKeyChecking accept-new',
      '  UserKnownHostsFile /store/machines/a/known_hosts',
      '  IdentitiesOnly yes',
      '  IdentityFile /store/machines/a/id_rsa',
      'Host b',
      '  HostName 10.0.0.7',
      '  Port 22',
      '  BatchMode yes',
      '  ConnectionAttempts 1',
      '  ConnectTimeout 10',
      '  LogLevel ERROR',
      '  PasswordAuthentication no',
      '  ServerAliveInterval 60',
      '  StrictHostKeyChecking accept-new',
      '  UserKnownHostsFile "/my store/machines/b/known_hosts"',
      '',
    ].join('\n'),
  );
  assert.equal(copyConfig([local('/a'), local('/b')]), '');
});

test('local paths scp could misread get ./ in front', () => {
  assert.equal(location(local('a:b')), './a:b');
  assert.equal(location(local('-rf')), './-rf');
  assert.equal(location(local('/abs/a:b')), '/abs/a:b');
  assert.equal(
    location({ kind: 'machine', machine: 'a', path: '/x', target: { ...targetA, user: 'ubuntu' } }),
    'ubuntu@a:/x',
  );
});

test('rsync for --delta: ssh with the same config, --progress unless quiet, one machine side only', () => {
  const cfg = '/tmp/dm-scp-x/ssh_config';
  assert.deepEqual(
    rsyncArgs(local('/tmp/foo'), onA('/home/docker/foo'), { recursive: true, quiet: false }, cfg),
    ['--progress', '--checksum', '-e', `ssh -F ${cfg}`, '-r', '--', '/tmp/foo', 'root@a:/home/docker/foo'],
  );
  assert.deepEqual(rsyncArgs(onA('/f'), local('.'), { recursive: false, quiet: true }, '/tmp/my dir/c'), [
    '--checksum',
    '-e',
    "ssh -F '/tmp/my dir/c'",
    '--',
    'root@a:/f',
    '.',
  ]);
  assert.throws(() => rsyncArgs(onA('/x'), onB('/y'), { recursive: false, quiet: false }, cfg), {
    message: /^Error: --delta cannot copy from one machine to another/,
  });
});

test('mount arguments: machine default without a colon, mount point defaults to the path', () => {
  assert.deepEqual(parseMountArgs('gen1:/home/docker'), {
    machine: 'gen1',
    user: undefined,
    path: '/home/docker',
    mountpoint: '/home/docker',
  });
  assert.deepEqual(parseMountArgs('/data', '/mnt/d'), {
    machine: 'default',
    path: '/data',
    mountpoint: '/mnt/d',
  });
  assert.deepEqual(parseMountArgs('ubuntu@gen1:', '/mnt/h'), {
    machine: 'gen1',
    user: 'ubuntu',
    path: '',
    mountpoint: '/mnt/h',
  });
  assert.throws(
    () => parseMountArgs('gen1:'),
    (e: unknown) =>
      e instanceof MachineError &&
      e.message === 'Error: no mount point for "gen1:": give the local directory as the second argument',
  );
});

test('sshfs and fusermount command lines', () => {
  assert.deepEqual(sshfsArgs({ ...targetA, keyPath: '/k,1/id' }, '/data', '/mnt/d'), [
    '-F',
    '/dev/null',
    ...optionArgs(sshOptions(targetA)).slice(0, -1),
    // FUSE splits -o at commas.
    'IdentityFile=/k\\,1/id',
    '-p',
    '2201',
    'root@127.0.0.1:/data',
    '/mnt/d',
  ]);
  assert.equal(sshfsArgs({ ...targetB, host: 'fd00::5' }, '', 'm').at(-2), 'docker@[fd00::5]:');
  assert.deepEqual(unmountCommand('/mnt/d', 'linux'), { program: 'fusermount', args: ['-u', '/mnt/d'] });
  assert.deepEqual(unmountCommand('/mnt/d', 'darwin'), { program: 'umount', args: ['/mnt/d'] });
});
