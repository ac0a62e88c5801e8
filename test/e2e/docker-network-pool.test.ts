import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { contains, formatCIDR, parseCIDR, type Subnet } from '../../src/drivers/docker/ipv4.js';
import { type EngineRig, startEngineRig } from '../helpers/engine-rig.js';
import { testHostsAvailable } from '../helpers/testhost.js';

// An engine whose default address pools are used up (as on a host with many networks): the
// docker driver must still make its network, on a private subnet it picks itself.
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

/** The pool of the test's engine: one /24 that holds exactly one network. */
const POOL = '10.123.0.0/24';

const overlap = (a: Subnet, b: Subnet) => contains(a, b.base) || contains(b, a.base);

/** This computer's IPv4 routes and the bridges they go through, as `ip route` shows them. */
function routes(): { subnet: Subnet; dev: string }[] {
  return execFileSync('ip', ['-4', '-o', 'route', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^(\S+)\s.*\bdev (\S+)/.exec(l))
    .filter((m) => m !== null && m[1] !== 'default')
    .map((m) => ({ subnet: parseCIDR(m![1].includes('/') ? m![1] : `${m![1]}/32`)!, dev: m![2] }));
}

describe('create -d docker on an engine whose address pools are used up', {
  skip,
  timeout: 30 * 60_000,
}, () => {
  let rig: EngineRig;
  let bridge = '';
  let stopped = false;

  before(async () => {
    rig = await startEngineRig({ addressPool: `base=${POOL},size=24` });
  });

  after(async () => {
    if (!stopped) await rig?.stop();
  });

  test('the engine refuses a network without a subnet; create picks a free private /24 and the machines run on it', async () => {
    await rig.outer(['network', 'create', 'filler']);
    assert.equal(
      await rig.outer(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', 'filler']),
      POOL,
    );
    await assert.rejects(rig.outer(['network', 'create', 'one-more']), /non-overlapping IPv4 address pool/);
    const before = routes();

    const r = await rig.create(['pool1', 'pool2']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const line = r.stdout.split('\n').find((l) => l.includes('address pools are used up'));
    assert.ok(line, r.stdout);
    const m =
      /^pool[12] \| The engine's address pools are used up: making network docker-machine on (\S+), which no network of the engine and no route of this computer uses$/.exec(
        line,
      );
    assert.ok(m, line);
    const chosen = parseCIDR(m[1])!;
    assert.equal(r.stdout.split('\n').filter((l) => l.includes('address pools are used up')).length, 1);

    const net = JSON.parse(await rig.outer(['network', 'inspect', 'docker-machine']))[0];
    assert.deepEqual(net.IPAM.Config, [
      { Subnet: m[1], IPRange: formatCIDR({ base: chosen.base + 128, prefix: 25 }) },
    ]);
    assert.equal(net.Labels['io.docker-machine.network.addressing'], 'fixed');
    for (const taken of [parseCIDR(POOL)!, ...before.map((x) => x.subnet)])
      assert.ok(!overlap(taken, chosen), `${m[1]} overlaps ${formatCIDR(taken)}`);
    bridge = `br-${net.Id.slice(0, 12)}`;
    assert.ok(
      routes().some((x) => x.dev === bridge && formatCIDR(x.subnet) === m[1]),
      `a route to ${m[1]} through ${bridge}`,
    );

    const addresses = new Set<string>();
    for (const name of ['pool1', 'pool2']) {
      const config = JSON.parse(await readFile(join(rig.store.dir, 'machines', name, 'config.json'), 'utf8'));
      const address = config.Driver.NetworkAddress;
      assert.ok(contains(chosen, parseCIDR(`${address}/32`)!.base), `${name} at ${address} in ${m[1]}`);
      assert.ok(!contains({ base: chosen.base + 128, prefix: 25 }, parseCIDR(`${address}/32`)!.base));
      addresses.add(address);
    }
    assert.equal(addresses.size, 2);
    const ls = await rig.store.run(['ls', '--format', '{{.Name}} {{.State}} {{.DockerVersion}}']);
    assert.match(ls.stdout, /^pool1 Running v20\.10\.\S+\npool2 Running v20\.10\.\S+\n$/);
    const who = await rig.withEnv('pool2', 'docker info --format "{{.Name}}"');
    assert.equal(who.stdout.trim(), 'pool2', who.stderr);

    const rm = await rig.store.run(['rm', '-y', 'pool1', 'pool2'], { timeoutMs: 180_000 });
    assert.equal(rm.code, 0, rm.stderr);
  });

  test('the engine stopped, neither its networks nor their bridges and routes stay on this computer', async () => {
    assert.ok(bridge, 'the case before made the network');
    stopped = true;
    await rig.stop();
    assert.equal(existsSync(`/sys/class/net/${bridge}`), false, `${bridge} is gone`);
    const left = routes().filter((x) => overlap(x.subnet, parseCIDR(POOL)!) || x.dev === bridge);
    assert.deepEqual(left, []);
  });
});
