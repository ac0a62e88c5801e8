import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlagValue } from '../../flags/def.js';
import { ingressPorts } from '../amazonec2/index.js';
import { dockerRulePort } from '../azure/index.js';
import { securityRules } from '../azure/state.js';
import { baseDriverFields } from '../base.js';
import { containerSpec } from '../docker/container.js';
import { defaultRules, opensEnginePort } from '../exoscale/index.js';
import { googleDriver } from '../google/index.js';
import { openstackDriver } from '../openstack/index.js';
import { ingressRules } from '../openstack/security-group.js';
import { qemuDriver } from '../qemu/index.js';
import { qemuArgs, vmFiles } from '../qemu/vm.js';
import { natForwards } from '../virtualbox/index.js';

// An SSH-only engine (--engine-endpoint ssh) leaves 2376 closed in the firewalls the drivers
// make; what else they open (SSH, the Swarm manager's ports, --*-open-port) stays as it was.
type Port = { port: number; proto: string; from: 'anywhere' | 'group' };
type Allowed = { IPProtocol: string; ports?: string[] };

const ec2Ports = (json: Record<string, unknown>): Port[] => ingressPorts(json);
const gceAllowed = (json: Record<string, unknown>): Allowed[] =>
  (googleDriver.fromJSON(json) as unknown as { allowed(): Allowed[] }).allowed();

test('amazonec2: the engine port only for a tcp engine', () => {
  assert.deepEqual(ec2Ports({ SSHPort: 22 }), [
    { port: 22, proto: 'tcp', from: 'anywhere' },
    { port: 2376, proto: 'tcp', from: 'anywhere' },
  ]);
  assert.deepEqual(ec2Ports({ SSHPort: 22, EngineEndpoint: 'ssh' }), [
    { port: 22, proto: 'tcp', from: 'anywhere' },
  ]);
  assert.deepEqual(ec2Ports({ SSHPort: 22, EngineEndpoint: 'ssh', SwarmMaster: true }), [
    { port: 22, proto: 'tcp', from: 'anywhere' },
    { port: 3376, proto: 'tcp', from: 'anywhere' },
    { port: 2377, proto: 'tcp', from: 'anywhere' },
    { port: 7946, proto: 'tcp', from: 'group' },
    { port: 7946, proto: 'udp', from: 'group' },
    { port: 4789, proto: 'udp', from: 'group' },
  ]);
});

test('google: no 2376 for an SSH-only engine, and never a protocol with no ports (it would open all)', () => {
  assert.deepEqual(gceAllowed({}), [{ IPProtocol: 'tcp', ports: ['2376'] }]);
  assert.deepEqual(gceAllowed({ EngineEndpoint: 'ssh' }), []);
  assert.deepEqual(gceAllowed({ EngineEndpoint: 'ssh', OpenPorts: ['8080/udp'] }), [
    { IPProtocol: 'udp', ports: ['8080'] },
  ]);
});

test('azure: the network security group has DockerAllowAny only for a tcp engine', () => {
  const rules = (json: Record<string, unknown>, swarmPort?: number) =>
    securityRules({ sshPort: 22, dockerPort: dockerRulePort(json), swarmPort, open: [] }).map(
      (r) => `${r.name} ${r.properties.destinationPortRange}`,
    );
  assert.deepEqual(rules({}), ['SSHAllowAny 22', 'DockerAllowAny 2376']);
  assert.deepEqual(rules({ DockerPort: 2380 }), ['SSHAllowAny 22', 'DockerAllowAny 2380']);
  assert.deepEqual(rules({ EngineEndpoint: 'ssh' }), ['SSHAllowAny 22']);
  assert.deepEqual(rules({ EngineEndpoint: 'ssh', DockerPort: 2376 }, 3376), [
    'SSHAllowAny 22',
    'DockerSwarmAllowAny 3376',
    'SwarmManagerAllowAny 2377',
  ]);
});

test("exoscale: the group made for an SSH-only engine opens 2377 but not 2376; a tcp machine's group opens both", () => {
  const ports = (rules: Record<string, unknown>[]) =>
    rules
      .filter((r) => r.network === '0.0.0.0/0' && r.protocol === 'tcp')
      .map((r) => `${r['start-port']}-${r['end-port']}`);
  assert.deepEqual(ports(defaultRules('g')), ['22-22', '2376-2377', '3376-3377']);
  assert.deepEqual(ports(defaultRules('g', true)), ['22-22', '2377-2377', '3376-3377']);
  assert.equal(opensEnginePort(defaultRules('g')), true);
  assert.equal(opensEnginePort(defaultRules('g', true)), false);
  // The swarm node ports stay open to the group's members either way.
  assert.equal(defaultRules('g', true).filter((r) => r['security-group']).length, 3);
  // A group's rule from the group only, or egress, does not count as the engine's port open.
  assert.equal(
    opensEnginePort([
      {
        'flow-direction': 'egress',
        protocol: 'tcp',
        network: '0.0.0.0/0',
        'start-port': 1,
        'end-port': 65535,
      },
    ]),
    false,
  );
});

test("openstack: the machine's own security group has the engine's port only for a tcp engine", () => {
  const rules = (json: Record<string, unknown>, cidrs: string[] = []) =>
    ingressRules(openstackDriver.fromJSON(json).toJSON(), cidrs).map(
      (r) => `${r.port}/${r.protocol}${r.from ? ` from ${r.from}` : ''}`,
    );
  assert.deepEqual(rules({ SSHPort: 22 }), ['22/tcp', '2376/tcp']);
  assert.deepEqual(rules({ SSHPort: 22, EnginePort: 2380 }), ['22/tcp', '2380/tcp']);
  assert.deepEqual(rules({ SSHPort: 22, EngineEndpoint: 'ssh' }), ['22/tcp']);
  assert.deepEqual(
    rules({ SSHPort: 22, EngineEndpoint: 'ssh', SwarmMaster: true, SwarmHost: 'tcp://0.0.0.0:3376' }, [
      '10.0.0.0/24',
    ]),
    [
      '22/tcp',
      '2377/tcp',
      '3376/tcp',
      '7946/tcp from 10.0.0.0/24',
      '7946/udp from 10.0.0.0/24',
      '4789/udp from 10.0.0.0/24',
    ],
  );
});

test('virtualbox: the NAT forward of 2376 only for a tcp engine', () => {
  assert.deepEqual(natForwards({ SSHPort: 40022, EnginePort: 40023 }, false), [
    'ssh,tcp,127.0.0.1,40022,,22',
    'docker,tcp,127.0.0.1,40023,,2376',
  ]);
  assert.deepEqual(natForwards({ SSHPort: 40022, EnginePort: 0, EngineEndpoint: 'ssh' }, false), [
    'ssh,tcp,127.0.0.1,40022,,22',
  ]);
  // The original's machines reach the engine on the host-only address: SSH is forwarded only.
  assert.deepEqual(natForwards({ SSHPort: 40022 }, true), ['ssh,tcp,127.0.0.1,40022,,22']);
});

test("qemu: user networking forwards the engine's port only for a tcp engine; --qemu-engine-port with ssh is refused", () => {
  const netdev = (enginePort: number) => {
    const args = qemuArgs({
      name: 'q1',
      binary: 'qemu-system-x86_64',
      accel: 'tcg',
      cpus: 1,
      memoryMB: 512,
      boot: { disk: '/images/base.qcow2', format: 'qcow2', source: '/images/base.qcow2' },
      files: vmFiles('/store/machines/q1'),
      sshPort: 40022,
      enginePort,
      restrict: false,
    });
    return args.find((a) => a.startsWith('user,id=net0'));
  };
  assert.equal(
    netdev(40023),
    'user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:40023-:2376',
  );
  assert.equal(netdev(0), 'user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22');

  const fromFlags = (given: Record<string, FlagValue>, ssh: boolean) => {
    const values = new Map<string, FlagValue>();
    for (const f of qemuDriver.flags) if (f.default !== undefined) values.set(f.name, f.default as FlagValue);
    for (const [k, v] of Object.entries(given)) values.set(k, v);
    const base = { ...baseDriverFields('q1', '/store'), ...(ssh ? { EngineEndpoint: 'ssh' as const } : {}) };
    return qemuDriver.fromFlags(base, { values, explicit: new Set(Object.keys(given)) }).toJSON();
  };
  assert.equal(fromFlags({ 'qemu-engine-port': 40023 }, false).EnginePort, 40023);
  assert.equal(fromFlags({}, true).EnginePort, 0);
  assert.throws(
    () => fromFlags({ 'qemu-engine-port': 40023 }, true),
    /^MachineError: --qemu-engine-port has no use with --engine-endpoint ssh/,
  );
});

test("docker: the machine's container publishes the engine's port only for a tcp engine", () => {
  const bindings = (enginePort: number) =>
    (
      containerSpec({
        name: 'd1',
        machineId: 'id',
        image: 'img',
        volume: 'v',
        network: 'n',
        sshPort: 40022,
        enginePort,
        publish: [{ hostPort: 8080, containerPort: 80, proto: 'tcp' }],
        cpus: 0,
        memoryMB: 0,
        cgroupVersion: '2',
      }).HostConfig as { PortBindings: Record<string, { HostIp: string; HostPort: string }[]> }
    ).PortBindings;
  assert.deepEqual(bindings(40023), {
    '22/tcp': [{ HostIp: '127.0.0.1', HostPort: '40022' }],
    '2376/tcp': [{ HostIp: '127.0.0.1', HostPort: '40023' }],
    '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }],
  });
  assert.deepEqual(bindings(0), {
    '22/tcp': [{ HostIp: '127.0.0.1', HostPort: '40022' }],
    '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }],
  });
});
