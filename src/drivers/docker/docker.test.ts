import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tarball } from './archive.js';
import { containerSpec, stateOf } from './container.js';
import { parseDockerHost } from './engine-api.js';
import { parsePublish } from './ports.js';

test('the key archive unpacks with GNU tar: root-owned, 0700 folder, 0600 key, exact content', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-tar-'));
  try {
    const tar = tarball([
      { path: 'root/.ssh', mode: 0o700 },
      { path: 'root/.ssh/authorized_keys', mode: 0o600, content: 'ssh-rsa AAAA test\n' },
    ]);
    assert.equal(tar.length % 512, 0);
    const listing = execFileSync('tar', ['-tvf', '-'], { input: tar }).toString();
    assert.match(
      listing,
      /^drwx------ root\/root\s+0 .* root\/\.ssh\/\n-rw------- root\/root\s+18 .* root\/\.ssh\/authorized_keys\n$/,
    );
    execFileSync('tar', ['-xf', '-', '-C', dir], { input: tar });
    assert.equal(await readFile(join(dir, 'root/.ssh/authorized_keys'), 'utf8'), 'ssh-rsa AAAA test\n');
    assert.equal((await stat(join(dir, 'root/.ssh/authorized_keys'))).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--docker-publish forms, and a clear error for the rest', () => {
  assert.deepEqual(parsePublish('8080'), { hostPort: 8080, containerPort: 8080, proto: 'tcp' });
  assert.deepEqual(parsePublish('8080:80'), { hostPort: 8080, containerPort: 80, proto: 'tcp' });
  assert.deepEqual(parsePublish('127.0.0.1:53:53/udp'), { hostPort: 53, containerPort: 53, proto: 'udp' });
  for (const bad of ['0:80', '70000', '80:http', '0.0.0.0:80:80', '']) {
    assert.throws(() => parsePublish(bad), /--docker-publish .*: expected HOSTPORT\[:CONTAINERPORT\]/);
  }
});

test('--docker-host: unix sockets and tcp, nothing else', () => {
  assert.deepEqual(parseDockerHost('unix:///var/run/docker.sock'), { socketPath: '/var/run/docker.sock' });
  assert.deepEqual(parseDockerHost('tcp://127.0.0.1:2375'), { host: '127.0.0.1', port: 2375 });
  assert.deepEqual(parseDockerHost('tcp://[::1]:2376'), { host: '::1', port: 2376 });
  assert.throws(
    () => parseDockerHost('ssh://me@host'),
    /speaks to engines at unix:\/\/\/PATH or tcp:\/\/HOST:PORT/,
  );
  assert.throws(() => parseDockerHost('unix://relative.sock'), /absolute path/);
});

test('the container: no --privileged, no DNS override, ports on 127.0.0.1, limits when asked', () => {
  const base = {
    name: 'm1',
    machineId: 'abc',
    image: 'img',
    volume: 'm1-docker-abc',
    network: 'docker-machine',
    sshPort: 40001,
    enginePort: 40002,
    publish: [{ hostPort: 8080, containerPort: 80, proto: 'tcp' as const }],
    cpus: 0,
    memoryMB: 0,
    cgroupVersion: '1',
  };
  const spec = containerSpec(base) as { HostConfig: Record<string, unknown>; Labels: Record<string, string> };
  const hc = spec.HostConfig;
  assert.equal(hc.Privileged, undefined);
  assert.equal(hc.Dns, undefined);
  assert.deepEqual(hc.CapAdd, ['ALL']);
  assert.deepEqual(hc.CapDrop, ['SYS_RESOURCE']);
  assert.deepEqual(hc.Binds, ['m1-docker-abc:/var/lib/docker', '/sys/fs/cgroup:/sys/fs/cgroup:rw']);
  assert.deepEqual(hc.PortBindings, {
    '22/tcp': [{ HostIp: '127.0.0.1', HostPort: '40001' }],
    '2376/tcp': [{ HostIp: '127.0.0.1', HostPort: '40002' }],
    '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }],
  });
  assert.equal(hc.NanoCpus, undefined);
  assert.equal(hc.Memory, undefined);
  assert.deepEqual(spec.Labels, { 'io.docker-machine.machine': 'abc', 'io.docker-machine.name': 'm1' });

  const limited = containerSpec({ ...base, cpus: 1.5, memoryMB: 512, cgroupVersion: '2' }) as {
    HostConfig: Record<string, unknown>;
  };
  assert.equal(limited.HostConfig.NanoCpus, 1_500_000_000);
  assert.equal(limited.HostConfig.Memory, 512 * 1024 * 1024);
  assert.equal(limited.HostConfig.CgroupnsMode, 'private');
  assert.deepEqual(limited.HostConfig.Binds, ['m1-docker-abc:/var/lib/docker']);

  // No address: the engine gives one; an address: asked for on the machines' network.
  const endpoint = (spec: unknown) =>
    (spec as { NetworkingConfig: { EndpointsConfig: Record<string, unknown> } }).NetworkingConfig
      .EndpointsConfig['docker-machine'];
  assert.deepEqual(endpoint(containerSpec(base)), { Aliases: ['m1'] });
  assert.deepEqual(endpoint(containerSpec({ ...base, address: '172.18.0.2' })), {
    Aliases: ['m1'],
    IPAMConfig: { IPv4Address: '172.18.0.2' },
  });
});

test('container states map to machine states', () => {
  const info = (Status: string) => ({
    Id: 'x',
    Name: '/m',
    State: { Status, Running: false, Paused: false },
    NetworkSettings: { Networks: {} },
  });
  assert.equal(stateOf(null), 'NotFound');
  assert.equal(stateOf(info('running')), 'Running');
  assert.equal(stateOf(info('paused')), 'Paused');
  assert.equal(stateOf(info('exited')), 'Stopped');
  assert.equal(stateOf(info('created')), 'Stopped');
  assert.equal(stateOf(info('dead')), 'Error');
  assert.equal(stateOf(info('restarting')), 'Error');
});
