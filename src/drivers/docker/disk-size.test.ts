import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerSpec } from './container.js';
import { diskSizeRefusal, isDiskSizeRefusal, parseDiskSize } from './disk-size.js';

test('--docker-disk-size: binary units, a plain number is MB, 0 or nothing is no bound', () => {
  const cases: [string, number][] = [
    ['', 0],
    ['0', 0],
    ['512', 512],
    ['512M', 512],
    ['512MB', 512],
    ['512mib', 512],
    ['10G', 10 * 1024],
    ['10g', 10 * 1024],
    ['1.5G', 1536],
    ['20GiB', 20 * 1024],
    ['2T', 2 * 1024 * 1024],
    [' 8G ', 8 * 1024],
  ];
  for (const [spec, mb] of cases) assert.equal(parseDiskSize(spec), mb, spec);
  for (const bad of ['10K', '-1', '1.5', '0.4M', 'ten', '10 GB extra', '10X', 'G']) {
    assert.throws(
      () => parseDiskSize(bad),
      /^MachineError: --docker-disk-size .*: expected a size such as 20G or 512M, or a whole number of MB \(0 for no limit\)$/,
      bad,
    );
  }
});

test('the size goes to the container as StorageOpt, only when asked for', () => {
  const base = {
    name: 'm',
    machineId: 'id',
    image: 'img',
    volume: 'v',
    network: 'n',
    sshPort: 1,
    enginePort: 2,
    publish: [],
    cpus: 0,
    memoryMB: 0,
    cgroupVersion: '1',
  };
  const host = (spec: Record<string, unknown>) => spec.HostConfig as Record<string, unknown>;
  assert.deepEqual(host(containerSpec({ ...base, diskSizeMB: 10240 })).StorageOpt, { size: '10240M' });
  assert.equal(host(containerSpec(base)).StorageOpt, undefined);
  assert.equal(host(containerSpec({ ...base, diskSizeMB: 0 })).StorageOpt, undefined);
});

test('which storage drivers can bound a container, from /info', () => {
  const where = 'the Docker engine at unix:///x.sock';
  for (const Driver of ['devicemapper', 'btrfs', 'zfs']) {
    assert.equal(diskSizeRefusal({ Driver, DriverStatus: [] }, where, 1024), undefined, Driver);
  }
  // pquota is not in /info: overlay2 on xfs is let through to the container's create.
  assert.equal(
    diskSizeRefusal({ Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'xfs']] }, where, 1024),
    undefined,
  );
  assert.equal(
    diskSizeRefusal(
      {
        Driver: 'overlay2',
        DriverStatus: [
          ['Backing Filesystem', 'extfs'],
          ['Supports d_type', 'true'],
        ],
      },
      where,
      10240,
    ),
    "--docker-disk-size 10240 MB needs a storage driver that can bound a container's size (devicemapper, btrfs, zfs, or overlay2 on xfs mounted with pquota), and the Docker engine at unix:///x.sock uses overlay2 on extfs; leave out --docker-disk-size, or give --docker-host an engine that stores containers that way",
  );
  assert.match(diskSizeRefusal({ Driver: 'vfs', DriverStatus: null }, where, 1) ?? '', /uses vfs; leave out/);
  assert.ok(
    isDiskSizeRefusal("--storage-opt is supported only for overlay over xfs with 'pquota' mount option"),
  );
  assert.ok(!isDiskSizeRefusal('No such image: x'));
});
