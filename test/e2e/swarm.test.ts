import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MachineAPI } from '../../src/api/index.js';
import { joinNode, swarmEngineOf } from '../../src/api/swarm.js';
import { busyboxTarball } from '../helpers/busybox.js';
import type { RunResult } from '../helpers/cli.js';
import { type EngineRig, startEngineRig } from '../helpers/engine-rig.js';
import { testHostsAvailable } from '../helpers/testhost.js';

// Swarm mode with docker-driver machines on a dockerd of the test's own, on a network whose
// machines may reach each other (and nothing else). The machines are reused from case to case:
// each case starts from the cluster the one before left, as named in its title.
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

describe('Swarm mode from the create flags', { skip, timeout: 30 * 60_000 }, () => {
  let rig: EngineRig;

  before(async () => {
    rig = await startEngineRig({ poolPrefix: '172.27', interconnect: true });
  });

  after(async () => {
    await rig?.stop();
  });

  const ok = (r: RunResult, what: string) => assert.equal(r.code, 0, `${what}:\n${r.stdout}\n${r.stderr}`);

  /** docker through the machine's env; the script's stdout, trimmed. */
  const docker = async (machine: string, script: string) => {
    const r = await rig.withEnv(machine, script);
    ok(r, `${script} on ${machine}`);
    return r.stdout.trim();
  };

  const names = async () => (await rig.store.run(['ls', '-q'])).stdout.split('\n').filter(Boolean);

  /** Poll `probe` until it returns true: bounded in count and time. */
  const eventually = async (what: string, probe: () => Promise<boolean>, seconds = 90) => {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      if (await probe().catch(() => false)) return;
      if (Date.now() > deadline) assert.fail(`not within ${seconds} s: ${what}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };

  const nodes = async (via: string) =>
    (await docker(via, `docker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'`))
      .split('\n')
      .map((l) => l.trim())
      .sort();

  const runningTasks = async (via: string) =>
    (
      await docker(
        via,
        "docker service ps sleeper --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'",
      )
    )
      .split('\n')
      .filter((l) => / Running /.test(` ${l} `))
      .map((l) => l.split(' ')[0])
      .sort();

  test('one manager and two workers in one command: three Ready nodes, labels, ls, env --swarm, inspect', async () => {
    const r = await rig.create(
      ['m1', 'w1', 'w2'],
      [
        '--swarm-master',
        '--engine-label',
        'zone=a',
        '--swarm-image',
        'swarm:1.2',
        '--swarm-strategy',
        'binpack',
      ],
    );
    ok(r, 'create');
    assert.match(r.stdout, /Created 3 machines: m1, w1, w2/);
    const lines = r.stdout.split('\n');
    for (const w of [
      'Warning: --swarm-image is accepted and ignored: Swarm mode is built into the engine: no image is run',
      'Warning: --swarm-strategy is accepted and ignored: Swarm mode schedules tasks by its own spread strategy',
    ]) {
      assert.equal(lines.filter((l) => l === w).length, 1, `"${w}" once in:\n${r.stdout}`);
    }
    assert.ok(
      lines.some((l) => /^m1 +\| Initialising Swarm cluster "m1" with m1 as its first manager/.test(l)),
    );
    assert.ok(lines.some((l) => /^w1 +\| Joining Swarm cluster "m1" as a worker through m1/.test(l)));

    assert.deepEqual(await nodes('m1'), ['m1 Ready Leader', 'w1 Ready', 'w2 Ready']);
    assert.equal(
      await docker(
        'm1',
        `docker node inspect -f '{{.Description.Hostname}} {{index .Spec.Labels "zone"}}' m1 w1 w2`,
      ),
      'm1 a\nw1 a\nw2 a',
    );

    const ls = await rig.store.run(['ls', '--format', '{{.Name}} {{.Swarm}}']);
    assert.equal(ls.stdout, 'm1 m1 (manager)\nw1 m1 (worker)\nw2 m1 (worker)\n');
    assert.equal((await rig.store.run(['ls', '-q', '--filter', 'swarm=M1'])).stdout, 'm1\nw1\nw2\n');
    assert.equal((await rig.store.run(['ls', '-q', '--filter', 'swarm=w1'])).stdout, '');

    // env --swarm of a worker points docker at its manager.
    const env = await rig.withEnv('w1', 'echo "$DOCKER_HOST $DOCKER_MACHINE_NAME"', {
      envFlags: ['--swarm'],
    });
    ok(env, 'env --swarm w1');
    const m1URL = (await rig.store.run(['url', 'm1'])).stdout.trim();
    assert.equal(env.stdout.trim(), `${m1URL} m1`);
    const inspect = await rig.store.run([
      'inspect',
      '-f',
      '{{.HostOptions.SwarmOptions.Role}} {{.HostOptions.SwarmOptions.Discovery}}',
      'w1',
    ]);
    assert.equal(inspect.stdout, 'worker m1\n');

    // The original's fields first, as it reads them; ours after.
    const config = JSON.parse(await readFile(join(rig.store.dir, 'machines', 'w1', 'config.json'), 'utf8'));
    const s = config.HostOptions.SwarmOptions;
    assert.deepEqual(Object.keys(s), [
      'IsSwarm',
      'Address',
      'Discovery',
      'Agent',
      'Master',
      'Host',
      'Image',
      'Strategy',
      'Heartbeat',
      'Overcommit',
      'ArbitraryFlags',
      'ArbitraryJoinFlags',
      'Env',
      'IsExperimental',
      'Role',
      'ClusterID',
      'NodeID',
      'AdvertiseAddr',
    ]);
    assert.equal(s.IsSwarm && s.Agent && !s.Master, true);
    assert.match(s.AdvertiseAddr, /^172\.27\.\d+\.\d+:2377$/);
    // Swarm refuses engines with live-restore: swarm machines run without it.
    const unit = await rig.store.run([
      'ssh',
      'w1',
      'cat /etc/systemd/system/docker.service.d/10-machine.conf',
    ]);
    ok(unit, 'ssh');
    assert.doesNotMatch(unit.stdout, /live-restore/);
  });

  test('a 3-replica service of a locally imported image places a task on every node', async () => {
    for (const n of ['m1', 'w1', 'w2']) await docker(n, `docker import - busybox < ${busyboxTarball()}`);
    // No registry answers here: the image is not resolved to a digest.
    await docker(
      'm1',
      'docker service create --detach --no-resolve-image --name sleeper --replicas 3 busybox sleep 3600',
    );
    await eventually('a running task on each of m1, w1, w2', async () => {
      const on = await runningTasks('m1');
      return on.join(' ') === 'm1 w1 w2';
    });
  });

  test('errors before anything is made: unknown cluster, bad options, conflicting names', async () => {
    const cases: [string[], string[], RegExp][] = [
      [
        ['x1'],
        ['--swarm', '--swarm-cluster', 'nosuch'],
        /There is no Swarm cluster "nosuch" in the store for x1/,
      ],
      [
        ['x1'],
        ['--swarm-master', '--swarm-opt', 'heartbeat=5s'],
        /--swarm-opt heartbeat=5s: not an option of swarm init/,
      ],
      [
        ['x1'],
        ['--swarm', '--swarm-join-opt', 'availability=sometimes'],
        /availability must be active, pause or drain/,
      ],
      [['x1'], ['--swarm', '--swarm-cluster', 'm1', '--swarm-discovery', 'other'], /name different clusters/],
      [['x1', 'x2', 'x3'], ['--swarm-managers', '4'], /--swarm-managers 4: only 3 machine names are given/],
    ];
    for (const [machines, flags, want] of cases) {
      const r = await rig.create(machines, flags);
      assert.equal(r.code, 1, `${flags.join(' ')}:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, want);
    }
    assert.deepEqual(await names(), ['m1', 'w1', 'w2']);
  });

  test('a rejected join token: a clear message, and the node stays out of the cluster', async () => {
    ok(await rig.create('solo'), 'create solo');
    // A machine made without swarm flags keeps live-restore, which swarm refuses before it looks
    // at a token: this engine runs without it.
    ok(
      await rig.store.run([
        'ssh',
        'solo',
        "sed -i 's/ --live-restore//' /etc/systemd/system/docker.service.d/10-machine.conf && systemctl daemon-reload && systemctl restart docker",
      ]),
      'engine without live-restore',
    );
    await eventually(
      'solo answers again',
      async () => (await rig.withEnv('solo', 'docker version')).code === 0,
    );
    const notInOne = await rig.create('x1', ['--swarm', '--swarm-cluster', 'solo']);
    assert.equal(notInOne.code, 1);
    assert.match(
      notInOne.stderr,
      /Machine "solo" is in no Swarm cluster: name a cluster or one of its machines/,
    );
    const api = new MachineAPI({ storePath: rig.store.dir });
    const solo = await api.load('solo');
    const self = await swarmEngineOf(solo);
    const manager = await swarmEngineOf(await api.load('m1'));
    const { JoinTokens } = await manager.inspect();
    const info = await manager.info();
    // A token of the right form whose secret is not the cluster's.
    const bad = JoinTokens.Worker.replace(/-[a-z0-9]+$/, `-${'0'.repeat(25)}`);
    assert.notEqual(bad, JoinTokens.Worker);
    await assert.rejects(
      joinNode('solo', 'm1', self, manager, {
        ListenAddr: '0.0.0.0:2377',
        AdvertiseAddr: `${await solo.driver.clusterAddress!()}:2377`,
        RemoteAddrs: (info.RemoteManagers ?? []).map((m) => m.Addr),
        JoinToken: bad,
      }),
      /The managers of Swarm cluster "m1" rejected solo's join token: .*join token/,
    );
    assert.equal((await self.info()).LocalNodeState, 'inactive');
    assert.deepEqual(await nodes('m1'), ['m1 Ready Leader', 'w1 Ready', 'w2 Ready']);
  });

  test('rm of a worker: drained, gone from the list; the service keeps its replicas', async () => {
    const rm = await rig.store.run(['rm', '-y', 'w2'], { timeoutMs: 180_000 });
    ok(rm, 'rm w2');
    assert.match(rm.stdout, /Draining w2: its tasks move to the other nodes\.\.\.\n/);
    assert.deepEqual(await nodes('m1'), ['m1 Ready Leader', 'w1 Ready']);
    assert.equal(await rig.outer(['ps', '-aq', '--filter', 'label=io.docker-machine.name=w2']), '');
    await eventually('three running tasks on m1 and w1', async () => {
      const on = await runningTasks('m1');
      return on.length === 3 && !on.includes('w2');
    });
  });

  test('more managers: --swarm-master joins the cluster as a manager; rm of one demotes it first; stopping one of three leaves the cluster answering', async () => {
    // The cluster exists: m2 joins it as a manager, and so do m3 and m4 (--swarm-managers 3),
    // which wait for m2 to have joined.
    const r = await rig.create(['m2', 'm3', 'm4'], ['--swarm-master', '--swarm-managers', '3']);
    ok(r, 'create m2 m3 m4');
    // The service's tasks may move there: no registry answers, so the image comes from here.
    for (const n of ['m2', 'm3']) await docker(n, `docker import - busybox < ${busyboxTarball()}`);
    assert.deepEqual(await nodes('m1'), [
      'm1 Ready Leader',
      'm2 Ready Reachable',
      'm3 Ready Reachable',
      'm4 Ready Reachable',
      'w1 Ready',
    ]);
    const rm = await rig.store.run(['rm', '-y', 'm4'], { timeoutMs: 180_000 });
    ok(rm, 'rm m4');
    assert.match(rm.stdout, /Demoting m4 to a worker of Swarm cluster "m1"\.\.\./);
    assert.equal(
      (await rig.store.run(['ls', '--format', '{{.Name}} {{.Swarm}}', '--filter', 'swarm=m1'])).stdout,
      'm1 m1 (manager)\nm2 m1 (manager)\nm3 m1 (manager)\nw1 m1 (worker)\n',
    );
    ok(await rig.store.run(['stop', 'm1'], { timeoutMs: 180_000 }), 'stop m1');
    await eventually('m2 answers, with m2 or m3 as the leader', async () => {
      const seen = await nodes('m2');
      return seen.some((l) => /^m[23] Ready Leader$/.test(l)) && seen.some((l) => /^m1 /.test(l));
    });
    // The cluster still acts: m1's task moves to another node.
    await eventually('three running tasks without m1', async () => {
      const on = await runningTasks('m2');
      return on.length === 3 && !on.includes('m1');
    });
  });

  test('lost quorum, then no manager that answers: clear errors, nothing made or removed', async () => {
    ok(await rig.store.run(['stop', 'm2'], { timeoutMs: 180_000 }), 'stop m2');
    // Until m3 has given up on a leader it may still act on what it knew: wait for that.
    await eventually('m3 to refuse the node list for want of a leader', async () => {
      const r = await rig.withEnv('m3', 'docker node ls', { timeoutMs: 60_000 });
      return r.code !== 0 && /leader|quorum/i.test(r.stderr);
    });
    const create = await rig.create('x1', ['--swarm']);
    assert.equal(create.code, 1, create.stdout);
    assert.match(
      create.stderr,
      /Swarm cluster "m1" has lost quorum: more than half of its managers must be running for it to accept changes \(m1: Host is not running; m2: Host is not running; m3: /,
    );
    const rm = await rig.store.run(['rm', '-y', 'w1'], { timeoutMs: 180_000 });
    assert.equal(rm.code, 1, rm.stdout);
    assert.match(
      rm.stderr,
      /lost quorum.*, so w1 cannot be taken out of the cluster: start a manager, or use/,
    );

    ok(await rig.store.run(['stop', 'm3'], { timeoutMs: 180_000 }), 'stop m3');
    const none = await rig.create('x1', ['--swarm']);
    assert.equal(none.code, 1, none.stdout);
    assert.match(none.stderr, /No manager of Swarm cluster "m1" answers \(m1: Host is not running; m2: /);
    assert.deepEqual(await names(), ['m1', 'm2', 'm3', 'solo', 'w1']);

    // With force the worker goes, and says what stays behind.
    const forced = await rig.store.run(['rm', '-f', 'w1'], { timeoutMs: 180_000 });
    ok(forced, 'rm -f w1');
    assert.match(forced.stdout, /w1's node stays in the cluster's list as down/);
    assert.deepEqual(await names(), ['m1', 'm2', 'm3', 'solo']);
  });

  test('a second cluster: --swarm-cluster names it; the last manager needs -f and ends it', async () => {
    const r = await rig.create('o1', ['--swarm-master', '--swarm-cluster', 'other']);
    ok(r, 'create o1');
    assert.match(r.stdout, /Initialising Swarm cluster "other" with o1 as its first manager/);
    const which = await rig.create('x1', ['--swarm']);
    assert.equal(which.code, 1);
    assert.match(
      which.stderr,
      /The store holds several Swarm clusters \(m1, other\): name one with --swarm-cluster/,
    );
    const refused = await rig.store.run(['rm', '-y', 'o1']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /o1 is the last manager of Swarm cluster "other": removing it ends the cluster\. Use 'docker-machine rm -f o1' to remove it anyway/,
    );
    assert.ok((await names()).includes('o1'));
    const forced = await rig.store.run(['rm', '-f', 'o1'], { timeoutMs: 180_000 });
    ok(forced, 'rm -f o1');
    assert.match(forced.stdout, /Removing the last manager of Swarm cluster "other": the cluster ends/);
    assert.deepEqual(await names(), ['m1', 'm2', 'm3', 'solo']);
  });

  test('a fleet whose first manager fails: the others stop waiting for its cluster at once', async () => {
    // The engine refuses a certificate expiry under an hour, so f1's swarm init fails.
    const r = await rig.create(
      ['f1', 'f2'],
      [
        '--swarm-master',
        '--swarm-cluster',
        'failing',
        '--swarm-opt',
        'cert-expiry=1m',
        '--wait-timeout',
        '600',
      ],
      { timeoutMs: 300_000 },
    );
    assert.notEqual(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const out = `${r.stdout}\n${r.stderr}`;
    assert.match(out, /swarm init on f1 failed: .*expiry/i);
    assert.match(
      out,
      /Swarm cluster "failing" will not be initialised: its first manager f1 was not created/,
      'f2 ends with the reason, not after --wait-timeout',
    );
    assert.doesNotMatch(out, /Waited \d+ s for Swarm cluster/);
    const rm = await rig.store.run(['rm', '-y', 'f1', 'f2'], { timeoutMs: 180_000 });
    ok(rm, 'rm f1 f2');
    assert.deepEqual(await names(), ['m1', 'm2', 'm3', 'solo']);
  });

  test('a node started again after other machines left keeps the address it advertises', async (t) => {
    // m3 was made after machines that are gone now: a dynamic address would be the lowest free
    // one; the pinned one is what it advertises, so no warning.
    const config = JSON.parse(await readFile(join(rig.store.dir, 'machines', 'm3', 'config.json'), 'utf8'));
    const start = await rig.store.run(['start', 'm3'], { timeoutMs: 180_000 });
    ok(start, 'start m3');
    const now = await rig.outer([
      'inspect',
      '-f',
      '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
      config.Driver.ContainerID,
    ]);
    const was = config.HostOptions.SwarmOptions.AdvertiseAddr.replace(/:2377$/, '');
    const warned = start.stdout.includes(
      `Warning: m3 came back at ${now}, not at ${was}, the address its node advertises in Swarm cluster "m1"`,
    );
    t.diagnostic(`m3 advertised ${was}, came back at ${now}`);
    assert.equal(now, was, `m3 came back at ${now}, advertises ${was}`);
    assert.equal(warned, false, start.stdout);
  });
});
