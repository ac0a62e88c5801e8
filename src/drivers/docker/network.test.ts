import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DockerAPI, EngineAPIError } from './engine-api.js';
import { formatCIDR, parseCIDR, type Subnet } from './ipv4.js';
import {
  chooseFreeSubnet,
  engineIsLocal,
  ensureNetwork,
  isPoolExhausted,
  LABEL_ADDRESSING,
  parseRouteTable,
} from './network.js';

const nets = (...cidrs: string[]) => cidrs.map((c) => parseCIDR(c) as Subnet);
const choose = (...taken: string[]) => {
  const s = chooseFreeSubnet(nets(...taken));
  return s && formatCIDR(s);
};

test('a subnet of our own: the first private /24 that nothing taken overlaps', () => {
  assert.equal(choose(), '172.16.0.0/24');
  // Overlap either way: a larger route covering candidates, a smaller network inside one.
  assert.equal(choose('172.16.0.0/24', '172.16.1.128/26'), '172.16.2.0/24');
  assert.equal(choose('172.16.0.0/12'), '192.168.0.0/24');
  assert.equal(choose('172.16.0.0/12', '192.168.0.0/16'), '10.0.0.0/24');
  assert.equal(choose('172.16.0.0/13', '172.24.0.0/14', '172.28.0.0/15', '172.30.0.0/16'), '172.31.0.0/24');
  // Routes outside the private ranges change nothing; a /32 (an engine's address) takes its /24.
  assert.equal(choose('192.0.2.0/24', '0.0.0.0/8'), '172.16.0.0/24');
  assert.equal(choose('172.16.0.9/32'), '172.16.1.0/24');
  assert.equal(choose('172.16.0.0/12', '192.168.0.0/16', '10.0.0.0/8'), undefined);
});

test('the route table of /proc/net/route, in either byte order, without the default route', () => {
  const table = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'br-45388658f414\t00581DAC\t00000000\t0001\t0\t0\t0\tC0FFFFFF\t0\t0\t0',
    'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'odd\t000200C0\t00000000\t0001\t0\t0\t0\t00FF00FF\t0\t0\t0',
    'short line',
    '',
  ].join('\n');
  assert.deepEqual(parseRouteTable(table, true).map(formatCIDR), ['172.29.88.0/26', '192.0.2.0/24']);
  const bigEndian = table.replace('00581DAC', 'AC1D5800').replace('C0FFFFFF', 'FFFFFFC0');
  assert.deepEqual(parseRouteTable(bigEndian, false).map(formatCIDR)[0], '172.29.88.0/26');
});

test('an engine is local at a unix socket, a loopback address or an address of this computer', () => {
  const own = ['192.0.2.2'];
  for (const h of [
    'unix:///var/run/docker.sock',
    'tcp://127.0.0.1:2376',
    'tcp://localhost:2375',
    'tcp://[::1]:2376',
    'tcp://192.0.2.2:2376',
  ])
    assert.equal(engineIsLocal(h, own), true, h);
  for (const h of ['tcp://192.0.2.10:2376', 'tcp://engine.example:2376', 'ssh://x', 'unix://relative'])
    assert.equal(engineIsLocal(h, own), false, h);
});

test('the engine says its pools are used up: 20.10 and later wording; other refusals are not that', () => {
  assert.ok(
    isPoolExhausted(
      new EngineAPIError(
        404,
        'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network',
      ),
    ),
  );
  assert.ok(
    isPoolExhausted(new EngineAPIError(400, 'all predefined address pools have been fully subnetted')),
  );
  assert.ok(!isPoolExhausted(new EngineAPIError(403, 'Pool overlaps with other one on this address space')));
  assert.ok(!isPoolExhausted(new EngineAPIError(404, 'network docker-machine not found')));
});

/**
 * An engine API whose pools are used up, with the networks given: it records what is asked and
 * refuses a network without a subnet as 20.10 does.
 */
function exhaustedEngine(host: string, networks: { Name: string; Subnet: string }[]) {
  const made: { Name: string; IPAM?: { Config: { Subnet: string; IPRange?: string }[] } }[] = [];
  const info = (n: { Name: string; Subnet: string }, labels: Record<string, string> = {}) => ({
    Id: `id-${n.Name}`,
    Name: n.Name,
    Driver: 'bridge',
    Labels: labels,
    IPAM: { Config: [{ Subnet: n.Subnet }] },
    Containers: {},
  });
  const api = {
    endpoint: { host, certPath: '' },
    where: `the Docker engine at ${host}`,
    async jsonOrNull(_method: string, path: string) {
      const name = decodeURIComponent(path.replace('/networks/', ''));
      const m = made.find((x) => x.Name === name);
      return m?.IPAM
        ? info({ Name: m.Name, Subnet: m.IPAM.Config[0].Subnet }, { [LABEL_ADDRESSING]: 'fixed' })
        : null;
    },
    async json(method: string, path: string, body?: (typeof made)[number]) {
      if (method === 'GET' && path === '/networks') return networks.map((n) => info(n));
      if (method === 'POST' && path === '/networks/create' && body) {
        if (!body.IPAM)
          throw new EngineAPIError(
            404,
            'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network',
          );
        made.push(body);
        return { Id: `id-${body.Name}` };
      }
      throw new Error(`unexpected ${method} ${path}`);
    },
    async call() {
      throw new Error('unexpected call');
    },
  };
  return { api: api as unknown as DockerAPI, made };
}

test('pools used up, a remote engine: a /24 clear of its networks and of its own address, said in one line', async () => {
  const { api, made } = exhaustedEngine('tcp://172.16.0.20:2376', [
    { Name: 'bridge', Subnet: '172.17.0.0/16' },
    { Name: 'a', Subnet: '172.16.1.0/24' },
  ]);
  const lines: string[] = [];
  const net = await ensureNetwork(api, 'docker-machine', (l) => lines.push(l));
  assert.equal(net.addressing, 'fixed');
  assert.equal(net.subnet && formatCIDR(net.subnet), '172.16.2.0/24');
  assert.deepEqual(made[0].IPAM?.Config, [{ Subnet: '172.16.2.0/24', IPRange: '172.16.2.128/25' }]);
  assert.deepEqual(lines, [
    'Creating network docker-machine...',
    "The engine's address pools are used up: making network docker-machine on 172.16.2.0/24, which no network of the engine uses",
  ]);
});

test('pools used up and every private /24 taken: one line saying what to do', async () => {
  const { api } = exhaustedEngine('tcp://192.0.2.10:2376', [
    { Name: 'x', Subnet: '172.16.0.0/12' },
    { Name: 'y', Subnet: '192.168.0.0/16' },
    { Name: 'z', Subnet: '10.0.0.0/8' },
  ]);
  await assert.rejects(
    ensureNetwork(api, 'docker-machine', () => {}),
    {
      message:
        'the Docker engine at tcp://192.0.2.10:2376 has no free address pool for network "docker-machine" and every private /24 is in use; give --docker-network an existing network, or remove unused networks (docker network prune)',
    },
  );
});
