import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildHostOptions } from '../api/host-options.js';
import { CONFIG_VERSION, type HostConfig, type SwarmRole } from '../store/host.js';
import { chooseCluster, matchesSwarmFilter, members, swarmColumn, withMembership } from './cluster.js';
import { initOptions, joinOptions, nodeLabels, parseDuration, withSwarmPort } from './options.js';
import { fleetSwarmRequests, managerCountWarning } from './roles.js';

function config(name: string, cluster = '', role?: SwarmRole): HostConfig {
  const h = buildHostOptions('/store', name, {
    swarm: { master: role === 'manager', agent: role === 'worker' },
  });
  if (role) {
    h.SwarmOptions = withMembership(h.SwarmOptions, {
      cluster,
      role,
      clusterId: `id-${cluster}`,
      nodeId: `node-${name}`,
      advertiseAddr: '10.0.0.1:2377',
    });
  }
  return { ConfigVersion: CONFIG_VERSION, Driver: {}, DriverName: 'docker', HostOptions: h, Name: name };
}

describe('swarm options', () => {
  test('--swarm-opt as the fields of swarm init, durations in nanoseconds', () => {
    assert.deepEqual(
      initOptions([
        'dispatcher-heartbeat=5s',
        '--cert-expiry=2160h',
        'task-history-limit=3',
        'default-addr-pool=10.20.0.0/16',
        'default-addr-pool=10.30.0.0/16',
        'force-new-cluster',
        'availability=drain',
      ]),
      {
        Spec: {
          Dispatcher: { HeartbeatPeriod: 5e9 },
          CAConfig: { NodeCertExpiry: 2160 * 3600e9 },
          Orchestration: { TaskHistoryRetentionLimit: 3 },
        },
        DefaultAddrPool: ['10.20.0.0/16', '10.30.0.0/16'],
        ForceNewCluster: true,
        Availability: 'drain',
      },
    );
    assert.deepEqual(joinOptions(['listen-addr=0.0.0.0:4000', 'data-path-addr=eth1']), {
      ListenAddr: '0.0.0.0:4000',
      DataPathAddr: 'eth1',
    });
    assert.equal(parseDuration('1h30m', 'x'), 5400e9);
  });

  test('options Swarm mode does not have are refused, naming the known ones', () => {
    assert.throws(
      () => initOptions(['heartbeat=5s']),
      /--swarm-opt heartbeat=5s: not an option of swarm init in Swarm mode; known: listen-addr, /,
    );
    assert.throws(() => joinOptions(['cert-expiry=1h']), /not an option of swarm join/);
    assert.throws(
      () => initOptions(['advertise-addr=1.2.3.4']),
      /give the address to advertise with --swarm-addr/,
    );
    assert.throws(() => initOptions(['task-history-limit=many']), /expected a whole number/);
    assert.throws(() => initOptions(['cert-expiry=soon']), /expected a duration/);
  });

  test('labels and addresses', () => {
    assert.deepEqual(nodeLabels(['zone=a', 'ssd', 'k=v=w']), { zone: 'a', ssd: '', k: 'v=w' });
    assert.equal(withSwarmPort('10.0.0.1'), '10.0.0.1:2377');
    assert.equal(withSwarmPort('10.0.0.1:4000'), '10.0.0.1:4000');
    assert.equal(withSwarmPort('fd00::1'), '[fd00::1]:2377');
    assert.equal(withSwarmPort('eth0'), 'eth0:2377');
  });
});

describe('clusters in the store', () => {
  const all = members([
    config('m1', 'c1', 'manager'),
    config('w1', 'c1', 'worker'),
    config('plain'),
    config('m9', 'c9', 'manager'),
  ]);

  test('a cluster by its name or by one of its machines; the only one without a name', () => {
    const byName = chooseCluster(all, 'c1');
    assert.equal(byName.kind === 'found' && byName.members.map((m) => m.name).join(), 'm1,w1');
    assert.deepEqual(chooseCluster(all, 'w1'), byName);
    assert.deepEqual(chooseCluster(all, 'nosuch'), { kind: 'none', name: 'nosuch' });
    assert.deepEqual(chooseCluster(all, ''), { kind: 'ambiguous', names: ['c1', 'c9'] });
    const one = chooseCluster(members([config('m1', 'c1', 'manager')]), '');
    assert.equal(one.kind === 'found' && one.cluster, 'c1');
    assert.deepEqual(chooseCluster([], ''), { kind: 'none', name: '' });
  });

  test('ls: the column names cluster and role; the filter takes the cluster or a manager', () => {
    assert.equal(swarmColumn(config('w1', 'c1', 'worker').HostOptions.SwarmOptions), 'c1 (worker)');
    assert.equal(swarmColumn(config('plain').HostOptions.SwarmOptions), null);
    const w1 = all.find((m) => m.name === 'w1')!;
    assert.ok(matchesSwarmFilter(w1, all, ['C1']));
    assert.ok(matchesSwarmFilter(w1, all, ['m1']));
    assert.ok(!matchesSwarmFilter(w1, all, ['w1']));
    assert.ok(!matchesSwarmFilter(w1, all, ['c9']));
  });

  test('membership fields go after the original ones, and come off again', () => {
    const s = config('w1', 'c1', 'worker').HostOptions.SwarmOptions;
    assert.deepEqual(Object.keys(s).slice(-5), [
      'IsExperimental',
      'Role',
      'ClusterID',
      'NodeID',
      'AdvertiseAddr',
    ]);
    assert.equal(s.Discovery, 'c1');
    const cleared = withMembership(s, null);
    assert.equal(cleared.Role, undefined);
    assert.equal(Object.keys(cleared).at(-1), 'IsExperimental');
  });
});

describe('a fleet with swarm flags', () => {
  test('--swarm-master: the first name manages, the others join it as workers and wait for it', () => {
    const r = fleetSwarmRequests(['a', 'b', 'c'], { master: true }, 0);
    assert.deepEqual(
      r.map((x) => [x.master, x.agent, x.cluster, x.awaitCluster]),
      [
        [true, false, undefined, undefined],
        [false, true, 'a', true],
        [false, true, 'a', true],
      ],
    );
  });

  test("--swarm-managers N: the first N are managers; a named cluster is every name's", () => {
    const r = fleetSwarmRequests(['a', 'b', 'c', 'd'], { cluster: 'prod' }, 3);
    assert.deepEqual(
      r.map((x) => [x.master, x.agent, x.cluster]),
      [
        [true, false, 'prod'],
        [true, false, 'prod'],
        [true, false, 'prod'],
        [false, true, 'prod'],
      ],
    );
    assert.throws(
      () => fleetSwarmRequests(['a', 'b'], {}, 3),
      /--swarm-managers 3: only 2 machine names are given/,
    );
    assert.equal(managerCountWarning(3), null);
    assert.match(managerCountWarning(2) ?? '', /2 managers tolerate the loss of none, as 1 would/);
  });

  test('without --swarm-master every name gets the same request', () => {
    const r = fleetSwarmRequests(['a', 'b'], { agent: true, cluster: 'x' }, 0);
    assert.deepEqual(r, [
      { agent: true, cluster: 'x', master: false },
      { agent: true, cluster: 'x', master: false },
    ]);
  });
});
